package replication

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// This file maps the fetcher's requests to the Kafka messages a follower
// sends its leader and the answers back; wireclient.go carries them.

// Fetch sends one replica fetch and maps the answer to the request's
// partitions. The records alias the connection's response buffer, valid
// until the next call.
func (c *wireLeaderClient) Fetch(ctx context.Context, req *FetchRequest) (*FetchResponse, error) {
	resp := kmsg.NewPtrFetchResponse()
	if err := c.roundTrip(ctx, buildFetchRequest(req), resp, req.MaxWait+replicaSocketTimeout); err != nil {
		return nil, err
	}
	return convertFetchResponse(req, resp)
}

// buildFetchRequest encodes a full (session-less) replica fetch. The
// replica id goes in both places: kmsg writes ReplicaID up to v14 and
// ReplicaState from v15 (KIP-903), whichever version was negotiated.
func buildFetchRequest(req *FetchRequest) *kmsg.FetchRequest {
	k := kmsg.NewPtrFetchRequest()
	k.ReplicaID = req.ReplicaID
	k.ReplicaState.ID, k.ReplicaState.Epoch = req.ReplicaID, req.ReplicaEpoch
	k.MaxWaitMillis = int32(req.MaxWait.Milliseconds())
	k.MinBytes, k.MaxBytes = req.MinBytes, req.MaxBytes
	k.SessionID, k.SessionEpoch = 0, -1
	index := map[TopicPartition]int{}
	for _, p := range req.Partitions {
		key := TopicPartition{Topic: p.Topic, TopicID: p.TopicID}
		i, ok := index[key]
		if !ok {
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = p.Topic, p.TopicID
			k.Topics = append(k.Topics, t)
			i = len(k.Topics) - 1
			index[key] = i
		}
		kp := kmsg.NewFetchRequestTopicPartition()
		kp.Partition, kp.CurrentLeaderEpoch, kp.FetchOffset = p.Partition, p.CurrentLeaderEpoch, int64(p.FetchOffset)
		kp.LastFetchedEpoch, kp.LogStartOffset, kp.PartitionMaxBytes = p.LastFetchedEpoch, int64(p.LogStartOffset), p.PartitionMaxBytes
		k.Topics[i].Partitions = append(k.Topics[i].Partitions, kp)
	}
	return k
}

// convertFetchResponse maps a Fetch response back to the request's
// partitions: by topic id from v13, by name before. Partitions the request
// did not ask for are dropped.
func convertFetchResponse(req *FetchRequest, resp *kmsg.FetchResponse) (*FetchResponse, error) {
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("fetch refused: %w", err)
	}
	type key struct {
		name      string
		id        [16]byte
		partition int32
	}
	asked := make(map[key]TopicPartition, len(req.Partitions))
	for _, p := range req.Partitions {
		asked[key{name: p.Topic, partition: p.Partition}] = p.TopicPartition
		asked[key{id: p.TopicID, partition: p.Partition}] = p.TopicPartition
	}
	out := &FetchResponse{}
	for _, t := range resp.Topics {
		for i := range t.Partitions {
			rp := &t.Partitions[i]
			k := key{id: t.TopicID, partition: rp.Partition}
			if resp.Version < 13 {
				k = key{name: t.Topic, partition: rp.Partition}
			}
			tp, ok := asked[k]
			if !ok {
				continue
			}
			fp := FetchedPartition{TopicPartition: tp, Err: kerr.ErrorForCode(rp.ErrorCode),
				HighWatermark: Offset(rp.HighWatermark), LogStartOffset: Offset(rp.LogStartOffset), Records: rp.RecordBatches}
			if rp.DivergingEpoch.Epoch >= 0 && rp.DivergingEpoch.EndOffset >= 0 {
				fp.DivergingEpoch = &EpochEndOffset{LeaderEpoch: rp.DivergingEpoch.Epoch, EndOffset: Offset(rp.DivergingEpoch.EndOffset)}
			}
			out.Partitions = append(out.Partitions, fp)
		}
	}
	return out, nil
}

// OffsetForLeaderEpoch asks the leader where each partition's epoch ends.
func (c *wireLeaderClient) OffsetForLeaderEpoch(ctx context.Context, replicaID BrokerID, reqs []EpochRequest) ([]EpochResult, error) {
	resp := kmsg.NewPtrOffsetForLeaderEpochResponse()
	if err := c.roundTrip(ctx, buildEpochRequest(replicaID, reqs), resp, replicaSocketTimeout); err != nil {
		return nil, err
	}
	return convertEpochResponse(reqs, resp), nil
}

func buildEpochRequest(replicaID BrokerID, reqs []EpochRequest) *kmsg.OffsetForLeaderEpochRequest {
	k := kmsg.NewPtrOffsetForLeaderEpochRequest()
	k.ReplicaID = replicaID
	index := map[string]int{}
	for _, r := range reqs {
		i, ok := index[r.Topic]
		if !ok {
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = r.Topic
			k.Topics = append(k.Topics, t)
			i = len(k.Topics) - 1
			index[r.Topic] = i
		}
		p := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		p.Partition, p.CurrentLeaderEpoch, p.LeaderEpoch = r.Partition, r.CurrentLeaderEpoch, r.LeaderEpoch
		k.Topics[i].Partitions = append(k.Topics[i].Partitions, p)
	}
	return k
}

func convertEpochResponse(reqs []EpochRequest, resp *kmsg.OffsetForLeaderEpochResponse) []EpochResult {
	type key struct {
		topic     string
		partition int32
	}
	asked := make(map[key]TopicPartition, len(reqs))
	for _, r := range reqs {
		asked[key{r.Topic, r.Partition}] = r.TopicPartition
	}
	var out []EpochResult
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			tp, ok := asked[key{t.Topic, p.Partition}]
			if !ok {
				continue
			}
			out = append(out, EpochResult{TopicPartition: tp, Err: kerr.ErrorForCode(p.ErrorCode),
				EpochEndOffset: EpochEndOffset{LeaderEpoch: p.LeaderEpoch, EndOffset: Offset(p.EndOffset)}})
		}
	}
	return out
}
