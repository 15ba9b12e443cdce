package streams

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partitionQueue is the polled records of one input partition of a task.
type partitionQueue struct {
	records []*kgo.Record
}

// processFetches runs polled records through their tasks. A task reading
// several partitions takes, each time, the head record with the smallest
// timestamp, so that joins and merges see records in time order across
// partitions while each partition keeps its own order.
func (th *streamThread) processFetches(fetches kgo.Fetches) error {
	queues := make(map[*task][]*partitionQueue)
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		sub := th.app.topicSubtopology[p.Topic]
		if sub == nil {
			return
		}
		id := TaskID{Subtopology: sub.id, Partition: p.Partition}
		tk := th.tasks[id]
		if tk == nil {
			// Not this thread's any more: the group moved it, and its
			// next owner starts from the committed offset.
			th.app.logf("streams: %s skips %d records of %s-%d from offset %d: no task %s here (assigned %v)",
				th.name(), len(p.Records), p.Topic, p.Partition, p.Records[0].Offset, id, th.assigned)
			return
		}
		queues[tk] = append(queues[tk], &partitionQueue{records: p.Records})
	})
	for tk, qs := range queues {
		if err := th.processTask(tk, qs); err != nil {
			return err
		}
	}
	return nil
}

func (th *streamThread) processTask(tk *task, qs []*partitionQueue) error {
	var in inputRecord
	for {
		best := -1
		var bestTime int64
		for i, q := range qs {
			if len(q.records) == 0 {
				continue
			}
			ts := th.app.timestampOf(q.records[0])
			if best < 0 || ts < bestTime {
				best, bestTime = i, ts
			}
		}
		if best < 0 {
			return nil
		}
		rec := qs[best].records[0]
		qs[best].records = qs[best].records[1:]
		if bestTime < 0 {
			tk.env.counters.droppedInvalidTimestamp.Add(1)
			continue
		}
		in = inputRecord{topic: rec.Topic, partition: rec.Partition, offset: rec.Offset, key: rec.Key, value: rec.Value, timestamp: bestTime}
		if len(rec.Headers) > 0 {
			in.headers = make([]Header, len(rec.Headers))
			for i, h := range rec.Headers {
				in.headers[i] = Header{Key: h.Key, Value: h.Value}
			}
		}
		if err := tk.process(&in); err != nil {
			return fmt.Errorf("streams: task %s: %w", tk.id, err)
		}
	}
}
