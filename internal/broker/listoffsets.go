package broker

// ListOffsets: versions 1-10. Special timestamps: -2 earliest (log start
// offset), -1 latest (high watermark, or last stable offset for
// read_committed), -3 max timestamp (v7+), -4 earliest local (v8+, the log
// start offset as nothing is tiered), -5 latest tiered (v9+, -1 as nothing is
// tiered). Other timestamps find the first record at or after them through
// the time index.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(2, 1, 10, (*Broker).handleListOffsets) }

const (
	timestampLatest         = -1
	timestampEarliest       = -2
	timestampMax            = -3
	timestampEarliestLocal  = -4
	timestampLatestTiered   = -5
	maxDecompressedForIndex = 64 << 20 // bounds a batch decompressed to find one record
)

func (b *Broker) handleListOffsets(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, len(req.Topics))
	for ti, rt := range req.Topics {
		out := &resp.Topics[ti]
		out.Topic = rt.Topic
		out.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(rt.Partitions))
		denied := !b.allowedTopic(rc, acl.OpDescribe, rt.Topic)
		for pi, rp := range rt.Partitions {
			pr := &out.Partitions[pi]
			*pr = kmsg.NewListOffsetsResponseTopicPartition()
			pr.Partition = rp.Partition
			if denied {
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
				continue
			}
			p, perr := b.replicas.Leader(rt.Topic, rp.Partition)
			if perr != nil {
				pr.ErrorCode = perr.Code
				continue
			}
			if code := checkLeaderEpoch(rp.CurrentLeaderEpoch, p.LeaderEpoch()); code != 0 {
				pr.ErrorCode = code
				continue
			}
			offset, ts, epoch, err := listOffset(p, rp.Timestamp, req.Version, req.IsolationLevel)
			if err != nil {
				pr.ErrorCode = errorCode(err)
				continue
			}
			pr.Offset, pr.Timestamp, pr.LeaderEpoch = offset, ts, epoch
		}
	}
	return server.Result{Response: resp}
}

// listOffset answers one partition: offset, timestamp and leader epoch, with
// -1s when no record matches.
func listOffset(p *replicas.Replica, timestamp int64, version int16, isolation int8) (offset, ts int64, epoch int32, err error) {
	log := p.Log()
	switch {
	case timestamp == timestampLatest && isolation == isolationReadCommitted:
		return int64(p.LastStableOffset()), -1, p.LeaderEpoch(), nil
	case timestamp == timestampLatest:
		return int64(p.HighWatermark()), -1, p.LeaderEpoch(), nil
	case timestamp == timestampEarliest, timestamp == timestampEarliestLocal && version >= 8:
		return int64(log.LogStartOffset()), -1, p.LeaderEpoch(), nil
	case timestamp == timestampLatestTiered && version >= 9:
		return -1, -1, -1, nil
	case timestamp == timestampMax && version >= 7:
		batch, found, err := log.MaxTimestampBatch()
		if err != nil || !found {
			return -1, -1, -1, err
		}
		off, ts, err := recordbatch.MaxTimestampOffset(batch, maxDecompressedForIndex)
		if err != nil {
			return -1, -1, -1, err
		}
		return off, ts, batchEpoch(batch), nil
	case timestamp < 0:
		return -1, -1, -1, kerr.InvalidRequest
	}
	batch, found, err := log.FindBatchByTimestamp(timestamp)
	if err != nil || !found {
		return -1, -1, -1, err
	}
	off, ts, found, err := recordbatch.FirstOffsetAtOrAfter(batch, timestamp, maxDecompressedForIndex)
	if err != nil || !found {
		return -1, -1, -1, err
	}
	if off >= int64(p.HighWatermark()) {
		return -1, -1, -1, nil
	}
	return off, ts, batchEpoch(batch), nil
}

func batchEpoch(batch []byte) int32 {
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		return -1
	}
	return h.PartitionLeaderEpoch
}
