package streams

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaCollector sends a stream thread's records with its producer and
// remembers, per partition, the offset after the last acknowledged record,
// which is where a changelog's restoration resumes after the next commit.
//
// send is called by the thread's goroutine; the acknowledgements arrive on
// franz-go's goroutines, hence the mutex.
type kafkaCollector struct {
	ctx    context.Context
	client *kgo.Client
	// sends counts the records sent; the thread's goroutine, which calls
	// send, is the only one to read it.
	sends int64

	mu struct {
		sync.Mutex
		next map[topicPartition]int64
		err  error
	}
}

type topicPartition struct {
	topic     string
	partition int32
}

func newKafkaCollector(ctx context.Context, client *kgo.Client) *kafkaCollector {
	c := &kafkaCollector{ctx: ctx, client: client}
	c.mu.next = make(map[topicPartition]int64)
	return c
}

func (c *kafkaCollector) send(topic string, partition int32, key, value []byte, headers []Header, timestampMs int64) {
	rec := &kgo.Record{Topic: topic, Partition: partition, Key: key, Value: value, Timestamp: fromMillis(timestampMs)}
	if len(headers) > 0 {
		rec.Headers = make([]kgo.RecordHeader, len(headers))
		for i, h := range headers {
			rec.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	c.sends++
	c.client.Produce(c.ctx, rec, c.acknowledged)
}

func (c *kafkaCollector) acknowledged(r *kgo.Record, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.mu.err == nil {
			c.mu.err = err
		}
		return
	}
	tp := topicPartition{r.Topic, r.Partition}
	if r.Offset+1 > c.mu.next[tp] {
		c.mu.next[tp] = r.Offset + 1
	}
}

// takeError returns and clears the first failed send since the last call.
func (c *kafkaCollector) takeError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.mu.err
	c.mu.err = nil
	return err
}

// nextOffset is the offset after the last acknowledged record of a partition.
func (c *kafkaCollector) nextOffset(topic string, partition int32) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, ok := c.mu.next[topicPartition{topic, partition}]
	return next, ok
}

// forget drops what the collector knows of a task's partitions when the task
// leaves the thread.
func (c *kafkaCollector) forget(topic string, partition int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.mu.next, topicPartition{topic, partition})
}
