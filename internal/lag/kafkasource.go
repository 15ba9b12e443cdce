package lag

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// fetchMaxBytes keeps the Fetch for a record's timestamp small: the
	// broker still returns the first whole batch when it is larger
	// (KIP-74).
	fetchMaxBytes = 64 << 10
	// maxTimestampReads bounds the Fetches spent skipping transaction
	// markers and aborted or compacted ranges to reach the first record.
	maxTimestampReads = 8
)

// KafkaSource reads any Kafka cluster through a client: ListGroups,
// DescribeGroups, OffsetFetch and ListOffsets through kadm, and a small Fetch
// from the partition's leader for a record's timestamp. It reports every
// group of the cluster. A group DescribeGroups cannot describe (a KIP-848
// group on a cluster that describes those only with ConsumerGroupDescribe)
// has Members -1, unknown, so it is never STOPPED for want of members.
func KafkaSource(cl *kgo.Client) Source {
	return &kafkaSource{cl: cl, adm: kadm.NewClient(cl)}
}

type kafkaSource struct {
	cl  *kgo.Client
	adm *kadm.Client
}

func (s *kafkaSource) Groups(ctx context.Context) ([]GroupInfo, error) {
	listed, err := s.adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	names := listed.Groups()
	if len(names) == 0 {
		return nil, nil
	}
	described, err := s.adm.DescribeGroups(ctx, names...)
	if err != nil && len(described) == 0 {
		return nil, fmt.Errorf("describe groups: %w", err)
	}
	out := make([]GroupInfo, 0, len(names))
	for _, name := range names {
		info := GroupInfo{Group: name, State: listed[name].State, Members: -1}
		if d, ok := described[name]; ok && d.Err == nil {
			info.State, info.Members = d.State, len(d.Members)
		}
		out = append(out, info)
	}
	return out, nil
}

func (s *kafkaSource) Committed(ctx context.Context, group string) (map[TopicPartition]int64, error) {
	resps, err := s.adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	out := map[TopicPartition]int64{}
	for topic, parts := range resps {
		for p, r := range parts {
			if r.Err == nil && r.At >= 0 {
				out[TopicPartition{Topic: topic, Partition: p}] = r.At
			}
		}
	}
	return out, nil
}

func (s *kafkaSource) EndOffsets(ctx context.Context, partitions []TopicPartition) (map[TopicPartition]EndOffset, error) {
	topics := map[string]bool{}
	for _, tp := range partitions {
		topics[tp.Topic] = true
	}
	if len(topics) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	listed, err := s.adm.ListEndOffsets(ctx, names...)
	if err != nil && len(listed) == 0 {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	out := make(map[TopicPartition]EndOffset, len(partitions))
	listed.Each(func(o kadm.ListedOffset) {
		out[TopicPartition{Topic: o.Topic, Partition: o.Partition}] = EndOffset{Offset: o.Offset, Err: o.Err}
	})
	return out, nil
}

func (s *kafkaSource) RecordTimestamp(ctx context.Context, tp TopicPartition, offset, end int64) (time.Time, bool, error) {
	md, err := s.adm.Metadata(ctx, tp.Topic)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("metadata of %s: %w", tp.Topic, err)
	}
	t, ok := md.Topics[tp.Topic]
	if !ok || t.Err != nil {
		return time.Time{}, false, fmt.Errorf("metadata of %s: %v", tp.Topic, t.Err)
	}
	pd, ok := t.Partitions[tp.Partition]
	if !ok || pd.Leader < 0 {
		return time.Time{}, false, fmt.Errorf("%s-%d has no leader", tp.Topic, tp.Partition)
	}
	return ReadFirstRecordTime(offset, end, func(from int64) ([]byte, error) {
		return s.fetch(ctx, pd.Leader, t.ID, tp, from)
	})
}

// fetch reads a few batches of tp from its leader, starting at from.
func (s *kafkaSource) fetch(ctx context.Context, leader int32, id kadm.TopicID, tp TopicPartition, from int64) ([]byte, error) {
	kresp, err := s.cl.Broker(int(leader)).Request(ctx, FetchRequest(tp, id, from))
	if err != nil {
		return nil, fmt.Errorf("fetch %s-%d from broker %d: %w", tp.Topic, tp.Partition, leader, err)
	}
	return FetchedBatches(kresp.(*kmsg.FetchResponse), tp, from)
}

// FetchRequest is a consumer's Fetch (read_uncommitted, no session, no
// wait) of a few batches of tp from offset from. Both the topic's name and
// id are set: the version sent decides which counts.
func FetchRequest(tp TopicPartition, topicID [16]byte, from int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 0, 1, fetchMaxBytes
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = tp.Topic, topicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = tp.Partition, from, fetchMaxBytes
	rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// FetchedBatches returns tp's record batches from a response to
// FetchRequest, or its error.
func FetchedBatches(resp *kmsg.FetchResponse, tp TopicPartition, from int64) ([]byte, error) {
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("fetch %s-%d: %w", tp.Topic, tp.Partition, err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.Partition != tp.Partition {
				continue
			}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("fetch %s-%d at %d: %w", tp.Topic, tp.Partition, from, err)
			}
			return p.RecordBatches, nil
		}
	}
	return nil, fmt.Errorf("fetch %s-%d: partition missing from the response", tp.Topic, tp.Partition)
}

// ReadFirstRecordTime calls read (a Fetch from an offset) until it finds
// the first data record at or after offset and below end, at most
// maxTimestampReads times.
func ReadFirstRecordTime(offset, end int64, read func(from int64) ([]byte, error)) (time.Time, bool, error) {
	from := offset
	for range maxTimestampReads {
		if from >= end {
			return time.Time{}, false, nil
		}
		batches, err := read(from)
		if err != nil {
			return time.Time{}, false, err
		}
		ts, found, next, err := FirstRecordTime(batches, from, end)
		if err != nil || found {
			return ts, found, err
		}
		if next <= from {
			return time.Time{}, false, fmt.Errorf("read at offset %d: %w", from, ErrNoProgress)
		}
		from = next
	}
	return time.Time{}, false, fmt.Errorf("no record found in %d reads from offset %d", maxTimestampReads, offset)
}
