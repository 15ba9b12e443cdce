package replication

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func testFetchRequest() *FetchRequest {
	return &FetchRequest{ReplicaID: 7, ReplicaEpoch: 42, MaxWait: 500 * time.Millisecond, MinBytes: 1, MaxBytes: 1 << 20,
		Partitions: []FetchPartition{
			{TopicPartition: TopicPartition{Topic: "a", TopicID: [16]byte{1}, Partition: 0}, FetchOffset: 10, CurrentLeaderEpoch: 3, LastFetchedEpoch: 2, PartitionMaxBytes: 100},
			{TopicPartition: TopicPartition{Topic: "a", TopicID: [16]byte{1}, Partition: 1}, FetchOffset: 20, CurrentLeaderEpoch: 3, LastFetchedEpoch: -1, PartitionMaxBytes: 100},
			{TopicPartition: TopicPartition{Topic: "b", TopicID: [16]byte{2}, Partition: 0}, FetchOffset: 0, CurrentLeaderEpoch: 1, LastFetchedEpoch: -1, PartitionMaxBytes: 100},
		}}
}

// TestFetchRequestCarriesReplicaID encodes the request as franz-go would at
// a version before and after KIP-903 and checks the leader reads the
// replica id where that version keeps it.
func TestFetchRequestCarriesReplicaID(t *testing.T) {
	for _, version := range []int16{11, 12, 13, 14, 15, 16} {
		k := buildFetchRequest(testFetchRequest())
		k.Version = version
		decoded := kmsg.NewPtrFetchRequest()
		decoded.Version = version
		if err := decoded.ReadFrom(k.AppendTo(nil)); err != nil {
			t.Fatalf("v%d: %v", version, err)
		}
		id := decoded.ReplicaID
		if version >= 15 {
			id = decoded.ReplicaState.ID
			if decoded.ReplicaState.Epoch != 42 {
				t.Fatalf("v%d: replica epoch %d", version, decoded.ReplicaState.Epoch)
			}
		}
		if id != 7 {
			t.Fatalf("v%d: replica id %d", version, id)
		}
		if len(decoded.Topics) != 2 || len(decoded.Topics[0].Partitions) != 2 || decoded.SessionEpoch != -1 {
			t.Fatalf("v%d: topics %+v", version, decoded.Topics)
		}
		if p := decoded.Topics[0].Partitions[0]; p.FetchOffset != 10 || p.CurrentLeaderEpoch != 3 || p.PartitionMaxBytes != 100 {
			t.Fatalf("v%d: partition %+v", version, p)
		}
		if version >= 12 && decoded.Topics[0].Partitions[0].LastFetchedEpoch != 2 {
			t.Fatalf("v%d: last fetched epoch lost", version)
		}
	}
}

func TestConvertFetchResponse(t *testing.T) {
	req := testFetchRequest()
	for _, version := range []int16{12, 13} {
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = version
		ta := kmsg.NewFetchResponseTopic()
		ta.Topic, ta.TopicID = "a", [16]byte{1}
		p0 := kmsg.NewFetchResponseTopicPartition()
		p0.Partition, p0.HighWatermark, p0.LogStartOffset, p0.RecordBatches = 0, 15, 0, []byte{1, 2, 3}
		p1 := kmsg.NewFetchResponseTopicPartition()
		p1.Partition, p1.ErrorCode = 1, kerr.FencedLeaderEpoch.Code
		p1.DivergingEpoch.Epoch, p1.DivergingEpoch.EndOffset = 2, 18
		p9 := kmsg.NewFetchResponseTopicPartition()
		p9.Partition = 9 // not asked for
		ta.Partitions = []kmsg.FetchResponseTopicPartition{p0, p1, p9}
		resp.Topics = append(resp.Topics, ta)
		// Round-trip through the wire to see what a real leader's bytes give.
		decoded := kmsg.NewPtrFetchResponse()
		decoded.Version = version
		if err := decoded.ReadFrom(resp.AppendTo(nil)); err != nil {
			t.Fatal(err)
		}
		got, err := convertFetchResponse(req, decoded)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Partitions) != 2 {
			t.Fatalf("v%d: %+v", version, got.Partitions)
		}
		a0, a1 := got.Partitions[0], got.Partitions[1]
		if a0.TopicPartition != req.Partitions[0].TopicPartition || a0.HighWatermark != 15 || string(a0.Records) != "\x01\x02\x03" || a0.Err != nil || a0.DivergingEpoch != nil {
			t.Fatalf("v%d: %+v", version, a0)
		}
		if !errors.Is(a1.Err, kerr.FencedLeaderEpoch) || a1.DivergingEpoch == nil || *a1.DivergingEpoch != (EpochEndOffset{2, 18}) {
			t.Fatalf("v%d: %+v", version, a1)
		}
	}
	top := kmsg.NewPtrFetchResponse()
	top.Version, top.ErrorCode = 13, kerr.FetchSessionIDNotFound.Code
	if _, err := convertFetchResponse(req, top); !errors.Is(err, kerr.FetchSessionIDNotFound) {
		t.Fatalf("top-level error: %v", err)
	}
}

func TestEpochRequestRoundTrip(t *testing.T) {
	reqs := []EpochRequest{
		{TopicPartition: TopicPartition{Topic: "a", Partition: 0}, CurrentLeaderEpoch: 5, LeaderEpoch: 4},
		{TopicPartition: TopicPartition{Topic: "a", Partition: 2}, CurrentLeaderEpoch: 5, LeaderEpoch: 1},
	}
	k := buildEpochRequest(3, reqs)
	if k.ReplicaID != 3 || len(k.Topics) != 1 || len(k.Topics[0].Partitions) != 2 || k.Topics[0].Partitions[1].LeaderEpoch != 1 {
		t.Fatalf("%+v", k)
	}
	resp := kmsg.NewPtrOffsetForLeaderEpochResponse()
	rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
	rt.Topic = "a"
	for _, p := range []struct {
		partition, epoch int32
		end              int64
		code             int16
	}{{0, 4, 100, 0}, {2, -1, -1, kerr.FencedLeaderEpoch.Code}, {7, 1, 1, 0}} {
		rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
		rp.Partition, rp.LeaderEpoch, rp.EndOffset, rp.ErrorCode = p.partition, p.epoch, p.end, p.code
		rt.Partitions = append(rt.Partitions, rp)
	}
	resp.Topics = append(resp.Topics, rt)
	got := convertEpochResponse(reqs, resp)
	if len(got) != 2 || got[0].EpochEndOffset != (EpochEndOffset{4, 100}) || got[0].Err != nil || !errors.Is(got[1].Err, kerr.FencedLeaderEpoch) {
		t.Fatalf("%+v", got)
	}
}
