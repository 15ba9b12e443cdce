package postgres

import (
	"slices"
	"testing"
)

// TestGroupStatementsBoundsRowCounts checks the row counts of statements:
// full ones, then powers of two, and every row once in order.
func TestGroupStatementsBoundsRowCounts(t *testing.T) {
	s := &shape{columns: []sinkColumn{{name: "k"}, {name: "v"}}, keyCount: 1}
	for _, tc := range []struct {
		rows, batchSize int
		want            []int
	}{
		{0, 10, nil},
		{1, 10, []int{1}},
		{37, 100, []int{32, 4, 1}},
		{37, 10, []int{10, 10, 10, 4, 2, 1}},
		{40000, 100000, []int{32767, 4096, 2048, 1024, 64, 1}}, // 65535 parameters fit 32767 rows of 2
	} {
		g := group{table: tableRef{name: "t"}, shape: s}
		for i := range tc.rows {
			g.ops = append(g.ops, op{args: []any{i, i}})
		}
		var got []int
		var seen []any
		for _, st := range groupStatements([]group{g}, true, tc.batchSize) {
			got = append(got, len(st.ops))
			for _, o := range st.ops {
				seen = append(seen, o.args[0])
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d rows, batch.size %d: statements of %v rows, want %v", tc.rows, tc.batchSize, got, tc.want)
		}
		for i, v := range seen {
			if v != i {
				t.Fatalf("%d rows: row %d written as %v", tc.rows, i, v)
			}
		}
	}
}
