package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/recordbatch"
)

// source is the goroutine fetching every partition led by one broker.
//
// Locks: Fetcher.mu before source.mu. writeMu is held by the goroutine
// while it writes into a replica (and re-checks under mu that the partition
// is still followed at the same epoch), so that barrier, taking it once
// after a partition was removed, waits out any write to that partition.
type source struct {
	f      *Fetcher
	leader BrokerID
	cancel context.CancelFunc
	done   chan struct{}
	// wake is signalled (without blocking) when partitions are added.
	wake chan struct{}

	writeMu sync.Mutex
	mu      struct {
		sync.Mutex
		parts map[TopicPartition]*followed
	}
}

// followed is one partition's fetch state. A new Follow replaces the whole
// struct, so a response for the previous epoch is recognised and dropped.
type followed struct {
	tp          TopicPartition
	replica     FollowerReplica
	leaderEpoch LeaderEpoch
	// truncating and delayedUntil are guarded by source.mu.
	truncating   bool
	delayedUntil time.Time
	// throttled and caughtUp drive the follower quota (quota_follower.go).
	throttled atomic.Bool
	caughtUp  atomic.Bool
	// corrupt is touched only by the write of this partition's fetched
	// data (one at a time).
	corrupt corruptFetches
}

// corruptFetches counts fetches from the leader whose batches failed
// their checks since the last good one, and when the last was reported.
type corruptFetches struct {
	count    int
	reported time.Time
}

// corruptReportEvery rate-limits the report of a leader that keeps
// answering with a batch failing its CRC: the follower refetches after
// its backoff each time, and one line per interval says it still does.
const corruptReportEvery = 10 * time.Second

// reportCorrupt reports a fetched batch that failed its CRC or framing
// checks. Nothing was written; the follower refetches after its backoff,
// and while the leader's copy stays bad it stays behind and drops out of
// the ISR, so the operator must see why, at ERROR: a corrupt leader log
// is a disk or memory fault, not a passing metadata move.
func (s *source) reportCorrupt(p *followed, err error) {
	p.corrupt.count++
	now := s.f.cfg.Now()
	if p.corrupt.count > 1 && now.Sub(p.corrupt.reported) < corruptReportEvery {
		return
	}
	p.corrupt.reported = now
	s.logger().Error("fetched a corrupt batch from the leader: nothing written, fetching again", "topic", p.tp.Topic,
		"partition", p.tp.Partition, "offset", p.replica.LogEndOffset(), "attempts", p.corrupt.count, "err", err)
}

func newSource(f *Fetcher, leader BrokerID) *source {
	s := &source{f: f, leader: leader, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	s.mu.parts = map[TopicPartition]*followed{}
	return s
}

func (s *source) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	s.cancel = cancel
	go s.run(ctx)
}

// stop cancels the goroutine and waits for it to return.
func (s *source) stop() {
	s.cancel()
	<-s.done
}

// barrier waits out a write in progress: the empty critical section is
// the point.
func (s *source) barrier() {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
}

// add follows tp at epoch from this source. It reports false when tp was
// already followed at that epoch into the same replica: its fetch state
// goes on as it was, since every metadata image follows every partition
// again and truncating anew each time would stall replication whenever
// the metadata moves.
func (s *source) add(tp TopicPartition, replica FollowerReplica, epoch LeaderEpoch, throttled bool) (bool, error) {
	s.mu.Lock()
	cur, ok := s.mu.parts[tp]
	switch {
	case ok && cur.leaderEpoch == epoch && cur.replica == replica:
		s.mu.Unlock()
		return false, nil
	case !ok && len(s.mu.parts) >= MaxPartitionsPerSource:
		s.mu.Unlock()
		return false, fmt.Errorf("replication: broker %d already serves %d followed partitions", s.leader, MaxPartitionsPerSource)
	}
	p := &followed{tp: tp, replica: replica, leaderEpoch: epoch, truncating: true}
	p.throttled.Store(throttled)
	s.mu.parts[tp] = p
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true, nil
}

// remove forgets tp and returns how many partitions remain.
func (s *source) remove(tp TopicPartition) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.parts, tp)
	return len(s.mu.parts)
}

func (s *source) logger() *slog.Logger {
	return s.f.cfg.Logger.With("source", s.leader)
}

func (s *source) run(ctx context.Context) {
	defer close(s.done)
	var client LeaderClient
	defer func() {
		if client != nil {
			_ = client.Close()
		}
	}()
	for ctx.Err() == nil {
		if client == nil {
			c, err := s.f.cfg.Dial(ctx, s.leader)
			if err != nil {
				s.logger().Warn("replica fetcher cannot reach its leader", "err", err)
				s.pause(ctx, s.f.cfg.Backoff)
				continue
			}
			client = c
		}
		if err := s.round(ctx, client); err != nil && ctx.Err() == nil {
			s.logger().Warn("replica fetch failed", "err", err)
			_ = client.Close()
			client = nil
			s.pause(ctx, s.f.cfg.Backoff)
		}
	}
}

// pause waits for d (forever when d <= 0), a new partition, or ctx.
func (s *source) pause(ctx context.Context, d time.Duration) {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-s.wake:
	case <-timeout:
	}
}

// snapshot splits the partitions not in backoff into those to truncate and
// those to fetch, and says how long until the next backoff ends.
func (s *source) snapshot(now time.Time) (truncate, fetch []*followed, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.mu.parts {
		switch {
		case p.delayedUntil.After(now):
			if d := p.delayedUntil.Sub(now); wait == 0 || d < wait {
				wait = d
			}
		case p.truncating:
			truncate = append(truncate, p)
		case p.throttled.Load() && s.holdThrottled(p):
			if d := s.f.cfg.Quota.Wait(); wait == 0 || d < wait {
				wait = d
			}
		default:
			fetch = append(fetch, p)
		}
	}
	return truncate, fetch, wait
}

// round does one request: truncation first, as no partition may fetch
// before its log is known to match the leader's.
func (s *source) round(ctx context.Context, client LeaderClient) error {
	truncate, fetch, wait := s.snapshot(s.f.cfg.Now())
	if len(truncate) > 0 {
		return s.truncate(ctx, client, truncate)
	}
	if len(fetch) == 0 {
		s.pause(ctx, wait)
		return nil
	}
	return s.fetch(ctx, client, fetch)
}

// current runs fn with the write lock when p is still the followed state of
// its partition.
func (s *source) current(p *followed, fn func()) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	ok := s.mu.parts[p.tp] == p
	s.mu.Unlock()
	if ok {
		fn()
	}
}

func (s *source) set(p *followed, truncating bool, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.truncating = truncating
	if delay > 0 {
		p.delayedUntil = s.f.cfg.Now().Add(delay)
	}
}

func (s *source) truncate(ctx context.Context, client LeaderClient, parts []*followed) error {
	var reqs []EpochRequest
	byTP := map[TopicPartition]*followed{}
	for _, p := range parts {
		latest := p.replica.LatestEpoch()
		if latest < 0 {
			// No epoch history (an empty log): nothing can have diverged
			// beyond what the leader committed.
			s.current(p, func() {
				s.truncateTo(p, Truncation{Offset: min(p.replica.HighWatermark(), p.replica.LogEndOffset()), Done: true})
			})
			continue
		}
		reqs = append(reqs, EpochRequest{TopicPartition: p.tp, CurrentLeaderEpoch: p.leaderEpoch, LeaderEpoch: latest})
		byTP[p.tp] = p
	}
	if len(reqs) == 0 {
		return nil
	}
	results, err := client.OffsetForLeaderEpoch(ctx, s.f.cfg.ReplicaID, reqs)
	if err != nil {
		return fmt.Errorf("OffsetForLeaderEpoch to broker %d: %w", s.leader, err)
	}
	for _, r := range results {
		p, ok := byTP[r.TopicPartition]
		if !ok {
			continue
		}
		delete(byTP, r.TopicPartition)
		s.current(p, func() {
			if r.Err != nil {
				s.logger().Debug("OffsetForLeaderEpoch refused", "topic", p.tp.Topic, "partition", p.tp.Partition, "err", r.Err)
				s.set(p, true, s.f.cfg.Backoff)
				return
			}
			s.truncateTo(p, TruncationOffset(p.replica, p.replica.LogEndOffset(), p.replica.HighWatermark(), r.EpochEndOffset))
		})
	}
	for _, p := range byTP {
		s.set(p, true, s.f.cfg.Backoff)
	}
	return nil
}

// truncateTo applies a truncation decision (writeMu held).
func (s *source) truncateTo(p *followed, tr Truncation) {
	// A truncation at or past the log end still truncates the epoch
	// history there, as Kafka's truncateTo: an epoch this replica began as
	// leader without writing to it starts at its log end, the leader does
	// not know it, and kept as the latest epoch it would make every fetch
	// diverge and every OffsetForLeaderEpoch round ask about it forever.
	if end := p.replica.LogEndOffset(); tr.Offset < end {
		s.logger().Info("truncating follower log", "topic", p.tp.Topic, "partition", p.tp.Partition,
			"leaderEpoch", p.leaderEpoch, "offset", tr.Offset, "logEndOffset", end, "highWatermark", p.replica.HighWatermark())
	}
	if err := p.replica.TruncateTo(min(tr.Offset, p.replica.LogEndOffset())); err != nil {
		s.logger().Warn("follower truncation failed", "topic", p.tp.Topic, "partition", p.tp.Partition, "offset", tr.Offset, "err", err)
		s.set(p, true, s.f.cfg.Backoff)
		return
	}
	s.set(p, !tr.Done, 0)
}

func (s *source) fetch(ctx context.Context, client LeaderClient, parts []*followed) error {
	cfg := &s.f.cfg
	req := &FetchRequest{ReplicaID: cfg.ReplicaID, ReplicaEpoch: cfg.ReplicaEpoch(), MaxWait: cfg.MaxWait,
		MinBytes: cfg.MinBytes, MaxBytes: cfg.ResponseMaxBytes, Partitions: make([]FetchPartition, 0, len(parts))}
	byTP := make(map[TopicPartition]*followed, len(parts))
	for _, p := range parts {
		req.Partitions = append(req.Partitions, FetchPartition{TopicPartition: p.tp,
			FetchOffset: p.replica.LogEndOffset(), CurrentLeaderEpoch: p.leaderEpoch,
			LastFetchedEpoch: p.replica.LatestEpoch(), LogStartOffset: p.replica.LogStartOffset(),
			PartitionMaxBytes: cfg.PartitionMaxBytes})
		byTP[p.tp] = p
	}
	resp, err := client.Fetch(ctx, req)
	if err != nil {
		return fmt.Errorf("fetch from broker %d: %w", s.leader, err)
	}
	// The partitions of a response are written in parallel, as a leader
	// fsyncs a produce request's partitions: one round costs about one
	// fsync rather than one per partition. Each partition has its own
	// replica, so the writes are independent; writeMu covers them all.
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var wg sync.WaitGroup
	for i := range resp.Partitions {
		fp := &resp.Partitions[i]
		p, ok := byTP[fp.TopicPartition]
		if !ok || !s.stillFollowed(p) {
			continue
		}
		if len(fp.Records) == 0 || len(resp.Partitions) == 1 {
			s.applyFetched(p, fp)
			continue
		}
		wg.Go(func() { s.applyFetched(p, fp) })
	}
	wg.Wait()
	return nil
}

// stillFollowed reports whether p is still the followed state of its
// partition (writeMu held, so a removal waits for the write).
func (s *source) stillFollowed(p *followed) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.parts[p.tp] == p
}

// applyFetched handles one partition of a fetch response (writeMu held).
func (s *source) applyFetched(p *followed, fp *FetchedPartition) {
	backoff := s.f.cfg.Backoff
	switch {
	case fp.Err == nil:
	case errors.Is(fp.Err, kerr.OffsetOutOfRange):
		if end := p.replica.LogEndOffset(); end < fp.LogStartOffset {
			// The leader deleted what this replica still needs; it can
			// only catch up from the leader's log start, as Kafka's
			// follower does.
			s.logger().Warn("follower fell behind the leader's log start: restarting its log there", "topic", p.tp.Topic,
				"partition", p.tp.Partition, "logEndOffset", end, "leaderLogStartOffset", fp.LogStartOffset)
			if err := p.replica.TruncateFullyAndStartAt(fp.LogStartOffset); err != nil {
				s.logger().Warn("follower restart at the leader's log start failed", "topic", p.tp.Topic, "partition", p.tp.Partition, "err", err)
				s.set(p, false, backoff)
				return
			}
			s.set(p, false, 0)
			return
		}
		s.set(p, true, 0)
		return
	default:
		// FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER
		// and the like: the metadata is moving; retry after a pause, and
		// a Follow with the new epoch replaces this state.
		s.logger().Debug("fetch refused", "topic", p.tp.Topic, "partition", p.tp.Partition, "err", fp.Err)
		s.set(p, false, backoff)
		return
	}
	if fp.DivergingEpoch != nil {
		s.truncateTo(p, TruncationOffset(p.replica, p.replica.LogEndOffset(), p.replica.HighWatermark(), *fp.DivergingEpoch))
		return
	}
	if _, err := p.replica.AppendAsFollower(fp.Records, s.f.cfg.Now().UnixMilli()); err != nil {
		if errors.Is(err, partition.ErrNotContiguous) {
			// A response to a fetch sent before this log was truncated
			// or restarted: the next fetch asks from the log end again.
			s.logger().Debug("fetched records do not start at the log end: fetching again", "topic", p.tp.Topic,
				"partition", p.tp.Partition, "logEndOffset", p.replica.LogEndOffset(), "err", err)
			s.set(p, true, 0)
			return
		}
		if errors.Is(err, recordbatch.ErrCorruptMessage) {
			s.reportCorrupt(p, err)
		} else {
			s.logger().Warn("follower append failed", "topic", p.tp.Topic, "partition", p.tp.Partition, "err", err)
		}
		s.set(p, false, backoff)
		return
	}
	p.corrupt = corruptFetches{}
	if s.f.cfg.BytesIn != nil {
		s.f.cfg.BytesIn(len(fp.Records))
	}
	p.replica.UpdateFollowerHighWatermark(fp.HighWatermark)
	// Records the leader deleted (DeleteRecords) go here too, up to this
	// replica's high watermark, so a failover does not bring them back.
	if start := min(fp.LogStartOffset, p.replica.HighWatermark()); start > p.replica.LogStartOffset() {
		if _, err := p.replica.DeleteRecordsBefore(start); err != nil {
			s.logger().Warn("follower log start not advanced", "topic", p.tp.Topic, "partition", p.tp.Partition, "offset", start, "err", err)
		}
	}
	s.noteFetched(p, fp)
}
