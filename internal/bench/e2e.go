package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runE2E is `fjord bench e2e`: one producer writes records whose first 8
// bytes are the send time (Unix nanoseconds, big-endian) while a consumer,
// positioned at the log end offsets seen before the first send, reads them
// back. Latency is receipt time minus send time on the same host clock.
func runE2E(ctx context.Context, o Options, stderr io.Writer) (Summary, error) {
	if err := ensureTopic(ctx, o); err != nil {
		return Summary{}, err
	}
	offsets, err := listOffsets(ctx, o)
	if err != nil {
		return Summary{}, err
	}
	consumer, err := newClient(o, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: offsets.consumeFrom(true)}))
	if err != nil {
		return Summary{}, err
	}
	defer consumer.Close()
	producer, err := newClient(o, producerOptions(o)...)
	if err != nil {
		return Summary{}, err
	}
	defer producer.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	failure := &firstError{cancel: cancel}
	m := newMeter(1, true)
	stopProgress := func() {}
	if !o.Quiet {
		stopProgress = startProgress(ctx, ModeE2E, o.Records, m, stderr)
	}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		err := consumeRecords(ctx, consumer, o, func(r *kgo.Record) bool {
			if len(r.Value) >= e2eMinRecordBytes {
				sent := int64(binary.BigEndian.Uint64(r.Value))
				m.recorders[0].record(time.Duration(time.Now().UnixNano() - sent))
			}
			m.add(1, int64(len(r.Key)+len(r.Value)))
			return m.records.Load() < o.Records
		})
		if err != nil {
			failure.set(fmt.Errorf("consuming: %w", err))
		}
	})
	wg.Go(func() {
		if err := produceTimestamped(ctx, producer, o); err != nil {
			failure.set(fmt.Errorf("producing: %w", err))
		}
	})
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	if err := failure.get(); err != nil {
		return Summary{}, fmt.Errorf("e2e on %q after %d records: %w", o.Topic, m.records.Load(), err)
	}
	return newSummary(ModeE2E, m.records.Load(), m.bytes.Load(), elapsed, m.latency()), nil
}

// produceTimestamped writes o.Records records at o.RecordsPerSecond, each
// value its own buffer since each carries its own send time.
func produceTimestamped(ctx context.Context, cl *kgo.Client, o Options) error {
	var mu sync.Mutex
	var firstErr error
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	}
	filler := payload(o.RecordBytes)
	start := time.Now()
	for i := range o.Records {
		if o.RecordsPerSecond > 0 && !waitUntil(ctx, start.Add(time.Duration(float64(i)/o.RecordsPerSecond*float64(time.Second)))) {
			break
		}
		value := make([]byte, o.RecordBytes)
		copy(value, filler)
		binary.BigEndian.PutUint64(value, uint64(time.Now().UnixNano()))
		cl.Produce(ctx, &kgo.Record{Value: value}, promise)
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return firstErr
}
