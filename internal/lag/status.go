package lag

import "time"

// Sample is one observation of a group's partition.
type Sample struct {
	At time.Time
	// Committed is the group's committed offset, End the high watermark.
	Committed, End int64
	// Members is the number of members the group had, -1 when unknown.
	Members int
	// Err is why the partition could not be read; the offsets are then
	// meaningless.
	Err error
}

// Lag is End - Committed.
func (s Sample) Lag() int64 { return s.End - s.Committed }

// Thresholds are the limits of the status rules.
type Thresholds struct {
	// Window is the number of samples a full window holds. The rules that
	// judge a trend (STALLED, WARNING) wait for a full window: with fewer
	// samples a partition that is behind is UNKNOWN. The window must span
	// longer than the group's commit interval (auto.commit.interval.ms,
	// 5 s by default), or a healthy group that commits less often than it
	// is sampled looks STALLED.
	Window int
	// StopAfter is how long a partition with members may go without
	// progress (its committed offset moving, or lag 0) before it is
	// STOPPED rather than STALLED: Burrow calls a consumer stopped when its
	// last commit is older than its window spans, and since this window is
	// measured in polls, not commits, the limit is an explicit duration.
	// Progress counts lag 0 too, so that a quiet partition's consumer,
	// caught up for an hour, is not STOPPED when the next record arrives
	// (Burrow's false alarm of linkedin/Burrow#303).
	StopAfter time.Duration
}

// Evaluate rates one partition of a group from its window of samples,
// oldest first, and when it last made progress (its committed offset
// changed, or its lag was 0). The rules, in order (Burrow's, with the
// members the coordinator knows):
//
//  1. ERROR when the latest sample could not be read or its committed
//     offset is beyond the end of the log.
//  2. OK when the latest lag is 0.
//  3. STOPPED when the group has no members, or the partition made no
//     progress for StopAfter, while lag is above 0.
//  4. OK when lag was 0 in any sample of the window.
//  5. UNKNOWN when the window is not full yet.
//  6. STALLED when the committed offset is the same in every sample.
//  7. WARNING when lag grew from each sample to the next.
//  8. OK otherwise.
//
// An empty window is UNKNOWN.
func Evaluate(window []Sample, lastProgress time.Time, th Thresholds) Status {
	if len(window) == 0 {
		return StatusUnknown
	}
	latest := window[len(window)-1]
	switch {
	case latest.Err != nil || latest.Committed > latest.End:
		return StatusError
	case latest.Lag() == 0:
		return StatusOK
	case latest.Members == 0 || latest.At.Sub(lastProgress) >= th.StopAfter:
		return StatusStopped
	case anyCaughtUp(window):
		return StatusOK
	case len(window) < th.Window:
		return StatusUnknown
	case committedStill(window):
		return StatusStalled
	case lagGrewThroughout(window):
		return StatusWarning
	}
	return StatusOK
}

// anyCaughtUp reports whether lag was 0 in a readable sample.
func anyCaughtUp(window []Sample) bool {
	for _, s := range window {
		if s.Err == nil && s.Lag() == 0 {
			return true
		}
	}
	return false
}

// committedStill reports whether every sample has the same committed
// offset.
func committedStill(window []Sample) bool {
	for _, s := range window[1:] {
		if s.Committed != window[0].Committed {
			return false
		}
	}
	return true
}

// lagGrewThroughout reports whether lag grew from each readable sample to
// the next; an unreadable sample breaks the trend.
func lagGrewThroughout(window []Sample) bool {
	for i := 1; i < len(window); i++ {
		prev, cur := window[i-1], window[i]
		if prev.Err != nil || cur.Err != nil || cur.Lag() <= prev.Lag() {
			return false
		}
	}
	return true
}
