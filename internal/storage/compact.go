package storage

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// Log compaction (cleanup.policy=compact), Kafka's LogCleaner.
//
// Model. The log is split at the first dirty offset: below it the "clean"
// section was already compacted; from it up to the first uncleanable offset
// lies the "dirty" section. Uncleanable are the active segment, any segment
// not yet fsynced, any segment waiting for its .txnindex (txnlog.go), and
// any segment holding a record younger than min.compaction.lag.ms (by its
// largest timestamp, as Kafka). A pass:
//
//  1. builds an offset map key -> latest offset over the dirty section, as
//     far as the dedupe buffer allows (mapEnd is where it stopped);
//  2. rewrites every segment from the log start to the one holding mapEnd-1
//     into cleaned segments, grouped up to segment.bytes, keeping a record
//     when its offset is at or past mapEnd, or it is the latest for its key,
//     and dropping records without a key;
//  3. swaps each cleaned segment in atomically (see compact_swap.go);
//  4. moves the first dirty offset to mapEnd. When the map filled before
//     the end of the dirty section, another pass follows (Kafka's cleaner
//     does the same over several rounds).
//
// Offsets never change: a thinned batch keeps its base offset and
// lastOffsetDelta, records keep their offset deltas, and batches whose
// records all went leave a gap. Producer id, epoch and sequence, the
// partition leader epoch, the codec and the timestamps of a batch are kept.
// A batch left without records is still written, empty, when it is the
// last batch of its cleaned segment (so the segment keeps its offset range
// and the log stays contiguous), the last data batch of its producer in
// the cleaned range (so the producer's sequence survives a restart, as
// Kafka's lastDataOffset), or the first of a leader epoch (so epoch
// boundaries survive).
//
// Transaction markers (control batches) stay while their transaction has
// data in the log, then go after delete.retention.ms as tombstones do; the
// aborted transactions of the segments merged move to the cleaned segment
// with their markers (compact_marker.go, compact_txn.go).
//
// Tombstones (a key with a null value) follow KIP-534: the first pass that
// rewrites a batch holding tombstones marks it with a delete horizon of
// now + delete.retention.ms (attribute bit 6, kept in baseTimestamp, record
// timestamps rebased so they do not change); a later pass after the horizon
// drops them. So a tombstone lives at least delete.retention.ms after it
// was first compacted, long enough for a consumer that started reading
// before that to see it. (Record timestamps are the producer's to choose,
// so they are not used.) Markers no longer needed get a horizon the same
// way.
//
// The first dirty offset is kept in memory only: after a restart the whole
// log counts as dirty and is compacted once more, which changes nothing but
// costs one rewrite.
//
// Concurrency. Compact calls are serialized by compaction.runMu. A pass reads
// segments through references without holding any log lock, so appends,
// syncs and reads go on; only the swap takes appendMu, and it gives up (the
// pass is wasted, nothing is lost) when retention, truncation or a close
// changed the segments it read.

// CompactOptions are the settings of one compaction, Kafka's topic and
// cleaner configs.
type CompactOptions struct {
	// Now is the time the pass runs at, for the lag and the delete
	// horizons of tombstones and markers.
	Now time.Time
	// DeleteRetention is delete.retention.ms.
	DeleteRetention time.Duration
	// MinCompactionLag is min.compaction.lag.ms.
	MinCompactionLag time.Duration
	// DedupeBufferBytes is log.cleaner.dedupe.buffer.size, the memory of the
	// offset map; DefaultDedupeBufferBytes when zero.
	DedupeBufferBytes int64
	// Bounded, with UpperBound, ends the cleanable section at the first
	// unstable offset, so an open transaction is never cleaned
	// (compact_txn.go).
	Bounded    bool
	UpperBound Offset
}

// CompactStats describes what a Compact call did.
type CompactStats struct {
	Passes          int
	SegmentsCleaned int
	BytesRead       int64
	BytesWritten    int64
	// RecordsRemoved counts removed markers too.
	RecordsRemoved   int64
	TombstonesMarked int64
	// MarkersMarked counts markers given a delete horizon, MarkersRemoved
	// those dropped after it.
	MarkersMarked  int64
	MarkersRemoved int64
	// Aborted counts swaps given up because the log changed meanwhile.
	Aborted int
}

// add counts what filter did with one batch.
func (s *CompactStats) add(res filtered) {
	s.RecordsRemoved += res.recordsRemoved
	if res.tombstonesMarked {
		s.TombstonesMarked++
	}
	if res.markerMarked {
		s.MarkersMarked++
	}
	if res.markerRemoved {
		s.MarkersRemoved++
	}
}

// maxDecompressedBatchBytes caps the memory one batch may inflate to
// while compacting. A batch past it, or one that does not decode, is kept
// unchanged and its keys are not mapped: the cleaner never loses data it
// cannot read.
const maxDecompressedBatchBytes = 64 << 20

// maxTrackedProducers bounds the producer ids the cleaner remembers to keep
// each producer's last batch; past it every idempotent batch keeps at least
// its header, which is safe and only compacts less.
const maxTrackedProducers = 1 << 16

// compactionState is a Log's cleaner bookkeeping.
type compactionState struct {
	// runMu serializes Compact calls.
	runMu sync.Mutex

	mu sync.Mutex
	// firstDirtyOffset starts the dirty section (Kafka's cleaner checkpoint).
	firstDirtyOffset Offset
	// deleteHorizonMs is the earliest delete horizon of a batch still
	// holding tombstones, or of a marker waiting to be dropped, or 0 when
	// none is pending.
	deleteHorizonMs int64
}

// cleanableRange is a snapshot of the segments a pass may read, each with a
// reference held, and their sizes at the time.
type cleanableRange struct {
	segs       []*segment
	sizes      []int64
	firstDirty Offset
	// end is the first uncleanable offset.
	end        Offset
	generation uint64
	segBytes   int64
	interval   int64
}

func (r *cleanableRange) release() {
	for _, s := range r.segs {
		s.release()
	}
	r.segs = nil
}

// cleanable takes the snapshot for a pass.
func (l *Log) cleanable(now time.Time, minLag time.Duration, upperBound Offset) (*cleanableRange, error) {
	l.compaction.mu.Lock()
	firstDirty := l.compaction.firstDirtyOffset
	l.compaction.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return nil, err
	}
	r := &cleanableRange{generation: l.mu.generation, segBytes: l.mu.cfg.SegmentBytes,
		interval: l.mu.cfg.IndexIntervalBytes, firstDirty: max(firstDirty, l.mu.logStartOffset)}
	r.end = l.mu.segments[0].baseOffset
	lagCutoff := now.Add(-minLag).UnixMilli()
	for _, s := range l.mu.segments[:len(l.mu.segments)-1] {
		// A segment waiting for its .txnindex is left alone: the Sync
		// writing it must not race the swap that replaces it.
		if s.nextOffset > l.mu.durableOffset || (minLag > 0 && s.maxTimestamp > lagCutoff) || s.txnDirty ||
			s.nextOffset > upperBound {
			break
		}
		s.acquire()
		r.segs = append(r.segs, s)
		r.sizes = append(r.sizes, s.size)
		r.end = s.nextOffset
	}
	r.firstDirty = min(r.firstDirty, r.end)
	return r, nil
}

// DirtyRatio is the share of the cleanable log's bytes not yet compacted,
// the figure compared with min.cleanable.dirty.ratio. Segments are counted
// whole; a segment holding the first dirty offset counts as dirty.
func (l *Log) DirtyRatio(now time.Time, minCompactionLag time.Duration) float64 {
	r, err := l.cleanable(now, minCompactionLag, math.MaxInt64)
	if err != nil {
		return 0
	}
	defer r.release()
	var clean, dirty int64
	for i, s := range r.segs {
		if s.nextOffset <= r.firstDirty {
			clean += r.sizes[i]
		} else {
			dirty += r.sizes[i]
		}
	}
	if clean+dirty == 0 {
		return 0
	}
	return float64(dirty) / float64(clean+dirty)
}

// TombstonesDue reports whether tombstones or transaction markers kept by
// an earlier compaction have passed their delete horizon, so a compaction
// would remove them even with nothing dirty (KIP-534; compact_marker.go).
func (l *Log) TombstonesDue(now time.Time) bool {
	l.compaction.mu.Lock()
	defer l.compaction.mu.Unlock()
	h := l.compaction.deleteHorizonMs
	return h > 0 && now.UnixMilli() >= h
}

// FirstDirtyOffset is where the dirty section starts, for tests and
// monitoring.
func (l *Log) FirstDirtyOffset() Offset {
	l.compaction.mu.Lock()
	defer l.compaction.mu.Unlock()
	return l.compaction.firstDirtyOffset
}

// Compact compacts the log's cleanable section (see the model above) in as
// many passes as the dedupe buffer needs. It stops early when ctx ends.
// An I/O error after a swap began stops the log (ErrLogFailed); reopening
// completes or discards the swap.
func (l *Log) Compact(ctx context.Context, opts CompactOptions) (CompactStats, error) {
	if opts.DedupeBufferBytes <= 0 {
		opts.DedupeBufferBytes = DefaultDedupeBufferBytes
	}
	l.compaction.runMu.Lock()
	defer l.compaction.runMu.Unlock()
	var stats CompactStats
	horizon := int64(math.MaxInt64)
	for {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		upperBound := Offset(math.MaxInt64)
		if opts.Bounded {
			upperBound = opts.UpperBound
		}
		r, err := l.cleanable(opts.Now, opts.MinCompactionLag, upperBound)
		if err != nil {
			return stats, err
		}
		mapEnd, passHorizon, err := l.compactPass(ctx, r, opts, &stats)
		r.release()
		if err != nil {
			return stats, err
		}
		stats.Passes++
		horizon = min(horizon, passHorizon)
		l.compaction.mu.Lock()
		l.compaction.firstDirtyOffset = max(l.compaction.firstDirtyOffset, mapEnd)
		l.compaction.mu.Unlock()
		if mapEnd >= r.end {
			break
		}
	}
	l.compaction.mu.Lock()
	l.compaction.deleteHorizonMs = 0
	if horizon != math.MaxInt64 {
		l.compaction.deleteHorizonMs = horizon
	}
	l.compaction.mu.Unlock()
	return stats, nil
}

// compactPass runs one pass over r. It returns the map's end, which becomes
// the first dirty offset, and the earliest delete horizon left in the
// segments it rewrote (MaxInt64 when none). After a swap given up, the
// later groups keep every marker: whether a marker is needed depends on
// what the earlier groups wrote, and old segments still holding its data
// stay in place.
func (l *Log) compactPass(ctx context.Context, r *cleanableRange, opts CompactOptions, stats *CompactStats) (mapEnd Offset, horizon int64, err error) {
	horizon = math.MaxInt64
	if len(r.segs) == 0 {
		return r.end, horizon, nil
	}
	m := newOffsetMap(opts.DedupeBufferBytes)
	aborted := l.abortedIn(r.segs[0].baseOffset, r.end)
	mapEnd, err = l.buildOffsetMap(ctx, r, m, aborted)
	if err != nil {
		return 0, horizon, fmt.Errorf("compact %s: build offset map: %w", l.dir, err)
	}
	n := 0
	for n < len(r.segs) && r.segs[n].baseOffset < mapEnd {
		n++
	}
	producers, err := l.lastProducerBatches(r, n)
	if err != nil {
		return 0, horizon, fmt.Errorf("compact %s: %w", l.dir, err)
	}
	f := &batchFilter{m: m, mapEnd: mapEnd, nowMs: opts.Now.UnixMilli(),
		retentionMs: opts.DeleteRetention.Milliseconds(), producers: producers, aborted: aborted,
		markers: newMarkerTracker(), prevEpoch: -1, horizon: math.MaxInt64, logger: l.logger, dir: l.dir}
	for _, g := range groupSegments(r, n) {
		swapped, err := l.cleanGroup(ctx, r, g, f, opts.Now, stats)
		if err != nil {
			return 0, horizon, fmt.Errorf("compact %s: %w", l.dir, err)
		}
		if !swapped {
			f.markers.keepAll()
		}
	}
	return mapEnd, f.horizon, nil
}

// segmentGroup is the index range [from, to) of r.segs cleaned into one
// segment.
type segmentGroup struct{ from, to int }

// groupSegments groups the first n segments of r, in order, so that each
// group's original bytes fit in segment.bytes and its offsets in a 32-bit
// relative index (Kafka's groupSegmentsBySize).
func groupSegments(r *cleanableRange, n int) []segmentGroup {
	var groups []segmentGroup
	for i := 0; i < n; {
		g := segmentGroup{from: i, to: i + 1}
		size := r.sizes[i]
		for g.to < n && size+r.sizes[g.to] <= r.segBytes &&
			r.segs[g.to].nextOffset-r.segs[i].baseOffset <= math.MaxInt32 {
			size += r.sizes[g.to]
			g.to++
		}
		groups = append(groups, g)
		i = g.to
	}
	return groups
}
