package e2e

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// TestTxnChainRules checks the rules of txn_chain_check_test.go on
// synthetic logs, one anomaly each, so that a passing TestTxnChain means
// the rules held, not that they could not fire.
func TestTxnChainRules(t *testing.T) {
	// A plain input: key k00 in partition 0, three values.
	in := chainLog{0: {
		{Partition: 0, Offset: 0, Value: "k00-000000"},
		{Partition: 0, Offset: 1, Value: "k00-000001"},
		{Partition: 0, Offset: 2, Value: "k00-000002"},
	}}
	data := func(o int64, pid int64, v, txn string) chainRecord {
		return chainRecord{Partition: 0, Offset: o, Value: v, ProducerID: pid, Transactional: true, Txn: txn}
	}
	marker := func(o int64, pid int64, control string) chainRecord {
		return chainRecord{Partition: 0, Offset: o, ProducerID: pid, Transactional: true, Control: control}
	}
	// good copies in: one transaction aborted and redone, one committed.
	good := chainLog{0: {
		data(0, 1, "k00-000000", "s1-c1#1"),
		data(1, 1, "k00-000001", "s1-c1#1"),
		marker(2, 1, "abort"),
		data(3, 1, "k00-000000", "s1-c1#2"),
		data(4, 1, "k00-000001", "s1-c1#2"),
		data(5, 1, "k00-000002", "s1-c1#2"),
		marker(6, 1, "commit"),
	}}
	withLog := func(records ...chainRecord) chainLog { return chainLog{0: records} }
	for _, tc := range []struct {
		name  string
		check func(r *chainReport)
		want  []string
	}{
		{"a correct copy", func(r *chainReport) {
			checkLogShape(r, "out", good)
			checkOpenAndTorn(r, "out", good)
			checkStage(r, 1, in, good.visible())
			checkCommittedRead(r, "out", good, good.visible())
			checkMonitor(r, "out", good, good.visible()[0][:2], nil)
			checkGroupOffsets(r, 1, in, map[int32]int64{0: 3}, nil)
		}, nil},
		{"a value copied twice", func(r *chainReport) {
			out := withLog(data(0, 1, "k00-000000", "a"), data(1, 1, "k00-000001", "a"), marker(2, 1, "commit"),
				data(3, 2, "k00-000001", "b"), data(4, 2, "k00-000002", "b"), marker(5, 2, "commit"))
			checkStage(r, 1, in, out.visible())
		}, []string{"duplicate", "out-of-order"}},
		{"a value lost", func(r *chainReport) {
			out := withLog(data(0, 1, "k00-000000", "a"), data(1, 1, "k00-000002", "a"), marker(2, 1, "commit"))
			checkStage(r, 1, in, out.visible())
		}, []string{"missing"}},
		{"values out of order, and one never produced", func(r *chainReport) {
			out := withLog(data(0, 1, "k00-000001", "a"), data(1, 1, "k00-000000", "a"), data(2, 1, "k00-000002", "a"),
				data(3, 1, "k00-999999", "a"), marker(4, 1, "commit"))
			checkStage(r, 1, in, out.visible())
		}, []string{"out-of-order", "unexpected-value"}},
		{"read_committed returns an aborted value", func(r *chainReport) {
			read := chainLog{0: {good[0][0]}}
			checkCommittedRead(r, "out", good, read)
		}, []string{"read-committed-aborted"}},
		{"read_committed stops short", func(r *chainReport) {
			checkCommittedRead(r, "out", good, chainLog{0: good.visible()[0][:1]})
		}, []string{"read-committed-missed"}},
		{"a monitor read an aborted value", func(r *chainReport) {
			checkMonitor(r, "out", good, []chainRecord{good[0][0]}, nil)
		}, []string{"monitor-diverged", "monitor-read-aborted"}},
		{"a transaction left open, and one torn", func(r *chainReport) {
			torn := chainLog{
				0: {data(0, 1, "k00-000000", "a"), marker(1, 1, "commit"), data(2, 3, "k00-000001", "c")},
				1: {{Partition: 1, Offset: 0, Value: "k01-000000", ProducerID: 1, Transactional: true, Txn: "a"},
					{Partition: 1, Offset: 1, ProducerID: 1, Transactional: true, Control: "abort"}},
			}
			checkOpenAndTorn(r, "out", torn)
		}, []string{"open-transaction", "torn-transaction"}},
		{"a monitor reset over visible records", func(r *chainReport) {
			seen := good.visible()[0][:1]
			checkMonitor(r, "out", good, seen, []monitorReset{{Partition: 0, ConsumedTo: 4, ResetTo: 5, Seen: 1}})
		}, []string{"monitor-reset-skipped"}},
		{"a monitor reset back over nothing visible", func(r *chainReport) {
			seen := good.visible()[0]
			checkMonitor(r, "out", good, seen[:2], []monitorReset{{Partition: 0, ConsumedTo: 5, ResetTo: 4, Seen: 1}})
		}, nil},
		{"a record read before its copier called End", func(r *chainReport) {
			at := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
			early := data(3, 1, "k00-000000", "s1-c1#2")
			early.Read = at.Add(-time.Millisecond)
			late := data(4, 1, "k00-000001", "s1-c1#2")
			late.Read = at.Add(time.Millisecond)
			events := []timedCopierEvent{{Copier: "s1-c1", copierEvent: copierEvent{Kind: "txn", Txn: 2, Committed: true, Ending: at}}}
			checkPrecommittedReads(r, 1, []chainRecord{early, late}, events)
		}, []string{"precommitted-read"}},
		{"a gap in the log", func(r *chainReport) {
			checkLogShape(r, "out", withLog(data(0, 1, "k00-000000", "a"), marker(2, 1, "commit")))
		}, []string{"log-gap"}},
		{"End reported a commit the log aborted", func(r *chainReport) {
			events := []timedCopierEvent{{Copier: "s1-c1", copierEvent: copierEvent{Kind: "txn", Txn: 1, Committed: true, Records: 2}}}
			checkCopierOutcomes(r, 1, good, events)
		}, []string{"txn-outcome-mismatch"}},
		{"group offsets short, beyond the end, behind a commit", func(r *chainReport) {
			three := chainLog{0: in[0], 1: in[0], 2: in[0]}
			events := []timedCopierEvent{{Copier: "s1-c1", copierEvent: copierEvent{Kind: "txn", Committed: true,
				Consumed: map[int32][2]int64{2: {0, 2}}}}}
			checkGroupOffsets(r, 1, three, map[int32]int64{0: 2, 1: 4, 2: 3}, events)
			checkGroupOffsets(r, 1, three, map[int32]int64{0: 3, 1: 3, 2: 2}, events)
		}, []string{"group-offset-behind-commit", "group-offset-beyond-end", "group-offset-short"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newChainReport()
			tc.check(r)
			if got := slices.Sorted(maps.Keys(r.counts)); !slices.Equal(got, tc.want) {
				t.Errorf("anomalies %v, want %v:\n%s", got, tc.want, r)
			}
		})
	}
}
