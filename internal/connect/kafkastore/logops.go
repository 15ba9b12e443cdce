package kafkastore

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadToEnd returns once the consumer function has been given every
// record below the end offsets (last stable offsets) of the topic's
// partitions at the time of the call: Kafka's readToEnd barrier. After a
// write has been acknowledged, ReadToEnd makes it visible in the store.
func (l *Log) ReadToEnd(ctx context.Context) error {
	if !l.isRunning() {
		return ErrClosed
	}
	ends, err := l.endOffsets(ctx)
	if err != nil {
		return err
	}
	w := &endWaiter{ends: ends, ready: make(chan struct{})}
	l.mu.Lock()
	if !l.mu.running {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.reachedLocked(ends) {
		l.mu.Unlock()
		return nil
	}
	l.mu.waiters = append(l.mu.waiters, w)
	l.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-l.done:
		return ErrClosed
	case <-ctx.Done():
		l.mu.Lock()
		l.mu.waiters = slices.DeleteFunc(l.mu.waiters, func(o *endWaiter) bool { return o == w })
		l.mu.Unlock()
		return fmt.Errorf("reading topic %s to its end: %w", l.options.Topic.Name, ctx.Err())
	}
}

func (l *Log) isRunning() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.running
}

// endOffsets lists, by partition, the offset the consumer must reach: the
// end offset, or 0 for a partition with nothing left to read (its start
// offset is its end, after retention or DeleteRecords), where the
// consumer would otherwise wait for a record that never comes.
func (l *Log) endOffsets(ctx context.Context) (map[int32]int64, error) {
	topic := l.options.Topic.Name
	starts, err := l.admin.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing start offsets of topic %s: %w", topic, err)
	}
	// The last stable offsets, as the consumer reads committed records:
	// an open transaction's records are read once it ends.
	ends, err := l.admin.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of topic %s: %w", topic, err)
	}
	out := make(map[int32]int64, l.partitions)
	for p := range l.partitions {
		end, ok := ends.Lookup(topic, p)
		start, ok2 := starts.Lookup(topic, p)
		if !ok || !ok2 {
			return nil, fmt.Errorf("listing offsets of topic %s: no answer for partition %d", topic, p)
		}
		if start.Offset < end.Offset {
			out[p] = end.Offset
		}
	}
	return out, nil
}

// Send writes one record and returns where it was written once every
// in-sync replica has it.
func (l *Log) Send(ctx context.Context, key, value []byte) (Position, error) {
	positions, err := l.SendAll(ctx, []KeyValue{{Key: key, Value: value}})
	if err != nil {
		return Position{}, err
	}
	return positions[0], nil
}

// SendAll writes records, in order within each partition, and returns
// once all are acknowledged (acks=all), with their positions; on error
// some may have been written.
func (l *Log) SendAll(ctx context.Context, records []KeyValue) ([]Position, error) {
	if !l.isRunning() {
		return nil, ErrClosed
	}
	recs := make([]*kgo.Record, len(records))
	for i, kv := range records {
		recs[i] = &kgo.Record{Topic: l.options.Topic.Name, Key: kv.Key, Value: kv.Value}
	}
	if err := l.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("writing to topic %s: %w", l.options.Topic.Name, err)
	}
	positions := make([]Position, len(recs))
	for i, r := range recs {
		positions[i] = Position{Partition: r.Partition, Offset: r.Offset}
	}
	return positions, nil
}
