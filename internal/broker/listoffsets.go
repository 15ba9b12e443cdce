package broker

// ListOffsets: versions 0-10. Special timestamps: -2 earliest (log start
// offset), -1 latest (high watermark, or last stable offset for
// read_committed), -3 max timestamp (v7+), -4 earliest local (v8+, the log
// start offset as nothing is tiered), -5 latest tiered (v9+, -1 as nothing is
// tiered). Other timestamps find the first record at or after them through
// the time index. v0, which Kafka 4 removed (KIP-896), answers Kafka's
// "old style" array of offsets instead (listOffsetsV0).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
)

func init() { registerAPI(2, 0, 10, (*Broker).handleListOffsets) }

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
			if req.Version == 0 {
				offsets, err := listOffsetsV0(p, rp.Timestamp, rp.MaxNumOffsets, b.now().UnixMilli())
				pr.OldStyleOffsets, pr.ErrorCode = offsets, errorCode(err)
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

// listOffsetsV0 answers one partition of a ListOffsets v0: Kafka's
// legacyFetchOffsetsBefore over the log's segments (legacyOffsets). Only
// -1 (latest) and -2 (earliest) of the special timestamps existed then;
// the others get UNSUPPORTED_VERSION, as from Kafka. A negative
// max_num_offsets, on which Kafka fails with UNKNOWN_SERVER_ERROR, is
// INVALID_REQUEST.
func listOffsetsV0(p *replicas.Replica, timestamp int64, maxOffsets int32, nowMs int64) ([]int64, error) {
	switch {
	case timestamp < timestampEarliest:
		return nil, kerr.UnsupportedVersion
	case maxOffsets < 0:
		return nil, kerr.InvalidRequest
	}
	log := p.Log()
	starts, err := log.SegmentStarts()
	if err != nil {
		return nil, err
	}
	return legacyOffsets(starts, int64(log.LogEndOffset()), int64(p.HighWatermark()), nowMs, timestamp, int(maxOffsets)), nil
}

// legacyOffsets is Kafka's legacyFetchOffsetsBefore (UnifiedLog) and the
// consumer's view of it (Partition.legacyFetchOffsetsForTimestamp). The
// candidates are each segment's first offset, dated by its newest record,
// and the log end offset dated now when the active segment holds records.
// Latest (-1) starts from the last candidate, earliest (-2) from the
// first, and another timestamp from the last candidate dated at or before
// it; from there at most maxOffsets candidates are listed, newest first.
// Offsets above the high watermark are replaced by it: a consumer never
// learns of records it cannot read. (Kafka shows the log end to replica
// ids other than -1, used by its own tools only; fjord's v1+ answers never
// show it, and neither do these.) Where Kafka dates a segment by its
// file's modification time, fjord uses its newest record's timestamp, as
// retention does, so that a copied data directory gives the same answers.
func legacyOffsets(starts []storage.SegmentStart, logEnd, highWatermark, nowMs, timestamp int64, maxOffsets int) []int64 {
	type candidate struct{ offset, dateMs int64 }
	candidates := make([]candidate, 0, len(starts)+1)
	for _, s := range starts {
		candidates = append(candidates, candidate{int64(s.Offset), s.LargestTimestamp})
	}
	if n := len(starts); n > 0 && starts[n-1].SizeBytes > 0 {
		candidates = append(candidates, candidate{logEnd, nowMs})
	}
	from := len(candidates) - 1
	switch timestamp {
	case timestampLatest:
	case timestampEarliest:
		from = min(0, from)
	default:
		for from >= 0 && candidates[from].dateMs > timestamp {
			from--
		}
	}
	count := min(maxOffsets, from+1)
	offsets := make([]int64, 0, max(count, 0))
	for i := from; i > from-count; i-- {
		offsets = append(offsets, candidates[i].offset)
	}
	above := 0
	for above < len(offsets) && offsets[above] > highWatermark {
		above++
	}
	if above > 0 {
		offsets = append([]int64{highWatermark}, offsets[above:]...)
	}
	return offsets
}
