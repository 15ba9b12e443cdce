package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeOptions is the parsed command line of `fjord consume`.
type consumeOptions struct {
	topic         string
	group         string // "": read partitions directly, commit nothing
	from          fromSpec
	partition     int32 // -1: every partition
	count         int64 // 0: no limit
	follow        bool
	readCommitted bool
	format        recordFormat
}

const consumeSynopsis = "fjord consume TOPIC [--group G] [--from beginning|end|OFFSET|@MS|RFC3339] [--partition N] [--count N] [--follow] " +
	"[--isolation read_uncommitted|read_committed] [--format json|TEMPLATE]"

// Consume runs `fjord consume TOPIC`: it reads partitions directly, or as
// a member of --group, and prints each record with --format.
func Consume(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord consume", consumeSynopsis, stderr)
	var conn connFlags
	conn.register(fs)
	group := fs.String("group", "", "consume as a member of consumer group `G`, committing the offsets of the records printed "+
		"(--from then applies to partitions without a committed offset)")
	from := fs.String("from", "end", "where to start: beginning, end, an offset, @MILLISECONDS or an RFC 3339 time")
	partition := fs.Int("partition", -1, "read only partition `N` (default: all; not with --group)")
	count := fs.Int64("count", 0, "exit after `N` records (default: no limit)")
	follow := fs.Bool("follow", false, "keep waiting for new records instead of exiting at the end offsets seen at start")
	isolation := fs.String("isolation", isolationReadUncommitted, "isolation.level: read_uncommitted, or read_committed to skip records of aborted and open transactions")
	format := fs.String("format", DefaultFormat, `output: "json" for one JSON object per record, or a template: `+
		"%t topic, %p partition, %o offset, %k key, %v value, %T timestamp ms, %h headers")
	topics, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(topics) != 1 {
		return usagef(fs, "exactly one TOPIC required, got %d", len(topics))
	}
	opts := consumeOptions{topic: topics[0], group: *group, count: *count, follow: *follow}
	if err := opts.check(*from, *partition, *isolation, *format); err != nil {
		return usagef(fs, "%v", err)
	}
	seeds, err := conn.validate()
	if err != nil {
		return usagef(fs, "%v", err)
	}
	if opts.group != "" {
		n, err := consumeGroup(ctx, seeds, conn, opts, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "consumed %d records from topic %q as group %q\n", n, opts.topic, opts.group)
		return nil
	}
	n, err := consume(ctx, seeds, conn, opts, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "consumed %d records from topic %q\n", n, opts.topic)
	return nil
}

// Kafka's isolation.level values.
const (
	isolationReadUncommitted = "read_uncommitted"
	isolationReadCommitted   = "read_committed"
)

// check fills in the options that need parsing and refuses combinations
// that mean nothing.
func (o *consumeOptions) check(from string, partition int, isolation, format string) error {
	var err error
	if o.from, err = parseFrom(from); err != nil {
		return err
	}
	if partition < -1 || partition > maxPartitions {
		return fmt.Errorf("--partition must be between 0 and %d, got %d", maxPartitions, partition)
	}
	if partition >= 0 && o.group != "" {
		return errors.New("--partition cannot be used with --group: the group assigns the partitions")
	}
	o.partition = int32(partition)
	if o.count < 0 {
		return fmt.Errorf("--count must not be negative, got %d", o.count)
	}
	switch isolation {
	case isolationReadUncommitted:
	case isolationReadCommitted:
		o.readCommitted = true
	default:
		return fmt.Errorf("--isolation must be %s or %s, got %q", isolationReadUncommitted, isolationReadCommitted, isolation)
	}
	o.format, err = parseFormat(format)
	return err
}

// isolationLevel is the client setting for --isolation.
func (o consumeOptions) isolationLevel() kgo.IsolationLevel {
	if o.readCommitted {
		return kgo.ReadCommitted()
	}
	return kgo.ReadUncommitted()
}

// partitionRange is where consumption of one partition starts, and the log
// end offset captured at start where it stops without --follow (the last
// stable offset with read_committed).
type partitionRange struct {
	start, end int64
	logStart   int64 // filled in for a group member only
}

func consume(ctx context.Context, seeds []string, conn connFlags, opts consumeOptions, stdout io.Writer) (int64, error) {
	meta, err := newAdmin(conn, seeds)
	if err != nil {
		return 0, err
	}
	ranges, err := planConsume(ctx, meta, seeds, conn, opts)
	meta.Close()
	if err != nil {
		return 0, err
	}
	remaining := make(map[int32]int64, len(ranges))
	assign := make(map[int32]kgo.Offset, len(ranges))
	for p, r := range ranges {
		if r.start < r.end {
			remaining[p] = r.end
		}
		// Without --follow a partition already at its end has nothing to
		// give; fetching it would only cost requests.
		if opts.follow || r.start < r.end {
			assign[p] = kgo.NewOffset().At(r.start)
		}
	}
	if !opts.follow && len(remaining) == 0 {
		return 0, nil
	}
	cl, err := newClient(conn, seeds,
		// Control records (transaction markers) are read so that a
		// partition whose last offsets are markers still reaches its end;
		// they are not printed.
		kgo.KeepControlRecords(),
		kgo.FetchIsolationLevel(opts.isolationLevel()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{opts.topic: assign}),
		// A start offset below the log start (retention deleted it) begins
		// at the earliest record still there.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	return pollRecords(ctx, cl, conn, opts, remaining, stdout)
}

// planConsume checks the topic and partition and turns --from into a start
// offset per partition, together with the end offsets at this moment.
func planConsume(ctx context.Context, adm *kadm.Client, seeds []string, conn connFlags, opts consumeOptions) (map[int32]partitionRange, error) {
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	details, err := adm.ListTopicsWithInternal(ctx, opts.topic)
	if err != nil {
		return nil, describeRequestError(ctx, fmt.Sprintf("looking up topic %q", opts.topic), seeds, conn.timeout, err)
	}
	d, ok := details[opts.topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return nil, fmt.Errorf("topic %q does not exist (%s)", opts.topic, kerr.UnknownTopicOrPartition.Message)
	}
	if d.Err != nil {
		return nil, fmt.Errorf("looking up topic %q: %s", opts.topic, kafkaErrorName(d.Err))
	}
	partitions := d.Partitions.Numbers()
	if opts.partition >= 0 {
		if !slices.Contains(partitions, opts.partition) {
			return nil, fmt.Errorf("topic %q has %d partitions, so partition %d does not exist", opts.topic, len(partitions), opts.partition)
		}
		partitions = []int32{opts.partition}
	}
	// read_committed ends at the last stable offset: records past it are
	// in transactions still open, which this consumer cannot read yet.
	endsOf, what := adm.ListEndOffsets, "log end"
	if opts.readCommitted {
		endsOf, what = adm.ListCommittedOffsets, "last stable"
	}
	ends, err := listOffsets(ctx, opts.topic, what, func() (kadm.ListedOffsets, error) { return endsOf(ctx, opts.topic) })
	if err != nil {
		return nil, err
	}
	var starts map[int32]int64
	switch opts.from.kind {
	case fromEnd:
		starts = ends
	case fromBeginning:
		starts, err = listOffsets(ctx, opts.topic, "log start", func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctx, opts.topic) })
	case fromTimestamp:
		starts, err = listOffsets(ctx, opts.topic, "timestamp", func() (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, opts.from.timestampMs, opts.topic)
		})
	case fromOffset:
		starts = make(map[int32]int64, len(partitions))
		for _, p := range partitions {
			starts[p] = opts.from.offset
		}
	}
	if err != nil {
		return nil, err
	}
	ranges := make(map[int32]partitionRange, len(partitions))
	for _, p := range partitions {
		end, ok := ends[p]
		if !ok {
			return nil, fmt.Errorf("no log end offset for partition %d of topic %q", p, opts.topic)
		}
		start, ok := starts[p]
		if !ok || start < 0 || start > end {
			// No record at or after the timestamp (Kafka answers -1), or an
			// offset past the end: start at the end, where a consumer
			// resetting to "latest" would, rather than let the client's
			// out-of-range reset replay the whole log.
			start = end
		}
		ranges[p] = partitionRange{start: start, end: end}
	}
	return ranges, nil
}

// listOffsets runs one ListOffsets lookup and flattens it to partition ->
// offset, failing on any partition error.
func listOffsets(ctx context.Context, topic, what string, list func() (kadm.ListedOffsets, error)) (map[int32]int64, error) {
	listed, err := list()
	if err != nil {
		return nil, fmt.Errorf("listing %s offsets of topic %q: %w", what, topic, err)
	}
	offsets := make(map[int32]int64)
	var firstErr error
	listed.Each(func(o kadm.ListedOffset) {
		if o.Topic != topic {
			return
		}
		if o.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("listing %s offset of partition %d of topic %q: %s", what, o.Partition, topic, kafkaErrorName(o.Err))
		}
		offsets[o.Partition] = o.Offset
	})
	return offsets, firstErr
}

// pollRecords prints records until --count is reached, every partition in
// remaining reached its end offset (without --follow), or ctx ends. Without
// --follow each wait for records is bounded by --timeout, so a consumer
// that cannot make progress fails instead of hanging.
func pollRecords(ctx context.Context, cl *kgo.Client, conn connFlags, opts consumeOptions, remaining map[int32]int64, stdout io.Writer) (int64, error) {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var buf []byte
	var n int64
	for {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if !opts.follow {
			pollCtx, cancel = context.WithTimeout(ctx, conn.timeout)
		}
		fetches := cl.PollFetches(pollCtx)
		cancel()
		if err := fetchError(ctx, fetches, opts); err != nil {
			if ctx.Err() != nil && opts.follow {
				return n, nil // interrupted while following: the normal way to stop
			}
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return n, fmt.Errorf("no records from topic %q within %v while %s", opts.topic, conn.timeout, describeRemaining(remaining))
			}
			return n, err
		}
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			if done {
				return
			}
			end, tracked := remaining[r.Partition]
			if !opts.follow && (!tracked || r.Offset >= end) {
				return // past the end captured at start
			}
			if r.Attrs.IsControl() {
				if tracked && r.Offset+1 >= end {
					delete(remaining, r.Partition)
				}
				return
			}
			buf = opts.format.appendRecord(buf[:0], r)
			_, _ = out.Write(buf)
			n++
			if tracked && r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
			if opts.count > 0 && n >= opts.count {
				done = true
			}
		})
		if err := out.Flush(); err != nil {
			return n, fmt.Errorf("writing records: %w", err)
		}
		if done || (!opts.follow && len(remaining) == 0) {
			return n, nil
		}
	}
}

// fetchError returns the first error of a poll, preferring the caller's
// own cancellation, with unknown-topic errors spelled out.
func fetchError(ctx context.Context, fetches kgo.Fetches, opts consumeOptions) error {
	if fetches.IsClientClosed() {
		return errors.New("client closed")
	}
	for _, fe := range fetches.Errors() {
		switch {
		case errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded):
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return context.DeadlineExceeded
		case errors.Is(fe.Err, kerr.UnknownTopicOrPartition):
			return fmt.Errorf("topic %q does not exist (%s)", opts.topic, kafkaErrorName(fe.Err))
		default:
			return fmt.Errorf("fetching partition %d of topic %q: %w", fe.Partition, fe.Topic, fe.Err)
		}
	}
	return nil
}

func describeRemaining(remaining map[int32]int64) string {
	parts := slices.Sorted(maps.Keys(remaining))
	if len(parts) == 0 {
		return "waiting for new records"
	}
	return fmt.Sprintf("waiting to reach the end of partitions %v", parts)
}
