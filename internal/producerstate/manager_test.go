package producerstate

import (
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// batch is a header for a batch of count records from a producer.
func batch(producerID int64, epoch int16, sequence int32, count int32) recordbatch.Header {
	return recordbatch.Header{
		Magic: 2, ProducerID: producerID, ProducerEpoch: epoch, BaseSequence: sequence,
		RecordCount: count, LastOffsetDelta: count - 1, MaxTimestamp: 1000,
	}
}

func transactional(h recordbatch.Header) recordbatch.Header {
	h.Attributes |= 0x10
	return h
}

func marker(producerID int64, epoch int16) recordbatch.Header {
	h := batch(producerID, epoch, -1, 1)
	h.Attributes |= 0x10 | 0x20
	return h
}

// step is one batch offered to the Manager: Check must answer want, and an
// accepted batch is appended at the next offset.
type step struct {
	h    recordbatch.Header
	want Decision
}

func ok() Decision                     { return Decision{} }
func refused(err *kerr.Error) Decision { return Decision{Err: err} }
func duplicate(base, last int64) Decision {
	return Decision{Duplicate: true, BaseOffset: base, LastOffset: last}
}

func TestCheckRules(t *testing.T) {
	const pid = 7
	tests := []struct {
		name  string
		steps []step
	}{
		{"no producer id always passes", []step{
			{batch(-1, -1, -1, 3), ok()},
			{batch(-1, -1, -1, 3), ok()},
		}},
		{"unknown producer at any sequence", []step{
			{batch(pid, 0, 999, 1), ok()},
			{batch(pid, 0, 1000, 2), ok()},
		}},
		{"in sequence", []step{
			{batch(pid, 0, 0, 2), ok()},
			{batch(pid, 0, 2, 3), ok()},
			{batch(pid, 0, 5, 1), ok()},
		}},
		{"gap", []step{
			{batch(pid, 0, 0, 2), ok()},
			{batch(pid, 0, 3, 1), refused(kerr.OutOfOrderSequenceNumber)},
		}},
		{"overlapping but not identical", []step{
			{batch(pid, 0, 0, 3), ok()},
			{batch(pid, 0, 1, 2), refused(kerr.OutOfOrderSequenceNumber)},
			{batch(pid, 0, 0, 2), refused(kerr.OutOfOrderSequenceNumber)},
		}},
		{"retry of the last batch", []step{
			{batch(pid, 0, 0, 2), ok()},
			{batch(pid, 0, 2, 3), ok()},
			{batch(pid, 0, 2, 3), duplicate(2, 4)},
		}},
		{"retry anywhere in the window of 5", []step{
			{batch(pid, 0, 0, 1), ok()},
			{batch(pid, 0, 1, 1), ok()},
			{batch(pid, 0, 2, 1), ok()},
			{batch(pid, 0, 3, 1), ok()},
			{batch(pid, 0, 4, 1), ok()},
			{batch(pid, 0, 0, 1), duplicate(0, 0)},
			{batch(pid, 0, 3, 1), duplicate(3, 3)},
			{batch(pid, 0, 5, 1), ok()},
			// Batch 0 has left the window: a retry of it is out of order.
			{batch(pid, 0, 0, 1), refused(kerr.OutOfOrderSequenceNumber)},
			{batch(pid, 0, 1, 1), duplicate(1, 1)},
		}},
		{"older epoch", []step{
			{batch(pid, 3, 0, 1), ok()},
			{batch(pid, 2, 1, 1), refused(kerr.InvalidProducerEpoch)},
			// A duplicate must match the epoch too.
			{batch(pid, 2, 0, 1), refused(kerr.InvalidProducerEpoch)},
		}},
		{"newer epoch starts at 0", []step{
			{batch(pid, 0, 0, 5), ok()},
			{batch(pid, 1, 5, 1), refused(kerr.OutOfOrderSequenceNumber)},
			{batch(pid, 1, 0, 1), ok()},
			// The old epoch's batches are forgotten: its retries are fenced.
			{batch(pid, 0, 0, 5), refused(kerr.InvalidProducerEpoch)},
			{batch(pid, 1, 1, 1), ok()},
		}},
		{"wrap from MaxInt32 to 0", []step{
			{batch(pid, 0, math.MaxInt32, 1), ok()},
			{batch(pid, 0, 0, 1), ok()},
			{batch(pid, 0, 1, 1), ok()},
		}},
		{"batch spanning the wrap", []step{
			{batch(pid, 0, math.MaxInt32-1, 3), ok()}, // last sequence 0
			{batch(pid, 0, math.MaxInt32-1, 3), duplicate(0, 2)},
			{batch(pid, 0, 0, 1), refused(kerr.OutOfOrderSequenceNumber)},
			{batch(pid, 0, 1, 1), ok()},
		}},
		{"no wrap from a lower sequence", []step{
			{batch(pid, 0, 10, 1), ok()},
			{batch(pid, 0, 0, 1), refused(kerr.OutOfOrderSequenceNumber)},
		}},
		{"producers are independent", []step{
			{batch(1, 0, 0, 1), ok()},
			{batch(2, 0, 0, 1), ok()},
			{batch(2, 0, 1, 1), ok()},
			{batch(1, 0, 1, 1), ok()},
			{batch(1, 0, 0, 1), duplicate(0, 0)},
		}},
		{"non-transactional write inside a transaction", []step{
			{transactional(batch(pid, 0, 0, 1)), ok()},
			{batch(pid, 0, 1, 1), refused(kerr.InvalidTxnState)},
			{transactional(batch(pid, 0, 1, 1)), ok()},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewManager(0)
			next := int64(0)
			for i, s := range tt.steps {
				got := m.Check(s.h)
				if got != s.want {
					t.Fatalf("step %d: Check = %+v, want %+v", i, got, s.want)
				}
				if got.Err == nil && !got.Duplicate {
					m.Update(s.h, next, 0)
					next += int64(s.h.RecordCount)
				}
			}
		})
	}
}

func TestWindowSize(t *testing.T) {
	m := NewManager(2)
	for seq := int32(0); seq < 3; seq++ {
		m.Update(batch(1, 0, seq, 1), int64(seq), 0)
	}
	if d := m.Check(batch(1, 0, 1, 1)); !d.Duplicate {
		t.Fatalf("sequence 1 is in a window of 2: %+v", d)
	}
	if d := m.Check(batch(1, 0, 0, 1)); d.Err != kerr.OutOfOrderSequenceNumber {
		t.Fatalf("sequence 0 left a window of 2: %+v", d)
	}
}

func TestTransactionsAndMarkers(t *testing.T) {
	m := NewManager(0)
	m.Update(transactional(batch(1, 0, 0, 2)), 10, 0)
	m.Update(transactional(batch(2, 0, 0, 1)), 12, 0)
	m.Update(transactional(batch(1, 0, 2, 1)), 13, 0)
	if off, ok := m.FirstUnstableOffset(); !ok || off != 10 {
		t.Fatalf("first unstable offset %d %v, want 10", off, ok)
	}
	m.UpdateMarker(marker(1, 0), 14, 0, 5)
	if off, ok := m.FirstUnstableOffset(); !ok || off != 12 {
		t.Fatalf("first unstable offset %d %v, want 12", off, ok)
	}
	m.Update(marker(2, 0), 15, 0)
	if _, ok := m.FirstUnstableOffset(); ok {
		t.Fatal("no transaction should be open")
	}
	// After the marker the producer goes on with its sequence.
	if d := m.Check(batch(1, 0, 3, 1)); d != (Decision{}) {
		t.Fatalf("after the marker: %+v", d)
	}
	got := m.Producers()
	want := []ProducerInfo{
		{ProducerID: 1, Epoch: 0, LastSequence: 2, LastTimestamp: 1000, CoordinatorEpoch: 5, CurrentTxnStartOffset: -1},
		{ProducerID: 2, Epoch: 0, LastSequence: 0, LastTimestamp: 1000, CoordinatorEpoch: -1, CurrentTxnStartOffset: -1},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Producers = %+v, want %+v", got, want)
	}
}

func TestExpireBefore(t *testing.T) {
	m := NewManager(0)
	m.Update(batch(1, 0, 0, 1), 0, 100)
	m.Update(batch(2, 0, 0, 1), 1, 200)
	m.Update(transactional(batch(3, 0, 0, 1)), 2, 50)
	m.ExpireBefore(150)
	ids := []int64{}
	for _, p := range m.Producers() {
		ids = append(ids, p.ProducerID)
	}
	if len(ids) != 2 || ids[0] != 2 || ids[1] != 3 {
		t.Fatalf("after expiry %v, want [2 3] (3 has an open transaction)", ids)
	}
	// An expired producer is unknown again: any sequence is accepted.
	if d := m.Check(batch(1, 0, 57, 1)); d != (Decision{}) {
		t.Fatalf("expired producer: %+v", d)
	}
}

func TestRebuildMatchesLive(t *testing.T) {
	// State rebuilt by replaying the log's batches answers as the live one.
	log := []recordbatch.Header{batch(1, 0, 0, 3), batch(1, 0, 3, 1), batch(1, 1, 0, 2), batch(2, 4, 9, 1)}
	live, rebuilt := NewManager(0), NewManager(0)
	offset := int64(0)
	for _, h := range log {
		if d := live.Check(h); d != (Decision{}) {
			t.Fatalf("live check %+v", d)
		}
		live.Update(h, offset, 0)
		offset += int64(h.RecordCount)
	}
	offset = 0
	for _, h := range log {
		rebuilt.Update(h, offset, 0)
		offset += int64(h.RecordCount)
	}
	probes := []recordbatch.Header{batch(1, 1, 0, 2), batch(1, 1, 2, 1), batch(1, 0, 3, 1), batch(2, 4, 10, 1), batch(2, 4, 12, 1)}
	for _, p := range probes {
		if a, b := live.Check(p), rebuilt.Check(p); a != b {
			t.Fatalf("probe %+v: live %+v, rebuilt %+v", p, a, b)
		}
	}
}
