package replication

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kgoLeaderClient is a LeaderClient over the Kafka protocol, with franz-go
// doing the connection, ApiVersions negotiation and framing. It talks to
// one broker: the seed it was built with.
type kgoLeaderClient struct {
	cl *kgo.Client
}

// fetchResponseSlackBytes is added to replica.fetch.response.max.bytes for
// the connection's read limit: KIP-74 lets a response exceed the limit by
// one batch (up to max.message.bytes), plus protocol overhead.
const fetchResponseSlackBytes = 16 << 20

// KgoDialer returns a FetcherConfig.Dial that connects to the address
// addressOf gives for a broker (its inter-broker listener). opts are added
// to the client's (TLS, SASL, dialer); responseMaxBytes is
// replica.fetch.response.max.bytes (zero for the default), which bounds
// what one response may make the client read.
func KgoDialer(addressOf func(BrokerID) (string, error), responseMaxBytes int32, opts ...kgo.Opt) func(context.Context, BrokerID) (LeaderClient, error) {
	if responseMaxBytes <= 0 {
		responseMaxBytes = DefaultFetchResponseMaxBytes
	}
	return func(_ context.Context, leader BrokerID) (LeaderClient, error) {
		addr, err := addressOf(leader)
		if err != nil {
			return nil, fmt.Errorf("address of broker %d: %w", leader, err)
		}
		// kgo refuses a read limit below its fetch limit, so both are set.
		all := append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.FetchMaxBytes(responseMaxBytes),
			kgo.BrokerMaxReadBytes(responseMaxBytes + fetchResponseSlackBytes)}, opts...)
		cl, err := kgo.NewClient(all...)
		if err != nil {
			return nil, fmt.Errorf("client for broker %d at %s: %w", leader, addr, err)
		}
		return &kgoLeaderClient{cl: cl}, nil
	}
}

func (c *kgoLeaderClient) Close() error {
	c.cl.Close()
	return nil
}

func (c *kgoLeaderClient) broker() (*kgo.Broker, error) {
	seeds := c.cl.SeedBrokers()
	if len(seeds) == 0 {
		return nil, errors.New("replication: leader client has no seed broker")
	}
	return seeds[0], nil
}

func (c *kgoLeaderClient) Fetch(ctx context.Context, req *FetchRequest) (*FetchResponse, error) {
	b, err := c.broker()
	if err != nil {
		return nil, err
	}
	kreq := buildFetchRequest(req)
	kresp, err := b.Request(ctx, kreq)
	if err != nil {
		return nil, err
	}
	resp, ok := kresp.(*kmsg.FetchResponse)
	if !ok {
		return nil, fmt.Errorf("replication: fetch answered with %T", kresp)
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

func (c *kgoLeaderClient) OffsetForLeaderEpoch(ctx context.Context, replicaID BrokerID, reqs []EpochRequest) ([]EpochResult, error) {
	b, err := c.broker()
	if err != nil {
		return nil, err
	}
	k := buildEpochRequest(replicaID, reqs)
	kresp, err := b.Request(ctx, k)
	if err != nil {
		return nil, err
	}
	resp, ok := kresp.(*kmsg.OffsetForLeaderEpochResponse)
	if !ok {
		return nil, fmt.Errorf("replication: OffsetForLeaderEpoch answered with %T", kresp)
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
