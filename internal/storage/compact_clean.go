package storage

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// forEachBatch calls fn with the position and header of every batch of s
// within its first size bytes.
func forEachBatch(s *segment, size int64, fn func(pos int64, h recordbatch.Header) error) error {
	var hbuf [recordbatch.HeaderSize]byte
	for pos := int64(0); pos < size; {
		h, err := readHeader(s.log, pos, size, &hbuf)
		if err != nil {
			return err
		}
		if err := fn(pos, h); err != nil {
			return err
		}
		pos += h.TotalSize()
	}
	return nil
}

// buildOffsetMap maps the keys of the dirty section of r in offset order
// until the map is full, at a batch boundary. It returns the offset the map
// reaches: every record below it (in the dirty section) is in the map.
func (l *Log) buildOffsetMap(ctx context.Context, r *cleanableRange, m *offsetMap, aborted abortedRanges) (Offset, error) {
	mapEnd := r.firstDirty
	full := false
	for i, s := range r.segs {
		if s.nextOffset <= r.firstDirty {
			continue
		}
		err := forEachBatch(s, r.sizes[i], func(pos int64, h recordbatch.Header) error {
			if full || Offset(h.NextOffset()) <= r.firstDirty {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if h.Control() || aborted.aborted(h) {
				mapEnd = Offset(h.NextOffset())
				return nil
			}
			raw, err := readBatch(s.log, pos, h)
			if err != nil {
				return err
			}
			records, err := recordbatch.Records(raw, maxDecompressedBatchBytes)
			if err != nil {
				// Kept unchanged by the filter too; nothing to map.
				mapEnd = Offset(h.NextOffset())
				return nil
			}
			if !m.fits(len(records)) {
				full = true
				return nil
			}
			for j := range records {
				if records[j].Key != nil {
					m.put(records[j].Key, Offset(h.BaseOffset)+Offset(records[j].OffsetDelta))
				}
			}
			mapEnd = Offset(h.NextOffset())
			return nil
		})
		if err != nil {
			return 0, err
		}
		if full {
			return mapEnd, nil
		}
	}
	return r.end, nil
}

// producerLast remembers, per producer id, the base offsets of the
// producer's last data batch and of its last batch of any kind (a marker
// may follow the data) in the range being cleaned.
type producerLast struct {
	lastData  map[int64]Offset
	lastBatch map[int64]Offset
	overflow  bool
}

// isLastData reports whether the data batch h is its producer's last: it
// holds the producer's last sequence (Kafka's lastDataOffset).
func (p *producerLast) isLastData(h recordbatch.Header) bool {
	last, ok := p.lastData[h.ProducerID]
	return p.overflow || ok && last == Offset(h.BaseOffset)
}

// isLastBatch reports whether h is its producer's last batch of any kind.
func (p *producerLast) isLastBatch(h recordbatch.Header) bool {
	last, ok := p.lastBatch[h.ProducerID]
	return p.overflow || ok && last == Offset(h.BaseOffset)
}

// lastProducerBatches reads the headers of the first n segments of r.
func (l *Log) lastProducerBatches(r *cleanableRange, n int) (*producerLast, error) {
	p := &producerLast{lastData: make(map[int64]Offset), lastBatch: make(map[int64]Offset)}
	for i, s := range r.segs[:n] {
		err := forEachBatch(s, r.sizes[i], func(_ int64, h recordbatch.Header) error {
			if !h.Idempotent() || p.overflow {
				return nil
			}
			if _, known := p.lastBatch[h.ProducerID]; !known && len(p.lastBatch) >= maxTrackedProducers {
				p.overflow, p.lastData, p.lastBatch = true, nil, nil
				return nil
			}
			p.lastBatch[h.ProducerID] = Offset(h.BaseOffset)
			if !h.Control() {
				p.lastData[h.ProducerID] = Offset(h.BaseOffset)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// batchFilter decides, batch by batch in offset order, what a pass keeps.
type batchFilter struct {
	m           *offsetMap
	mapEnd      Offset
	nowMs       int64
	retentionMs int64
	producers   *producerLast
	aborted     abortedRanges
	markers     *markerTracker
	prevEpoch   int32
	// horizon is the earliest delete horizon among written batches that
	// still hold tombstones or markers to be dropped once it passes.
	horizon int64
	logger  *slog.Logger
	dir     string
}

// filtered is what filter made of one batch.
type filtered struct {
	// batch is what to write in place of the batch read (that batch itself
	// when nothing changed), or nil to drop it.
	batch            []byte
	recordsRemoved   int64
	tombstonesMarked bool
	markerMarked     bool
	markerRemoved    bool
}

// filter decides on one batch; last says it ends its cleaned segment.
func (f *batchFilter) filter(h recordbatch.Header, raw []byte, last bool) filtered {
	structural := last || h.PartitionLeaderEpoch != f.prevEpoch
	f.prevEpoch = h.PartitionLeaderEpoch
	if h.Control() {
		return f.filterMarker(h, raw, structural)
	}
	res := f.filterData(h, raw, structural || (h.Idempotent() && f.producers.isLastData(h)))
	if res.batch != nil && h.Transactional() {
		f.markers.dataWritten(h.ProducerID)
	}
	return res
}

// filterData is filter for a data batch, which is written even without
// records when keepEmpty.
func (f *batchFilter) filterData(h recordbatch.Header, raw []byte, keepEmpty bool) filtered {
	keep := filtered{batch: raw}
	records, err := recordbatch.Records(raw, maxDecompressedBatchBytes)
	if err != nil {
		f.logger.Warn("compaction keeps a batch it cannot decode", "dir", f.dir, "base_offset", h.BaseOffset, "err", err)
		return keep
	}
	horizonMs, hasHorizon := h.DeleteHorizon()
	expired := hasHorizon && f.nowMs >= horizonMs
	abortedBatch := f.aborted.aborted(h)
	kept := make([]recordbatch.Record, 0, len(records))
	tombstones := 0
	var removed int64
	for _, rec := range records {
		if abortedBatch || !f.retain(h, &rec, expired) {
			removed++
			continue
		}
		if rec.Value == nil {
			tombstones++
		}
		kept = append(kept, rec)
	}
	if len(kept) == 0 && !keepEmpty {
		return filtered{recordsRemoved: removed}
	}
	nh := h
	marked := false
	if tombstones > 0 && !hasHorizon {
		nh = h.WithDeleteHorizon(f.nowMs + f.retentionMs)
		recordbatch.RebaseTimestamps(kept, h.BaseTimestamp, nh.BaseTimestamp)
		marked = true
	}
	if tombstones > 0 {
		ms, _ := nh.DeleteHorizon()
		f.horizon = min(f.horizon, ms)
	}
	if removed == 0 && !marked {
		return keep
	}
	b, err := recordbatch.Rebuild(nh, kept, recordbatch.SnappyXerial(raw))
	if err != nil {
		f.logger.Warn("compaction keeps a batch it cannot rebuild", "dir", f.dir, "base_offset", h.BaseOffset, "err", err)
		return keep
	}
	return filtered{batch: b, recordsRemoved: removed, tombstonesMarked: marked}
}

// retain is Kafka's shouldRetainRecord: a record without a key is invalid
// on a compacted topic and goes; a record the map covers goes when a later
// one has its key; a tombstone goes once its batch's horizon passed.
func (f *batchFilter) retain(h recordbatch.Header, rec *recordbatch.Record, tombstonesExpired bool) bool {
	if rec.Key == nil {
		return false
	}
	offset := Offset(h.BaseOffset) + Offset(rec.OffsetDelta)
	if offset < f.mapEnd {
		if latest, ok := f.m.latest(rec.Key); ok && offset < latest {
			return false
		}
	}
	return rec.Value != nil || !tombstonesExpired
}

// cleanGroup rewrites the segments of group g into one cleaned segment and
// swaps it in. It reports false when the swap was given up because the
// log changed.
func (l *Log) cleanGroup(ctx context.Context, r *cleanableRange, g segmentGroup, f *batchFilter, now time.Time, stats *CompactStats) (swapped bool, err error) {
	base := r.segs[g.from].baseOffset
	out, err := openCleanedSegment(l.fs, l.dir, base, now)
	if err != nil {
		return false, err
	}
	defer func() {
		if !swapped {
			out.closeFiles()
			removeCleanedFiles(l.fs, l.dir, base)
		}
	}()
	for i := g.from; i < g.to; i++ {
		s, size := r.segs[i], r.sizes[i]
		err := forEachBatch(s, size, func(pos int64, h recordbatch.Header) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			raw, err := readBatch(s.log, pos, h)
			if err != nil {
				return err
			}
			stats.BytesRead += int64(len(raw))
			last := i == g.to-1 && pos+h.TotalSize() >= size
			res := f.filter(h, raw, last)
			stats.add(res)
			if res.batch == nil {
				return nil
			}
			return writeCleaned(out, res.batch, r.interval)
		})
		if err != nil {
			return false, err
		}
	}
	if te := out.finalTimeEntry(); te != nil {
		out.timeIndex.entries = append(out.timeIndex.entries, *te)
	}
	if err := out.syncLog(); err != nil {
		return false, err
	}
	if err := writeIndexFiles(l.fs, l.dir, out.snapshotIndexLocked(), cleanedSuffix); err != nil {
		return false, err
	}
	swapped, err = l.swapIn(r, g, out, f.markers.keepsEntry)
	if err != nil {
		return swapped, err
	}
	if !swapped {
		stats.Aborted++
		return false, nil
	}
	stats.SegmentsCleaned += g.to - g.from
	stats.BytesWritten += out.size
	return true, nil
}

// writeCleaned appends a batch to a cleaned segment not yet shared and
// plans its index entries in memory; the index files are written whole at
// the end.
func writeCleaned(out *segment, b []byte, interval int64) error {
	h, err := recordbatch.ParseHeader(b)
	if err != nil {
		return fmt.Errorf("cleaned batch: %w", err)
	}
	if out.size+int64(len(b)) > maxSegmentBytes {
		return fmt.Errorf("cleaned segment %s would pass %d bytes", out.log.Name(), maxSegmentBytes)
	}
	pos := out.size
	if _, err := out.log.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", out.log.Name(), err)
	}
	out.applyLocked(h, out.planIndex(pos, h, interval))
	return nil
}
