package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// runConsume is `fjord bench consume`: read o.Records records from the log
// start of every partition.
func runConsume(ctx context.Context, o Options, stderr io.Writer) (Summary, error) {
	offsets, err := listOffsets(ctx, o)
	if err != nil {
		return Summary{}, err
	}
	if available := offsets.available(); available < o.Records {
		return Summary{}, fmt.Errorf("topic %q holds %d records, fewer than --records %d", o.Topic, available, o.Records)
	}
	opts := []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: offsets.consumeFrom(false)})}
	if o.ReadCommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := newClient(o, opts...)
	if err != nil {
		return Summary{}, err
	}
	defer cl.Close()

	m := newMeter(0, false)
	stopProgress := func() {}
	if !o.Quiet {
		stopProgress = startProgress(ctx, ModeConsume, o.Records, m, stderr)
	}
	defer stopProgress()
	start := time.Now()
	err = consumeRecords(ctx, cl, o, func(r *kgo.Record) bool {
		m.add(1, int64(len(r.Key)+len(r.Value)))
		return m.records.Load() < o.Records
	})
	elapsed := time.Since(start)
	if err != nil {
		return Summary{}, fmt.Errorf("consuming %q after %d records: %w", o.Topic, m.records.Load(), err)
	}
	return newSummary(ModeConsume, m.records.Load(), m.bytes.Load(), elapsed, nil), nil
}

// errNoProgress is returned when no record arrives within --timeout.
var errNoProgress = errors.New("no record arrived within --timeout")

// consumeRecords polls until each returns false. A poll that brings nothing
// within o.Timeout ends the run: the records it waits for are not coming.
func consumeRecords(ctx context.Context, cl *kgo.Client, o Options, each func(*kgo.Record) bool) error {
	for {
		pollCtx, cancel := context.WithTimeout(ctx, o.Timeout)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		var fetchErr error
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w (%v)", errNoProgress, o.Timeout)
			}
			fetchErr = errors.Join(fetchErr, fmt.Errorf("partition %d: %w", partition, err))
		})
		if fetchErr != nil {
			return fetchErr
		}
		for it := fetches.RecordIter(); !it.Done(); {
			if !each(it.Next()) {
				return nil
			}
		}
	}
}

// partitionOffsets is the log start and log end offset of each partition.
type partitionOffsets map[int32]struct{ start, end int64 }

// available is the number of records between the starts and the ends.
func (p partitionOffsets) available() int64 {
	var n int64
	for _, o := range p {
		n += max(o.end-o.start, 0)
	}
	return n
}

// consumeFrom returns kgo start positions: each partition's log start, or
// with fromEnd its log end.
func (p partitionOffsets) consumeFrom(fromEnd bool) map[int32]kgo.Offset {
	at := make(map[int32]kgo.Offset, len(p))
	for partition, o := range p {
		offset := o.start
		if fromEnd {
			offset = o.end
		}
		at[partition] = kgo.NewOffset().At(offset)
	}
	return at
}

// listOffsets lists the log start and end offsets of every partition of
// o.Topic.
func listOffsets(ctx context.Context, o Options) (partitionOffsets, error) {
	cl, err := newClient(o)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	adm := kadm.NewClient(cl)
	startOffsets, err := adm.ListStartOffsets(ctx, o.Topic)
	if err == nil {
		err = startOffsets.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing start offsets of %q: %w", o.Topic, err)
	}
	endOffsets, err := adm.ListEndOffsets(ctx, o.Topic)
	if err == nil {
		err = endOffsets.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %q: %w", o.Topic, err)
	}
	offsets := make(partitionOffsets)
	startOffsets.Each(func(lo kadm.ListedOffset) {
		end, ok := endOffsets.Lookup(lo.Topic, lo.Partition)
		if ok {
			offsets[lo.Partition] = struct{ start, end int64 }{lo.Offset, end.Offset}
		}
	})
	if len(offsets) == 0 {
		return nil, fmt.Errorf("topic %q does not exist or has no partitions", o.Topic)
	}
	return offsets, nil
}
