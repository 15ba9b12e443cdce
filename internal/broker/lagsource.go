package broker

// The broker's source of consumer lag (internal/lag): the groups this node
// coordinates, read from the group coordinator in process, and their
// partitions' high watermarks and record timestamps, read from the local
// replica where this node leads the partition and from its leader through
// the peers pool otherwise. Each node reports only the groups it
// coordinates, so a cluster's metrics count every group once.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/lag"
	"github.com/fjordhq/fjord/internal/storage"
)

// lagFetchMaxBytes bounds one local read for a record's timestamp; the
// first batch is returned whole when larger, as Fetch does (KIP-74).
const lagFetchMaxBytes = 64 << 10

// LagSource is the source of a lag.Monitor reporting the groups this node
// coordinates. Call it after Start.
func (b *Broker) LagSource() lag.Source { return lagSource{b: b} }

// NewLagMonitor creates a monitor over LagSource with the broker's clock
// and logger where opts leaves them unset; its owner runs it (Run) under
// the context that stops the broker.
func (b *Broker) NewLagMonitor(opts lag.Options) *lag.Monitor {
	if opts.Now == nil {
		opts.Now = b.now
	}
	if opts.Logger == nil {
		opts.Logger = b.logger.With("component", "lag")
	}
	return lag.NewMonitor(b.LagSource(), opts)
}

type lagSource struct{ b *Broker }

// Groups lists the groups of the offsets partitions this node leads, with
// their members (DescribeGroups describes KIP-848 groups too).
func (s lagSource) Groups(ctx context.Context) ([]lag.GroupInfo, error) {
	if s.b.groups == nil {
		return nil, errors.New("group coordinator not started")
	}
	kresp, err := s.b.groups.Do(ctx, group.Request{Msg: kmsg.NewPtrListGroupsRequest(), ClientID: "lag"})
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	listed := kresp.(*kmsg.ListGroupsResponse)
	if err := kerr.ErrorForCode(listed.ErrorCode); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	if len(listed.Groups) == 0 {
		return nil, nil
	}
	describe := kmsg.NewPtrDescribeGroupsRequest()
	for _, g := range listed.Groups {
		describe.Groups = append(describe.Groups, g.Group)
	}
	kresp, err = s.b.groups.Do(ctx, group.Request{Msg: describe, ClientID: "lag"})
	if err != nil {
		return nil, fmt.Errorf("describe groups: %w", err)
	}
	out := make([]lag.GroupInfo, 0, len(listed.Groups))
	for _, g := range kresp.(*kmsg.DescribeGroupsResponse).Groups {
		if g.ErrorCode != 0 || g.State == group.StateDead.String() {
			continue // moved to another coordinator, or deleted since listed
		}
		out = append(out, lag.GroupInfo{Group: g.Group, State: g.State, Members: len(g.Members)})
	}
	return out, nil
}

// Committed reads the group's committed offsets with one OffsetFetch.
func (s lagSource) Committed(ctx context.Context, groupID string) (map[lag.TopicPartition]int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = groupID // null topics: every committed offset
	req.Groups = append(req.Groups, rg)
	kresp, err := s.b.groups.Do(ctx, group.Request{Msg: req, ClientID: "lag"})
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", groupID, err)
	}
	out := map[lag.TopicPartition]int64{}
	for _, g := range kresp.(*kmsg.OffsetFetchResponse).Groups {
		if err := kerr.ErrorForCode(g.ErrorCode); err != nil {
			return nil, fmt.Errorf("fetch offsets of group %s: %w", groupID, err)
		}
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode == 0 && p.Offset >= 0 {
					out[lag.TopicPartition{Topic: t.Topic, Partition: p.Partition}] = p.Offset
				}
			}
		}
	}
	return out, nil
}

// EndOffsets reads the high watermarks of the partitions led here from
// their replicas, and the others with one ListOffsets per leader.
func (s lagSource) EndOffsets(ctx context.Context, partitions []lag.TopicPartition) (map[lag.TopicPartition]lag.EndOffset, error) {
	out := make(map[lag.TopicPartition]lag.EndOffset, len(partitions))
	remote := map[int32][]lag.TopicPartition{}
	img := s.b.meta.Image()
	for _, tp := range partitions {
		if r, kerrE := s.b.replicas.Leader(tp.Topic, tp.Partition); kerrE == nil {
			out[tp] = lag.EndOffset{Offset: int64(r.HighWatermark())}
			continue
		}
		t, ok := img.Topic(tp.Topic)
		if !ok || tp.Partition < 0 || int(tp.Partition) >= len(t.Partitions) {
			out[tp] = lag.EndOffset{Err: kerr.UnknownTopicOrPartition}
			continue
		}
		if leader := t.Partitions[tp.Partition].Leader; leader >= 0 && leader != s.b.opts.NodeID {
			remote[leader] = append(remote[leader], tp)
			continue
		}
		out[tp] = lag.EndOffset{Err: kerr.LeaderNotAvailable}
	}
	for leader, tps := range remote {
		s.remoteEndOffsets(ctx, leader, tps, out)
	}
	return out, nil
}

// remoteEndOffsets asks leader for the latest offsets of tps.
func (s lagSource) remoteEndOffsets(ctx context.Context, leader int32, tps []lag.TopicPartition, out map[lag.TopicPartition]lag.EndOffset) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	byTopic := map[string]int{}
	for _, tp := range tps {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[tp.Topic] = i
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = tp.Topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = tp.Partition, -1, -1 // -1: latest
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	kresp, err := s.b.peers.Request(ctx, leader, req)
	if err != nil {
		for _, tp := range tps {
			out[tp] = lag.EndOffset{Err: err}
		}
		return
	}
	for _, t := range kresp.(*kmsg.ListOffsetsResponse).Topics {
		for _, p := range t.Partitions {
			tp := lag.TopicPartition{Topic: t.Topic, Partition: p.Partition}
			out[tp] = lag.EndOffset{Offset: p.Offset, Err: kerr.ErrorForCode(p.ErrorCode)}
		}
	}
}

// RecordTimestamp reads from the local replica when this node leads the
// partition, else from its leader.
func (s lagSource) RecordTimestamp(ctx context.Context, tp lag.TopicPartition, offset, end int64) (time.Time, bool, error) {
	if r, kerrE := s.b.replicas.Leader(tp.Topic, tp.Partition); kerrE == nil {
		return lag.ReadFirstRecordTime(offset, end, func(from int64) ([]byte, error) {
			slice, err := r.Log().Read(storage.Offset(from), lagFetchMaxBytes, storage.Offset(end))
			if err != nil {
				return nil, fmt.Errorf("read %s-%d at %d: %w", tp.Topic, tp.Partition, from, err)
			}
			defer slice.Release()
			return slice.ReadAll(nil)
		})
	}
	t, ok := s.b.meta.Image().Topic(tp.Topic)
	if !ok || tp.Partition < 0 || int(tp.Partition) >= len(t.Partitions) {
		return time.Time{}, false, fmt.Errorf("%s-%d: %w", tp.Topic, tp.Partition, kerr.UnknownTopicOrPartition)
	}
	leader := t.Partitions[tp.Partition].Leader
	if leader < 0 || leader == s.b.opts.NodeID {
		return time.Time{}, false, fmt.Errorf("%s-%d: %w", tp.Topic, tp.Partition, kerr.LeaderNotAvailable)
	}
	return lag.ReadFirstRecordTime(offset, end, func(from int64) ([]byte, error) {
		kresp, err := s.b.peers.Request(ctx, leader, lag.FetchRequest(tp, t.ID, from))
		if err != nil {
			return nil, err
		}
		return lag.FetchedBatches(kresp.(*kmsg.FetchResponse), tp, from)
	})
}
