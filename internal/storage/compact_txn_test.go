package storage

import (
	"fmt"
	"testing"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// txnKeyedBatch is a transactional batch of producer pid.
func txnKeyedBatch(pid int64, recs ...kv) []byte {
	spec := recordbatch.BuildSpec{Transactional: true, Idempotent: true, ProducerID: pid, ProducerEpoch: 1, BaseTimestamp: 1000}
	for _, r := range recs {
		spec.Records = append(spec.Records, recordbatch.Record{Key: []byte(r.key), Value: r.value})
	}
	return recordbatch.Build(spec)
}

func txnMarker(pid int64, commit bool) []byte {
	return recordbatch.BuildMarker(recordbatch.Marker{ProducerID: pid, ProducerEpoch: 1, Commit: commit}, 1000)
}

// TestCompactAbortedTransactions: an aborted transaction's value does not
// shadow the committed one of its key and is removed; a committed
// transaction's value wins as any later value; nothing at or past the upper
// bound (an open transaction) is cleaned.
func TestCompactAbortedTransactions(t *testing.T) {
	tl := openTest(t, compactConfig())
	appendAt := func(b []byte) Offset {
		info, err := tl.Append(b, 1)
		if err != nil {
			t.Fatal(err)
		}
		return info.BaseOffset
	}
	appendAt(keyedBatch(recordbatch.CodecNone, 1000, -1, kv{"a", val("1")}, kv{"b", val("1")})) // 0-1
	first := appendAt(txnKeyedBatch(7, kv{"a", val("aborted")}))                                // 2
	abort := appendAt(txnMarker(7, false))                                                      // 3
	if err := tl.AddAbortedTxn(AbortedTxn{ProducerID: 7, FirstOffset: first, LastOffset: abort, LastStableOffset: abort + 1}); err != nil {
		t.Fatal(err)
	}
	appendAt(txnKeyedBatch(8, kv{"b", val("committed")})) // 4
	appendAt(txnMarker(8, true))                          // 5
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	tl.rollActive(t)
	open := appendAt(txnKeyedBatch(9, kv{"a", val("open")}))
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	tl.rollActive(t)
	tl.compact(t, CompactOptions{Bounded: true, UpperBound: open})
	var values []string
	for _, r := range readRecords(t, tl.Log) {
		if r.key == "a" || r.key == "b" {
			values = append(values, fmt.Sprintf("%d:%s=%s", r.offset, r.key, r.value))
		}
	}
	if got, want := fmt.Sprint(values), "[0:a=1 4:b=committed 6:a=open]"; got != want {
		t.Fatalf("records %s, want %s", got, want)
	}
	if got := tl.AbortedTxns(0, tl.LogEndOffset()); len(got) != 1 || got[0].ProducerID != 7 {
		t.Fatalf("aborted transactions after compaction: %+v", got)
	}
}
