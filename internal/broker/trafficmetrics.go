package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/recordbatch"
)

// Per-topic traffic metrics (internal/metrics) of Produce and Fetch. Only
// topics that exist get series: a client naming made-up topics must not
// grow the exposition. Errors a produce meets after its handler (a failed
// fsync, acks=all timing out) are counted per API and code by the server,
// not as failed produce requests here.

// countProduced counts the partitions of one topic of a produce request
// once the handler has answered them.
func (b *Broker) countProduced(name string, rt *kmsg.ProduceRequestTopic, out *kmsg.ProduceResponseTopic) {
	if name == "" || b.opts.Metrics == nil {
		return
	}
	tm := b.opts.Metrics.Topic(name)
	for pi := range out.Partitions {
		records := rt.Partitions[pi].Records
		failed := out.Partitions[pi].ErrorCode != 0
		count := 0
		if h, err := recordbatch.ParseHeader(records); err == nil && !failed {
			count = int(h.RecordCount)
		}
		tm.Produced(len(records), count, failed)
	}
}

// countFetched counts what a fetch response carries: per topic for a
// consumer, as replication bytes for a follower.
func (f *fetch) countFetched() {
	m := f.b.opts.Metrics
	if m == nil {
		return
	}
	if f.replica >= 0 {
		m.ReplicationBytesOut(f.responseRecordBytes())
		return
	}
	var img *metadata.Image
	i := 0
	for ti := range f.resp.Topics {
		out := &f.resp.Topics[ti]
		name := ""
		for pi := range out.Partitions {
			if p := f.parts[i+pi]; p != nil {
				name = p.Topic
				break
			}
		}
		if name == "" {
			// No partition of the topic is led here: name it only if it
			// exists.
			if img == nil {
				img = f.b.meta.Image()
			}
			name, _ = fetchTopicName(img, f.req.Version, f.req.Topics[ti])
		}
		if name == "" {
			i += len(out.Partitions)
			continue
		}
		tm := f.b.opts.Metrics.Topic(name)
		for pi := range out.Partitions {
			n := int64(len(out.Partitions[pi].RecordBatches))
			if i < len(f.slices) && f.slices[i].Size > 0 {
				n = f.slices[i].Size
			}
			tm.Fetched(n, out.Partitions[pi].ErrorCode != 0)
			i++
		}
	}
}

// Unwrap is the Fetch response inside, whose error codes the server
// counts (metrics.Wrapped).
func (s *splicedFetch) Unwrap() kmsg.Response { return s.FetchResponse }

// dropDeletedTopicMetrics removes the series of topics the image no
// longer has; it runs on every metadata image.
func (b *Broker) dropDeletedTopicMetrics(_, img *metadata.Image) {
	b.opts.Metrics.DropTopicsExcept(func(topic string) bool {
		_, ok := img.Topic(topic)
		return ok
	})
}
