package lag

import (
	"context"
	"errors"
	"math"
	"time"
)

// errNoEndOffset is a partition the end offsets answer left out.
var errNoEndOffset = errors.New("no end offset for the partition")

// evaluateGroup appends this poll's sample to each of the group's windows
// and rates them. endsErr, when set, is why no end offset was read.
func (m *Monitor) evaluateGroup(ctx context.Context, g GroupInfo, offsets map[TopicPartition]int64,
	ends map[TopicPartition]EndOffset, endsErr error, now time.Time) GroupLag {
	hists := m.histories[g.Group]
	if hists == nil {
		hists = map[TopicPartition]*history{}
		m.histories[g.Group] = hists
	}
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	sortPartitions(tps)
	out := GroupLag{Group: g.Group, State: g.State, Members: g.Members, Status: StatusOK, Evaluated: now,
		Partitions: make([]PartitionLag, 0, len(tps))}
	for _, tp := range tps {
		s := Sample{At: now, Committed: offsets[tp], Members: g.Members}
		switch end, ok := ends[tp]; {
		case endsErr != nil:
			s.Err = endsErr
		case !ok:
			s.Err = errNoEndOffset
		case end.Err != nil:
			s.Err = end.Err
		default:
			s.End = end.Offset
		}
		h := hists[tp]
		if h == nil {
			h = &history{lastCommit: now, stampOffset: -1}
			hists[tp] = h
		}
		h.add(s, m.opts.Window)
		p := m.partitionLag(ctx, tp, h, s, now)
		out.Partitions = append(out.Partitions, p)
		out.Status = out.Status.Worse(p.Status)
		if p.Lag > 0 {
			out.TotalLag += p.Lag
		}
		out.MaxLagSeconds = math.Max(out.MaxLagSeconds, p.LagSeconds)
	}
	for tp := range hists {
		if _, ok := offsets[tp]; !ok {
			delete(hists, tp)
		}
	}
	return out
}

// add appends s to the window, dropping the oldest beyond size, and notes
// when the committed offset changed and when lag was last 0.
func (h *history) add(s Sample, size int) {
	if n := len(h.samples); n > 0 && h.samples[n-1].Committed != s.Committed {
		h.lastCommit = s.At
	}
	if s.Err == nil && s.Lag() == 0 {
		h.lastCaughtUp = s.At
	}
	if len(h.samples) >= size {
		copy(h.samples, h.samples[len(h.samples)-size+1:])
		h.samples = h.samples[:size-1]
	}
	h.samples = append(h.samples, s)
}

// partitionLag rates one partition and measures its lag in time.
func (m *Monitor) partitionLag(ctx context.Context, tp TopicPartition, h *history, s Sample, now time.Time) PartitionLag {
	th := Thresholds{Window: m.opts.Window, StopAfter: m.opts.StopAfter}
	p := PartitionLag{Topic: tp.Topic, Partition: tp.Partition, Committed: s.Committed, End: s.End,
		Lag: s.Lag(), Status: Evaluate(h.samples, later(h.lastCommit, h.lastCaughtUp), th), LastCommit: h.lastCommit}
	if s.Err != nil {
		p.End, p.Lag, p.LagSeconds, p.Error = -1, -1, -1, s.Err.Error()
		return p
	}
	if p.Lag <= 0 {
		return p
	}
	p.LagSeconds = m.recordAge(ctx, tp, h, s, now)
	return p
}

// recordAge is the age in seconds of the first record at or after the
// committed offset: from the cache while the committed offset stays, else
// read from the source. It is -1 when unknown, 0 when only control records
// lie between the committed offset and the end.
func (m *Monitor) recordAge(ctx context.Context, tp TopicPartition, h *history, s Sample, now time.Time) float64 {
	if !h.stampFound || h.stampOffset != s.Committed {
		ts, found, err := m.src.RecordTimestamp(ctx, tp, s.Committed, s.End)
		if err != nil {
			m.opts.Logger.Debug("record timestamp not read", "topic", tp.Topic, "partition", tp.Partition,
				"offset", s.Committed, "err", err)
			return -1
		}
		if !found {
			// Not cached: the next record is yet to be written.
			return 0
		}
		h.stampOffset, h.stamp, h.stampFound = s.Committed, ts, true
	}
	// A producer's clock ahead of ours makes a record look younger than
	// nothing; it is reported as just written.
	return max(now.Sub(h.stamp).Seconds(), 0)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
