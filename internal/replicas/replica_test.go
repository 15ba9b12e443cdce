package replicas

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
)

// singleReplica creates topic with one replica, on broker 1, and returns
// it once the manager opened it.
func (f *fixture) singleReplica(topic string, configs map[string]string) *Replica {
	f.t.Helper()
	if _, err := f.meta.CreateTopic(f.ctx, metadata.CreateTopicSpec{Name: topic, NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1}}, Configs: configs}); err != nil {
		f.t.Fatal(err)
	}
	f.applied()
	r := f.m.Partition(topic, 0)
	if r == nil {
		f.t.Fatalf("%s-0 not opened", topic)
	}
	return r
}

// write appends one batch of n records through a Write and waits for its
// acknowledgement with acks.
func (f *fixture) write(r *Replica, n int, acks int16) storage.Offset {
	f.t.Helper()
	w, err := f.m.NewWrite(r)
	if err != nil {
		f.t.Fatal(err)
	}
	spec := recordbatch.BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1000}
	for range n {
		spec.Records = append(spec.Records, recordbatch.Record{Value: []byte("v")})
	}
	batch := recordbatch.Build(spec)
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := r.Append(batch, h, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	w.Appended()
	if err := w.Wait(f.ctx, res.LastOffset, acks, time.Minute); err != nil {
		f.t.Fatalf("acks=%d: %v", acks, err)
	}
	return res.LastOffset
}

// TestOneReplicaIsALeaderWithAnISROfItself: a one-replica partition has no
// path of its own; its leader state commits what its fsyncs make durable,
// acks=all included, and min.insync.replicas applies to it as to any.
func TestOneReplicaIsALeaderWithAnISROfItself(t *testing.T) {
	f := newFixture(t)
	r := f.singleReplica("single", nil)
	notify := make(chan struct{}, 1)
	r.NotifyOnChange(notify)
	if last := f.write(r, 3, -1); r.HighWatermark() != last+1 {
		t.Fatalf("high watermark %d after an acknowledged write ending at %d", r.HighWatermark(), last)
	}
	select {
	case <-notify:
	default:
		t.Fatal("waiting fetches not woken when the high watermark moved")
	}
	f.write(r, 2, 0)
	if hw := r.HighWatermark(); hw != 5 {
		t.Fatalf("high watermark %d after acks=0, want 5", hw)
	}

	// Below min.insync.replicas, acks=all is refused before anything is
	// written; acks=1 is not.
	strict := f.singleReplica("strict", map[string]string{config.MinInsyncReplicas: "2"})
	w, err := f.m.NewWrite(strict)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.CheckISR(-1); !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("acks=all with an ISR of 1 and min.insync.replicas 2: %v", err)
	}
	if err := w.CheckISR(1); err != nil {
		t.Fatalf("acks=1 refused: %v", err)
	}
}

// TestRelaxedFlushCommitsAtTheLogEnd: with flush.messages relaxed (Kafka's
// default durability), what a one-replica leader appended is committed
// without waiting for an fsync.
func TestRelaxedFlushCommitsAtTheLogEnd(t *testing.T) {
	f := newFixture(t)
	r := f.singleReplica("relaxed", map[string]string{config.FlushMessages: "1000000"})
	f.write(r, 4, 1)
	if hw, end := r.HighWatermark(), r.LogEndOffset(); hw != end || end != 4 {
		t.Fatalf("high watermark %d, log end %d; want both 4", hw, end)
	}
}

// TestDeleteRecordsStopsAtTheHighWatermark: DeleteRecords may not pass the
// high watermark; -1 means up to it.
func TestDeleteRecordsStopsAtTheHighWatermark(t *testing.T) {
	f := newFixture(t)
	r := f.singleReplica("deleting", nil)
	f.write(r, 4, 1)
	if _, err := r.DeleteRecordsBefore(5); !errors.Is(err, kerr.OffsetOutOfRange) {
		t.Fatalf("delete past the high watermark: %v", err)
	}
	if low, err := r.DeleteRecordsBefore(-1); err != nil || low != 4 {
		t.Fatalf("delete up to the high watermark: %d, %v", low, err)
	}
}

// TestFollowerHighWatermark: a follower takes the leader's high watermark,
// bounded by what it holds, never lower than it had, except when it
// truncates.
func TestFollowerHighWatermark(t *testing.T) {
	f := newFixture(t)
	r := followerReplica{Replica: f.partition(), m: f.m} // a log of 100 records
	r.resetHighWatermark(0)
	r.UpdateFollowerHighWatermark(60)
	r.UpdateFollowerHighWatermark(50)
	if hw := r.HighWatermark(); hw != 60 {
		t.Fatalf("high watermark %d, want 60 (never lowered)", hw)
	}
	r.UpdateFollowerHighWatermark(1000)
	if hw := r.HighWatermark(); hw != 100 {
		t.Fatalf("high watermark %d, want the log end 100", hw)
	}
	if err := r.TruncateTo(80); err != nil {
		t.Fatal(err)
	}
	if hw, end := r.HighWatermark(), r.LogEndOffset(); hw != end || end > 80 {
		t.Fatalf("after truncating to 80: high watermark %d, log end %d", hw, end)
	}
	if err := r.TruncateFullyAndStartAt(500); err != nil {
		t.Fatal(err)
	}
	if hw := r.HighWatermark(); hw != 500 {
		t.Fatalf("after restarting at 500: high watermark %d", hw)
	}
}
