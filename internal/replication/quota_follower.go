package replication

// The follower side of replication throttles: a source leaves a throttled
// partition out of its fetch requests while the follower quota is exceeded
// and the replica has not caught up, and counts the bytes it receives for
// throttled partitions. Partitions not throttled never reach this file.

// setThrottled marks tp's fetch state; a partition released from the
// throttle wakes the source, which may be pausing on the quota.
func (s *source) setThrottled(tp TopicPartition, throttled bool) {
	s.mu.Lock()
	p := s.mu.parts[tp]
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.throttled.Store(throttled)
	if !throttled {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// holdThrottled reports whether a throttled partition sits out this round:
// the quota is exceeded and the replica is not caught up (Kafka's
// shouldFollowerThrottle), so an in-sync replica is never slowed.
func (s *source) holdThrottled(p *followed) bool {
	q := s.f.cfg.Quota
	return q != nil && q.Hold(p.caughtUp.Load())
}

// noteFetched notes whether the replica reached the leader's high
// watermark, Kafka's isReplicaInSync on the follower (lag <= 0), and counts
// a throttled partition's received bytes. Every partition keeps caughtUp
// current, so a throttle set on a replica already in sync never holds it.
func (s *source) noteFetched(p *followed, fp *FetchedPartition) {
	p.caughtUp.Store(p.replica.LogEndOffset() >= fp.HighWatermark)
	if q := s.f.cfg.Quota; q != nil && p.throttled.Load() {
		q.Record(int64(len(fp.Records)))
	}
}
