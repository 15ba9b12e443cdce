package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeGroup runs `fjord consume TOPIC --group G`: a member of the
// group, as kafka-console-consumer's --group. A partition starts at the
// group's committed offset, or where --from says when it has none. Each
// record printed is marked, and the marks are committed every five seconds
// (franz-go's auto.commit.interval.ms), when a rebalance takes partitions
// away, and on exit: the committed offsets are those of the records
// printed, so the next member continues after them, even when --count
// stopped this one in the middle of a fetch. Without --follow the member
// exits once every partition assigned to it has reached the end offset
// seen at start.
func consumeGroup(ctx context.Context, seeds []string, conn connFlags, opts consumeOptions, stdout io.Writer) (int64, error) {
	ranges, err := planGroupConsume(ctx, seeds, conn, opts)
	if err != nil {
		return 0, err
	}
	progress := newGroupProgress(opts, ranges)
	cl, err := newClient(conn, seeds,
		kgo.ConsumerGroup(opts.group),
		kgo.ConsumeTopics(opts.topic),
		// Control records (transaction markers) are read so that the
		// committed offset moves past them, as a Java consumer's does.
		kgo.KeepControlRecords(),
		kgo.FetchIsolationLevel(opts.isolationLevel()),
		// Kafka's fetch.max.wait.ms rather than franz-go's 5s: a fetch
		// for the partitions ready first (at their end) would otherwise
		// hold back one whose committed offset is still being validated.
		kgo.FetchMaxWait(500*time.Millisecond),
		// progress.adjust sets where each partition without a committed
		// offset starts; a committed offset below the log start (retention
		// deleted it) resumes at the log start.
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		// No rebalance while a poll's records are printed and marked, so
		// that the commit on revocation includes them all.
		kgo.BlockRebalanceOnPoll(),
		kgo.AdjustFetchOffsetsFn(progress.adjust),
		kgo.OnPartitionsRevoked(progress.revoked),
		kgo.OnPartitionsLost(progress.lost),
	)
	if err != nil {
		return 0, err
	}
	n, err := pollGroup(ctx, cl, conn, opts, progress, stdout)
	commitErr := commitPrinted(cl, conn, opts, progress)
	cl.AllowRebalance()
	cl.Close() // leaves the group, so that the partitions go to other members now
	if err != nil {
		return n, err
	}
	return n, commitErr
}

// planGroupConsume is planConsume for every partition, with the log start
// offsets, below which a committed offset cannot resume.
func planGroupConsume(ctx context.Context, seeds []string, conn connFlags, opts consumeOptions) (map[int32]partitionRange, error) {
	adm, err := newAdmin(conn, seeds)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	ranges, err := planConsume(ctx, adm, seeds, conn, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	starts, err := listOffsets(ctx, opts.topic, "log start", func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctx, opts.topic) })
	if err != nil {
		return nil, err
	}
	for p, r := range ranges {
		r.logStart = starts[p]
		ranges[p] = r
	}
	return ranges, nil
}

// commitPrinted commits the offsets of the records printed, even after
// ctx ended (Ctrl-C is the usual way to stop a follower), bounded by
// --timeout.
func commitPrinted(cl *kgo.Client, conn connFlags, opts consumeOptions, progress *groupProgress) error {
	ctx, cancel := context.WithTimeout(context.Background(), conn.timeout)
	defer cancel()
	err := cl.CommitMarkedOffsets(ctx)
	revokeErr := progress.finish()
	if err != nil {
		return fmt.Errorf("committing the offsets of group %q: %w", opts.group, err)
	}
	if revokeErr != nil {
		return fmt.Errorf("committing the offsets of group %q when a rebalance took partitions away "+
			"(their last records may be read again): %w", opts.group, revokeErr)
	}
	return nil
}

// pollGroup prints records until --count is reached, every partition
// assigned reached its end (without --follow), or ctx ends, and marks the
// records printed for commit once they are written out.
func pollGroup(ctx context.Context, cl *kgo.Client, conn connFlags, opts consumeOptions, progress *groupProgress, stdout io.Writer) (int64, error) {
	out := bufio.NewWriter(stdout)
	var buf []byte
	var n int64
	var written []*kgo.Record
	for {
		pollCtx, endPoll := progress.pollContext(ctx, conn.timeout)
		fetches := cl.PollFetches(pollCtx)
		endPoll()
		stop := false
		written = written[:0]
		fetches.EachRecord(func(r *kgo.Record) {
			if stop || !progress.wanted(r) {
				return
			}
			progress.advance(r)
			written = append(written, r)
			if r.Attrs.IsControl() {
				return
			}
			buf = opts.format.appendRecord(buf[:0], r)
			_, _ = out.Write(buf)
			n++
			stop = opts.count > 0 && n >= opts.count
		})
		err := out.Flush()
		if err == nil {
			cl.MarkCommitRecords(written...)
		}
		cl.AllowRebalance()
		if err != nil {
			return n, fmt.Errorf("writing records: %w", err)
		}
		if stop || progress.done() {
			return n, nil
		}
		if err := fetchError(ctx, fetches, opts); err != nil {
			if ctx.Err() != nil && opts.follow {
				return n, nil // interrupted while following: the normal way to stop
			}
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return n, fmt.Errorf("no records from topic %q within %v while %s", opts.topic, conn.timeout, progress.describe(opts.group))
			}
			return n, err
		}
	}
}

// groupProgress is where a group member stands in each partition assigned
// to it, against the end offsets captured at start. The group management
// goroutine (adjust, revoked, lost) and the poll loop share it, hence the
// mutex; ranges is read-only after construction.
type groupProgress struct {
	topic       string
	follow      bool
	ranges      map[int32]partitionRange
	startOffset kgo.Offset // --from, for partitions created after start

	mu struct {
		sync.Mutex
		position  map[int32]int64    // each assigned partition: the next offset to read
		assigned  bool               // partitions were assigned at least once
		wake      context.CancelFunc // ends the poll in flight; nil between polls
		revokeErr error              // the first commit on revocation that failed
		finished  bool               // consumption ended; later commits are Close's
	}
}

func newGroupProgress(opts consumeOptions, ranges map[int32]partitionRange) *groupProgress {
	p := &groupProgress{topic: opts.topic, follow: opts.follow, ranges: ranges, startOffset: opts.from.offsetOption()}
	p.mu.position = make(map[int32]int64)
	return p
}

// adjust is kgo's AdjustFetchOffsetsFn: it gets the offsets each newly
// assigned partition starts at (the committed one, or the AtStart
// placeholder of ConsumeStartOffset when the group has none), replaces the
// placeholders by the start --from gave, and notes each position.
func (p *groupProgress) adjust(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for partition, o := range offsets[p.topic] {
		r, planned := p.ranges[partition]
		committed := o.EpochOffset().Offset // negative for the placeholder
		switch {
		case committed >= 0 && planned:
			p.mu.position[partition] = max(committed, r.logStart)
		case planned:
			offsets[p.topic][partition] = kgo.NewOffset().At(r.start)
			p.mu.position[partition] = r.start
		case committed < 0:
			offsets[p.topic][partition] = p.startOffset
		}
	}
	p.mu.assigned = true
	p.wakeIfDoneLocked()
	return offsets, nil
}

// revoked is kgo's OnPartitionsRevoked: it commits what was printed from
// the partitions before they go, as kgo's default does.
func (p *groupProgress) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	err := cl.CommitMarkedOffsets(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil && p.mu.revokeErr == nil && !p.mu.finished {
		p.mu.revokeErr = err
	}
	p.removeLocked(revoked[p.topic])
}

// lost is kgo's OnPartitionsLost: the member was dropped from the group,
// so a commit would fail; the rejoin assigns partitions anew.
func (p *groupProgress) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(lost[p.topic])
}

func (p *groupProgress) removeLocked(partitions []int32) {
	for _, partition := range partitions {
		delete(p.mu.position, partition)
	}
	p.wakeIfDoneLocked()
}

// wanted reports whether r is to be printed: without --follow, only
// records below the end offsets seen at start are.
func (p *groupProgress) wanted(r *kgo.Record) bool {
	if p.follow {
		return true
	}
	rg, ok := p.ranges[r.Partition]
	return ok && r.Offset < rg.end
}

// advance notes that r was read.
func (p *groupProgress) advance(r *kgo.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, assigned := p.mu.position[r.Partition]; assigned {
		p.mu.position[r.Partition] = r.Offset + 1
	}
}

// done reports whether a member without --follow has read all it will.
func (p *groupProgress) done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.doneLocked()
}

func (p *groupProgress) doneLocked() bool {
	if p.follow || !p.mu.assigned {
		return false
	}
	for partition, position := range p.mu.position {
		if position < p.ranges[partition].end {
			return false
		}
	}
	return true
}

func (p *groupProgress) wakeIfDoneLocked() {
	if p.mu.wake != nil && p.doneLocked() {
		p.mu.wake()
	}
}

// pollContext is the context of the next poll: bounded by timeout without
// --follow, and ended as soon as the member is done, which a rebalance can
// decide while the poll waits for records that will not come.
func (p *groupProgress) pollContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	var pollCtx context.Context
	var cancel context.CancelFunc
	if p.follow {
		pollCtx, cancel = context.WithCancel(ctx)
	} else {
		pollCtx, cancel = context.WithTimeout(ctx, timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.doneLocked() {
		cancel()
	}
	p.mu.wake = cancel
	return pollCtx, func() {
		p.mu.Lock()
		p.mu.wake = nil
		p.mu.Unlock()
		cancel()
	}
}

// finish marks the end of consumption and returns the first failed commit
// on revocation.
func (p *groupProgress) finish() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.finished = true
	return p.mu.revokeErr
}

// describe says what a member that got no records was waiting for.
func (p *groupProgress) describe(group string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.assigned {
		return fmt.Sprintf("waiting for group %q to assign partitions to this member", group)
	}
	var behind []int32
	for partition, position := range p.mu.position {
		if position < p.ranges[partition].end {
			behind = append(behind, partition)
		}
	}
	if len(behind) == 0 && len(p.mu.position) == 0 {
		return fmt.Sprintf("group %q assigned no partitions to this member", group)
	}
	slices.Sort(behind)
	return fmt.Sprintf("waiting to reach the end of partitions %v", behind)
}

// positions returns a copy of the positions, for tests.
func (p *groupProgress) positions() map[int32]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.mu.position)
}
