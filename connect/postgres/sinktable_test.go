package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fjordhq/fjord/connect"
)

// testSinkConcurrentAutoCreate: the tasks of one sink connector may all
// find a table missing and create it at once; each must then go on with
// the table whichever CREATE won (PostgreSQL fails the losers of
// concurrent CREATE TABLE IF NOT EXISTS with one of three codes).
func testSinkConcurrentAutoCreate(t *testing.T, db *testDB) {
	const tasks, rounds = 8, 10
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conns := make([]*pgx.Conn, tasks)
	for i := range conns {
		conn, err := pgx.Connect(ctx, db.dsn)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(context.Background())
		conns[i] = conn
	}
	s := &shape{keyCount: 1, columns: []sinkColumn{
		{name: "id", schema: connect.Int64Schema, pgType: "bigint"},
		{name: "name", schema: connect.StringSchema, pgType: "text"},
	}}
	for round := range rounds {
		table := tableRef{name: fmt.Sprintf("concurrent_create_%d", round)}
		var wg sync.WaitGroup
		errs := make([]error, tasks)
		for i, conn := range conns {
			wg.Go(func() {
				info, err := createTable(ctx, conn, table, s)
				if err == nil && !info.columns["name"] {
					err = fmt.Errorf("the table read back lacks its columns: %v", info.columns)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, task %d: %v", round, i, err)
			}
		}
	}
}
