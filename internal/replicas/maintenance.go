package replicas

import (
	"context"
	"errors"
	"time"

	"github.com/fjordhq/fjord/internal/storage"
)

// minCleanerBackoff keeps a log.cleaner.backoff.ms of 0 from spinning.
const minCleanerBackoff = 10 * time.Millisecond

// cleanerLoop is Kafka's LogCleaner: every log.cleaner.backoff.ms it
// compacts, one partition at a time, the local logs of topics with
// cleanup.policy=compact whose dirty ratio reached
// min.cleanable.dirty.ratio or whose tombstones or transaction markers
// passed their delete horizon. It runs on its own goroutine, off the produce and fetch paths
// (storage only takes the append lock to swap a cleaned segment in), and
// stops when ctx ends, also in the middle of a compaction.
func (m *Manager) cleanerLoop(ctx context.Context) {
	if !m.opts.Config.LogCleanerEnable {
		return
	}
	backoff := max(m.opts.Config.LogCleanerBackoff, minCleanerBackoff)
	every(ctx, backoff, func() { m.cleanOnce(ctx) })
}

// cleanOnce runs one round of the cleaner over every local partition.
func (m *Manager) cleanOnce(ctx context.Context) {
	for _, p := range m.All() {
		if ctx.Err() != nil {
			return
		}
		now := m.now()
		if !needsCleaning(p, now) {
			continue
		}
		cfg := p.Config()
		stats, err := p.Log().Compact(ctx, storage.CompactOptions{
			Now:               now,
			DeleteRetention:   millis(cfg.DeleteRetentionMs),
			MinCompactionLag:  millis(cfg.MinCompactionLagMs),
			DedupeBufferBytes: m.opts.Config.LogCleanerDedupeBufferBytes,
			Bounded:           true,
			UpperBound:        p.LastStableOffset(),
		})
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, storage.ErrClosed):
			// Shutting down, or the topic was deleted meanwhile.
		case err != nil:
			m.logger.Warn("log cleaner", "topic", p.Topic, "partition", p.Index, "err", err)
		default:
			m.logger.Debug("log cleaner", "topic", p.Topic, "partition", p.Index, "passes", stats.Passes,
				"segments", stats.SegmentsCleaned, "bytes_read", stats.BytesRead, "bytes_written", stats.BytesWritten,
				"records_removed", stats.RecordsRemoved, "markers_marked", stats.MarkersMarked,
				"markers_removed", stats.MarkersRemoved)
		}
	}
}

// needsCleaning is the cleaner's choice for one partition: a compacted
// topic whose dirty ratio is positive and at least
// min.cleanable.dirty.ratio, or whose tombstones or transaction markers
// are due for removal (TombstonesDue covers both).
func needsCleaning(p *Replica, now time.Time) bool {
	cfg := p.Config()
	if !cfg.Compact() {
		return false
	}
	log := p.Log()
	if log.TombstonesDue(now) {
		return true
	}
	ratio := log.DirtyRatio(now, millis(cfg.MinCompactionLagMs))
	return ratio > 0 && ratio >= cfg.MinCleanableDirtyRatio
}
