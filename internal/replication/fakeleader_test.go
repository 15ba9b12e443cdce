package replication

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// fakeLeader is an in-memory leader broker: real partitions and a real
// LeaderState behind the LeaderClient interface, with the controller
// simulated by committing every ISR proposal at once. It is what the Fetch
// and OffsetForLeaderEpoch handlers will do, minus the wire.
type fakeLeader struct {
	mu      sync.Mutex
	parts   map[TopicPartition]*leaderPartition
	changed chan struct{} // closed and replaced on every append
	fenced  int
	fencedC chan struct{}
	// corrupt is how many more fetch answers with records get a byte of
	// their first batch flipped, as a leader reading a bad disk would.
	corrupt int
}

type leaderPartition struct {
	p     *testReplica
	state *LeaderState
	epoch LeaderEpoch
	pe    int32
}

func newFakeLeader() *fakeLeader {
	return &fakeLeader{parts: map[TopicPartition]*leaderPartition{}, changed: make(chan struct{}), fencedC: make(chan struct{}, 16)}
}

func newTestPartition(t *testing.T, index int32) *testReplica {
	t.Helper()
	fs := vfs.NewMem()
	log, err := storage.Open(storage.Options{FS: fs, Dir: "p", Config: storage.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := partition.New("t", [16]byte{9}, index, log, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &testReplica{Partition: p}
}

func testBatch(value string, n int) ([]byte, recordbatch.Header) {
	spec := recordbatch.BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1000}
	for i := 0; i < n; i++ {
		spec.Records = append(spec.Records, recordbatch.Record{Value: []byte(value)})
	}
	b := recordbatch.Build(spec)
	h, err := recordbatch.ParseHeader(b)
	if err != nil {
		panic(err)
	}
	return b, h
}

// appendBatches appends count batches of 2 records to p in its current epoch.
func appendBatches(t *testing.T, p *testReplica, value string, count int) {
	t.Helper()
	for i := 0; i < count; i++ {
		b, h := testBatch(value, 2)
		res, err := p.Append(b, h, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitDurable(res.LastOffset); err != nil {
			t.Fatal(err)
		}
	}
}

func (l *fakeLeader) lead(t *testing.T, tp TopicPartition, p *testReplica, epoch LeaderEpoch, replicas, isr []BrokerID) *leaderPartition {
	t.Helper()
	p.BecomeLeader(epoch)
	st, err := NewLeaderState(LeaderConfig{LeaderID: 1, LeaderEpoch: epoch, Replicas: replicas, ISR: isr,
		LogEndOffset: p.LogEndOffset(), HighWatermark: p.HighWatermark(), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	lp := &leaderPartition{p: p, state: st, epoch: epoch}
	l.mu.Lock()
	l.parts[tp] = lp
	l.mu.Unlock()
	return lp
}

// produce appends on the leader and wakes waiting fetches.
func (l *fakeLeader) produce(t *testing.T, tp TopicPartition, value string, count int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	lp := l.parts[tp]
	appendBatches(t, lp.p, value, count)
	u := lp.state.OnLeaderAppend(lp.p.LogEndOffset())
	lp.p.AdvanceHighWatermark(u.HighWatermark)
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *fakeLeader) dial(context.Context, BrokerID) (LeaderClient, error) { return fakeClient{l}, nil }

type fakeClient struct{ l *fakeLeader }

func (c fakeClient) Close() error { return nil }

func (c fakeClient) Fetch(ctx context.Context, req *FetchRequest) (*FetchResponse, error) {
	timer := time.NewTimer(req.MaxWait)
	defer timer.Stop()
	for {
		resp, changed, hasData := c.l.answerFetch(req)
		if hasData {
			return resp, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return resp, nil
		case <-changed:
		}
	}
}

func (l *fakeLeader) checkEpoch(lp *leaderPartition, current LeaderEpoch) error {
	switch {
	case lp == nil:
		return kerr.NotLeaderForPartition
	case current < lp.epoch:
		l.fenced++
		select {
		case l.fencedC <- struct{}{}:
		default:
		}
		return kerr.FencedLeaderEpoch
	case current > lp.epoch:
		return kerr.UnknownLeaderEpoch
	}
	return nil
}

func (l *fakeLeader) answerFetch(req *FetchRequest) (*FetchResponse, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	resp := &FetchResponse{}
	hasData := false
	for _, fp := range req.Partitions {
		lp := l.parts[fp.TopicPartition]
		out := FetchedPartition{TopicPartition: fp.TopicPartition}
		if out.Err = l.checkEpoch(lp, fp.CurrentLeaderEpoch); out.Err != nil {
			hasData = true
			resp.Partitions = append(resp.Partitions, out)
			continue
		}
		if fp.LastFetchedEpoch >= 0 {
			e, end := lp.p.EndOffsetForEpoch(fp.LastFetchedEpoch)
			if e < fp.LastFetchedEpoch || Offset(end) < fp.FetchOffset {
				out.DivergingEpoch = &EpochEndOffset{LeaderEpoch: e, EndOffset: Offset(end)}
				hasData = true
				resp.Partitions = append(resp.Partitions, out)
				continue
			}
		}
		u, err := lp.state.OnFollowerFetch(req.ReplicaID, fp.FetchOffset, time.Now())
		if err != nil {
			out.Err = kerr.OffsetOutOfRange
			hasData = true
			resp.Partitions = append(resp.Partitions, out)
			continue
		}
		if u.Proposal != nil {
			lp.pe++
			u, _ = lp.state.OnPartitionChange(PartitionState{LeaderEpoch: lp.state.leaderEpoch, PartitionEpoch: lp.pe,
				Replicas: lp.state.replicas, ISR: u.Proposal.NewISR}, time.Now())
		}
		lp.p.AdvanceHighWatermark(u.HighWatermark)
		out.HighWatermark, out.LogStartOffset = lp.p.HighWatermark(), lp.p.LogStartOffset()
		slice, err := lp.p.Log().Read(fp.FetchOffset, int64(fp.PartitionMaxBytes), lp.p.LogEndOffset())
		if err != nil {
			out.Err = kerr.OffsetOutOfRange
		} else {
			out.Records, err = slice.ReadAll(nil)
			slice.Release()
			if err != nil {
				panic(err)
			}
			if l.corrupt > 0 && len(out.Records) > recordbatch.HeaderSize {
				l.corrupt--
				out.Records[recordbatch.HeaderSize] ^= 0xff
			}
		}
		hasData = hasData || len(out.Records) > 0
		resp.Partitions = append(resp.Partitions, out)
	}
	return resp, l.changed, hasData
}

func (c fakeClient) OffsetForLeaderEpoch(_ context.Context, _ BrokerID, reqs []EpochRequest) ([]EpochResult, error) {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	var out []EpochResult
	for _, r := range reqs {
		lp := c.l.parts[r.TopicPartition]
		res := EpochResult{TopicPartition: r.TopicPartition}
		if res.Err = c.l.checkEpoch(lp, r.CurrentLeaderEpoch); res.Err == nil {
			e, end := lp.p.EndOffsetForEpoch(r.LeaderEpoch)
			res.EpochEndOffset = EpochEndOffset{LeaderEpoch: e, EndOffset: Offset(end)}
		}
		out = append(out, res)
	}
	return out, nil
}
