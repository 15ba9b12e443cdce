package storage

import "github.com/fjordhq/fjord/internal/recordbatch"

// Transactions and compaction, as Kafka's cleaner: the cleanable section
// ends at the first unstable offset (CompactOptions.UpperBound), so a
// transaction still open is never cleaned; records of aborted transactions
// are neither mapped (an aborted value must not shadow a committed one of
// the same key) nor kept (read_committed readers skip them and
// read_uncommitted readers may see them go, as in Kafka). Markers stay as
// long as their transaction has data left, and their transaction index
// entries as long as they do (compact_marker.go).

// abortedRanges answers whether a transactional batch belongs to an
// aborted transaction: its producer's transaction that spans the batch's
// offset ended with an abort marker.
type abortedRanges struct {
	byProducer map[int64][]AbortedTxn
}

// abortedIn collects the aborted transactions overlapping [from, upTo).
func (l *Log) abortedIn(from, upTo Offset) abortedRanges {
	r := abortedRanges{byProducer: map[int64][]AbortedTxn{}}
	for _, a := range l.AbortedTxns(from, upTo) {
		r.byProducer[a.ProducerID] = append(r.byProducer[a.ProducerID], a)
	}
	return r
}

// aborted reports whether h is a batch of an aborted transaction.
func (r abortedRanges) aborted(h recordbatch.Header) bool {
	if !h.Transactional() || h.Control() {
		return false
	}
	for _, a := range r.byProducer[h.ProducerID] {
		if Offset(h.BaseOffset) >= a.FirstOffset && Offset(h.BaseOffset) < a.LastOffset {
			return true
		}
	}
	return false
}
