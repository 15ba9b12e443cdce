package partition

import (
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// txnBatch is a transactional batch of n records.
func txnBatch(pid int64, epoch int16, seq int32, n int) ([]byte, recordbatch.Header) {
	spec := recordbatch.BuildSpec{Idempotent: true, Transactional: true, ProducerID: pid, ProducerEpoch: epoch,
		BaseSequence: seq, BaseTimestamp: 1000}
	for range n {
		spec.Records = append(spec.Records, recordbatch.Record{Value: []byte("v")})
	}
	b := recordbatch.Build(spec)
	h, err := recordbatch.ParseHeader(b)
	if err != nil {
		panic(err)
	}
	return b, h
}

func mustAppend(t *testing.T, p *Partition, b []byte, h recordbatch.Header) AppendResult {
	t.Helper()
	res, err := appendOne(t, p, b, h)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func mustMarker(t *testing.T, p *Partition, pid int64, epoch int16, commit bool) AppendResult {
	t.Helper()
	res, err := p.AppendMarker(recordbatch.Marker{ProducerID: pid, ProducerEpoch: epoch, CoordinatorEpoch: 1, Commit: commit}, 2000)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestLastStableOffsetAndAbortedTxns walks two interleaved transactions:
// the last stable offset stops at the first open one and passes an ended
// one only once the high watermark is past its marker; the aborted one is
// listed for reads that overlap it, and all of it survives a reopen.
func TestLastStableOffsetAndAbortedTxns(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, storage.DefaultConfig())
	b, h := batch(-1, -1, -1, 2)
	mustAppend(t, p, b, h) // 0-1 plain
	b, h = txnBatch(10, 0, 0, 2)
	mustAppend(t, p, b, h) // 2-3 txn A
	b, h = txnBatch(20, 0, 0, 1)
	mustAppend(t, p, b, h) // 4 txn B
	if got := p.LastStableOffsetAt(5); got != 2 {
		t.Fatalf("LSO with A open = %d, want 2", got)
	}
	abortA := mustMarker(t, p, 10, 0, false) // 5
	if got := p.LastStableOffsetAt(5); got != 2 {
		t.Fatalf("LSO with A's marker above the high watermark = %d, want 2", got)
	}
	if got := p.LastStableOffsetAt(6); got != 4 {
		t.Fatalf("LSO with A ended and B open = %d, want 4", got)
	}
	commitB := mustMarker(t, p, 20, 0, true) // 6
	if got := p.LastStableOffsetAt(7); got != 7 {
		t.Fatalf("LSO with both ended = %d, want 7", got)
	}
	if abortA.BaseOffset != 5 || commitB.BaseOffset != 6 {
		t.Fatalf("markers at %d and %d", abortA.BaseOffset, commitB.BaseOffset)
	}
	want := []storage.AbortedTxn{{ProducerID: 10, FirstOffset: 2, LastOffset: 5, LastStableOffset: 4}}
	if got := p.AbortedTxns(0, 7); !slices.Equal(got, want) {
		t.Fatalf("aborted %+v, want %+v", got, want)
	}
	if got := p.AbortedTxns(0, 2); len(got) != 0 {
		t.Fatalf("aborted before the transaction: %+v", got)
	}
	if got := p.AbortedTxns(6, 7); len(got) != 0 {
		t.Fatalf("aborted after the marker: %+v", got)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = openPartition(t, fs, storage.DefaultConfig())
	if got := p.AbortedTxns(0, 7); !slices.Equal(got, want) {
		t.Fatalf("after reopen aborted %+v, want %+v", got, want)
	}
	if got := p.LastStableOffsetAt(7); got != 7 {
		t.Fatalf("after reopen LSO = %d, want 7", got)
	}
}

func TestMarkerFencing(t *testing.T) {
	p := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	b, h := txnBatch(10, 3, 0, 1)
	mustAppend(t, p, b, h)
	_, err := p.AppendMarker(recordbatch.Marker{ProducerID: 10, ProducerEpoch: 2, CoordinatorEpoch: 1}, 0)
	if !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("marker from an old epoch: %v", err)
	}
	mustMarker(t, p, 10, 3, true)
	_, err = p.AppendMarker(recordbatch.Marker{ProducerID: 10, ProducerEpoch: 3, CoordinatorEpoch: 0}, 0)
	if !errors.Is(err, kerr.TransactionCoordinatorFenced) {
		t.Fatalf("marker from an old coordinator: %v", err)
	}
	// A plain batch while a transaction is open is refused; after its
	// marker the producer may write outside transactions again.
	b, h = txnBatch(10, 3, 1, 1)
	mustAppend(t, p, b, h)
	b, h = batch(10, 3, 2, 1)
	if _, err := appendOne(t, p, b, h); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("plain batch inside a transaction: %v", err)
	}
}

// TestTruncationReopensTransaction: a follower that truncates a marker
// away sees the transaction open again.
func TestTruncationReopensTransaction(t *testing.T) {
	p := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	b, h := txnBatch(10, 0, 0, 2)
	mustAppend(t, p, b, h)
	m := mustMarker(t, p, 10, 0, false)
	if err := p.TruncateTo(m.BaseOffset); err != nil {
		t.Fatal(err)
	}
	if got := p.LastStableOffsetAt(10); got != 0 {
		t.Fatalf("LSO after truncating the marker = %d, want 0", got)
	}
	if got := p.AbortedTxns(0, 10); len(got) != 0 {
		t.Fatalf("aborted after truncating the marker: %+v", got)
	}
}

// TestAbortedTxnsRebuiltAfterCrash: an abort synced in the log but not in
// the segment's transaction index is indexed again at open, once.
func TestAbortedTxnsRebuiltAfterCrash(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, storage.DefaultConfig())
	b, h := txnBatch(10, 0, 0, 2)
	mustAppend(t, p, b, h)
	m := mustMarker(t, p, 10, 0, false)
	if err := p.WaitDurable(m.LastOffset); err != nil {
		t.Fatal(err)
	}
	fs.Crash()
	want := []storage.AbortedTxn{{ProducerID: 10, FirstOffset: 0, LastOffset: 2, LastStableOffset: 3}}
	for range 2 { // the second open reads what the first wrote at close
		p = openPartition(t, fs, storage.DefaultConfig())
		if got := p.AbortedTxns(0, 3); !slices.Equal(got, want) {
			t.Fatalf("after the crash aborted %+v, want %+v", got, want)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifiedAppendAfterLeaderChangeRefused: a batch whose verification
// outlived the leader epoch it began at is not appended (a former leader
// would hold a batch its successor does not).
func TestVerifiedAppendAfterLeaderChangeRefused(t *testing.T) {
	p := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	b, h := txnBatch(10, 0, 0, 1)
	g := p.BeginVerification(h)
	if !g.Needed() {
		t.Fatal("first transactional batch needs no verification")
	}
	p.SetLeaderEpoch(p.LeaderEpoch() + 1)
	if _, err := p.AppendVerified(append([]byte(nil), b...), h, 1000, g); !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Fatalf("append after a leader change: %v", err)
	}
	if end := p.LogEndOffset(); end != 0 {
		t.Fatalf("log end %d after a refused append", end)
	}
	g = p.BeginVerification(h)
	if _, err := p.AppendVerified(append([]byte(nil), b...), h, 1000, g); err != nil {
		t.Fatalf("append at the current epoch: %v", err)
	}
}
