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

// producerLast remembers, per producer id, the base offset of the
// producer's last batch in the range being cleaned.
type producerLast struct {
	last     map[int64]Offset
	overflow bool
}

func (p *producerLast) isLast(h recordbatch.Header) bool {
	return p.overflow || p.last[h.ProducerID] == Offset(h.BaseOffset)
}

// lastProducerBatches reads the headers of the first n segments of r.
func (l *Log) lastProducerBatches(r *cleanableRange, n int) (*producerLast, error) {
	p := &producerLast{last: make(map[int64]Offset)}
	for i, s := range r.segs[:n] {
		err := forEachBatch(s, r.sizes[i], func(_ int64, h recordbatch.Header) error {
			if !h.Idempotent() || p.overflow {
				return nil
			}
			if _, known := p.last[h.ProducerID]; !known && len(p.last) >= maxTrackedProducers {
				p.overflow, p.last = true, nil
				return nil
			}
			p.last[h.ProducerID] = Offset(h.BaseOffset)
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
	prevEpoch   int32
	// horizon is the earliest delete horizon among written batches that
	// still hold tombstones.
	horizon int64
	logger  *slog.Logger
	dir     string
}

// filter returns the batch to write in place of raw (raw itself when
// nothing changed) or nil to drop it, and the number of records removed.
// last says the batch ends its cleaned segment.
func (f *batchFilter) filter(h recordbatch.Header, raw []byte, last bool) (out []byte, removed int64, marked bool) {
	keepEmpty := last || h.PartitionLeaderEpoch != f.prevEpoch || (h.Idempotent() && f.producers.isLast(h))
	f.prevEpoch = h.PartitionLeaderEpoch
	if h.Control() {
		return raw, 0, false
	}
	records, err := recordbatch.Records(raw, maxDecompressedBatchBytes)
	if err != nil {
		f.logger.Warn("compaction keeps a batch it cannot decode", "dir", f.dir, "base_offset", h.BaseOffset, "err", err)
		return raw, 0, false
	}
	horizonMs, hasHorizon := h.DeleteHorizon()
	expired := hasHorizon && f.nowMs >= horizonMs
	abortedBatch := f.aborted.aborted(h)
	kept := make([]recordbatch.Record, 0, len(records))
	tombstones := 0
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
		return nil, removed, false
	}
	nh := h
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
		return raw, 0, false
	}
	b, err := recordbatch.Rebuild(nh, kept, recordbatch.SnappyXerial(raw))
	if err != nil {
		f.logger.Warn("compaction keeps a batch it cannot rebuild", "dir", f.dir, "base_offset", h.BaseOffset, "err", err)
		return raw, 0, false
	}
	return b, removed, marked
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
// swaps it in.
func (l *Log) cleanGroup(ctx context.Context, r *cleanableRange, g segmentGroup, f *batchFilter, now time.Time, stats *CompactStats) (err error) {
	base := r.segs[g.from].baseOffset
	out, err := openCleanedSegment(l.fs, l.dir, base, now)
	if err != nil {
		return err
	}
	swapped := false
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
			b, removed, marked := f.filter(h, raw, last)
			stats.RecordsRemoved += removed
			if marked {
				stats.TombstonesMarked++
			}
			if b == nil {
				return nil
			}
			return writeCleaned(out, b, r.interval)
		})
		if err != nil {
			return err
		}
	}
	if te := out.finalTimeEntry(); te != nil {
		out.timeIndex.entries = append(out.timeIndex.entries, *te)
	}
	if err := out.syncLog(); err != nil {
		return err
	}
	if err := writeIndexFiles(l.fs, l.dir, out.snapshotIndexLocked(), cleanedSuffix); err != nil {
		return err
	}
	swapped, err = l.swapIn(r, g, out)
	if err != nil {
		return err
	}
	if !swapped {
		stats.Aborted++
		return nil
	}
	stats.SegmentsCleaned += g.to - g.from
	stats.BytesWritten += out.size
	return nil
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
