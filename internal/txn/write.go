package txn

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A write is one transition of one transactional id on its way to the log.
// It is prepared under the lock (beginLocked sets it as the id's pending
// transition), appended and waited for without it (persist), and applied
// under it again (finishLocked): the state in memory only ever holds what
// the log holds durably.
type write struct {
	p      *partition
	m      *txnMetadata
	next   *txnState // nil: a tombstone, the id expires
	record Record
	end    int64
	err    error
	// code is the outcome once finished: 0, or the error to answer.
	code int16
}

// beginLocked makes next the pending transition of m and encodes it.
func (c *Coordinator) beginLocked(p *partition, m *txnMetadata, next *txnState) (*write, int16) {
	if m.pending != nil {
		panic("txn: a second transition prepared while one is pending for " + m.id)
	}
	rec := Record{Key: encodeKey(m.id)}
	if next != nil {
		rec.Value = encodeValue(next)
		if len(rec.Value) > maxValueBytes {
			return nil, kerr.UnknownServerError.Code
		}
	}
	w := &write{p: p, m: m, next: next, record: rec}
	m.pending = w
	return w, 0
}

// persist appends the writes, one batch per partition, waits until they are
// durable and applies them. Each write's code holds its outcome. It takes
// the lock only to apply.
func (c *Coordinator) persist(ctx context.Context, writes []*write) {
	for _, batch := range batchesOf(writes) {
		p := batch[0].p
		records := make([]Record, len(batch))
		for i, w := range batch {
			records[i] = w.record
		}
		end, err := p.log.Append(records)
		for _, w := range batch {
			w.end, w.err = end, err
		}
	}
	// One wait per partition covers its batches: the log is durable up to
	// the largest end appended.
	ends := map[*partition]int64{}
	for _, w := range writes {
		if w.err == nil {
			ends[w.p] = max(ends[w.p], w.end)
		}
	}
	waited := make(map[*partition]error, len(ends))
	for p, end := range ends {
		waited[p] = waitDurable(ctx, p, end)
	}
	for _, w := range writes {
		if w.err == nil {
			w.err = waited[w.p]
		}
	}
	c.mu.Lock()
	for _, w := range writes {
		c.finishLocked(w)
	}
	c.mu.Unlock()
}

// waitDurable waits until p's log is durable through end, or ctx or the
// partition ends.
func waitDurable(ctx context.Context, p *partition, end int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()
	return p.log.WaitDurable(ctx, end)
}

// batchesOf groups writes by partition, in order, each batch under
// maxValueBytes (a single larger record is alone), so that one Append is
// one batch of a bounded size.
func batchesOf(writes []*write) [][]*write {
	var batches [][]*write
	open := map[*partition]int{} // partition -> index of its open batch
	size := map[*partition]int{}
	for _, w := range writes {
		n := len(w.record.Key) + len(w.record.Value)
		i, ok := open[w.p]
		if !ok || size[w.p]+n > maxValueBytes {
			batches = append(batches, nil)
			i, size[w.p] = len(batches)-1, 0
			open[w.p] = i
		}
		batches[i] = append(batches[i], w)
		size[w.p] += n
	}
	return batches
}

// finishLocked applies a durable write, or drops a failed one and leaves the
// state as it was.
func (c *Coordinator) finishLocked(w *write) {
	m := w.m
	if !c.currentLocked(w.p) || m.pending != w {
		// The partition was resigned or re-elected while writing: what
		// was loaded since is the truth, as in Kafka.
		w.code = kerr.NotCoordinator.Code
		return
	}
	m.pending = nil
	if w.err != nil {
		w.code = appendErrorCode(w.err)
		c.logger.Warn("transaction state not written", "transactional_id", m.id,
			"partition", w.p.index, "err", w.err)
		if m.placeholder {
			delete(w.p.txns, m.id)
		}
		return
	}
	w.code = 0
	if w.next == nil {
		delete(w.p.txns, m.id)
		return
	}
	m.cur, m.placeholder = *w.next, false
	m.noteSettledLocked()
	if m.cur.preparing() && m.job == nil {
		c.enqueueMarkersLocked(w.p, m)
	}
}

// appendErrorCode is the coordinator error Kafka answers for a failed write
// to its log (TransactionStateManager.appendTransactionToLog).
func appendErrorCode(err error) int16 {
	code := codeOf(err)
	switch code {
	case kerr.UnknownTopicOrPartition.Code, kerr.NotEnoughReplicas.Code,
		kerr.NotEnoughReplicasAfterAppend.Code, kerr.RequestTimedOut.Code:
		return kerr.CoordinatorNotAvailable.Code
	case kerr.NotLeaderForPartition.Code, kerr.KafkaStorageError.Code:
		return kerr.NotCoordinator.Code
	case kerr.MessageTooLarge.Code, kerr.RecordListTooLarge.Code:
		return kerr.UnknownServerError.Code
	case kerr.UnknownServerError.Code:
		// Not a Kafka error: the client retries after finding the
		// coordinator again.
		return kerr.CoordinatorNotAvailable.Code
	}
	return code
}

// codeOf is the Kafka error code err carries: its kerr error, a timeout for
// an ended context, else UNKNOWN_SERVER_ERROR.
func codeOf(err error) int16 {
	var ke *kerr.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ke):
		return ke.Code
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut.Code
	}
	return kerr.UnknownServerError.Code
}
