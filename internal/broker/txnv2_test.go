package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// Transaction version 2 (KIP-890 part 2) through the real broker: the
// feature in ApiVersions, partitions added by Produce v12 and TxnOffsetCommit
// v5, and the markers' epoch check.

// txnClient is a client whose requests go out at most at the given
// versions of Produce (12: topics by name) and TxnOffsetCommit.
func txnClient(t *testing.T, addr string, produce, txnOffsetCommit int16) *kgo.Client {
	t.Helper()
	v := kversion.Stable()
	v.SetMaxKeyVersion(int16(kmsg.Produce), produce)
	v.SetMaxKeyVersion(int16(kmsg.TxnOffsetCommit), txnOffsetCommit)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MaxVersions(v))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// retryTxn repeats a request while the coordinators load in the background
// or a transaction is being ended, and returns the first other code.
func retryTxn(t *testing.T, ctx context.Context, do func() int16) int16 {
	t.Helper()
	for {
		switch code := do(); code {
		case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code,
			kerr.ConcurrentTransactions.Code, kerr.NotEnoughReplicas.Code:
			select {
			case <-ctx.Done():
				t.Fatalf("still retrying: %v", kerr.ErrorForCode(code))
			case <-time.After(20 * time.Millisecond): // polling the coordinator: it offers no change wait
			}
		default:
			return code
		}
	}
}

func initTxn(t *testing.T, ctx context.Context, cl *kgo.Client, id string) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis = &id, 60_000
	var resp *kmsg.InitProducerIDResponse
	if code := retryTxn(t, ctx, func() int16 {
		var err error
		if resp, err = req.RequestWith(ctx, cl); err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	}); code != 0 {
		t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(code))
	}
	return resp.ProducerID, resp.ProducerEpoch
}

// produceTxn sends one transactional batch of the producer to partition 0
// of fuzzTopic and returns its code.
func produceTxn(t *testing.T, ctx context.Context, cl *kgo.Client, id string, pid int64, epoch int16, seq int32) int16 {
	t.Helper()
	batch := recordbatch.Build(recordbatch.BuildSpec{Transactional: true, Idempotent: true, ProducerID: pid,
		ProducerEpoch: epoch, BaseSequence: seq, BaseTimestamp: time.Now().UnixMilli(),
		Records: []recordbatch.Record{{Value: []byte("v")}}})
	req := kmsg.NewPtrProduceRequest()
	req.TransactionID, req.Acks, req.TimeoutMillis = &id, -1, 10_000
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: fuzzTopic,
		Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}
	return retryTxn(t, ctx, func() int16 {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	})
}

func endTxn(t *testing.T, ctx context.Context, cl *kgo.Client, id string, pid int64, epoch int16, commit bool) *kmsg.EndTxnResponse {
	t.Helper()
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = id, pid, epoch, commit
	var resp *kmsg.EndTxnResponse
	retryTxn(t, ctx, func() int16 {
		var err error
		if resp, err = req.RequestWith(ctx, cl); err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	})
	return resp
}

// txnPartitions is what DescribeTransactions says of id: its state and
// partitions of fuzzTopic.
func txnPartitions(t *testing.T, ctx context.Context, cl *kgo.Client, id string) (string, []int32) {
	t.Helper()
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{id}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	st := resp.TransactionStates[0]
	var parts []int32
	for _, topic := range st.Topics {
		parts = append(parts, topic.Partitions...)
	}
	return st.State, parts
}

func TestApiVersionsAdvertisesTransactionVersion(t *testing.T) {
	for _, tt := range []struct {
		props map[string]string
		level int16
	}{{nil, 2}, {map[string]string{"transaction.version": "1"}, 1}, {map[string]string{"transaction.version": "0"}, 0}} {
		addr := startInProcessBrokerWith(t, tt.props)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, version := range []int16{3, 4} {
			v := kversion.Stable()
			v.SetMaxKeyVersion(int16(kmsg.ApiVersions), version)
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MaxVersions(v))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Version != version || resp.FinalizedFeaturesEpoch < 0 {
				t.Fatalf("level %d, ApiVersions v%d: version %d, epoch %d", tt.level, version, resp.Version, resp.FinalizedFeaturesEpoch)
			}
			// KAFKA-17492: a supported minimum of 0 only from v4.
			wantSupported := version >= 4
			if got := len(resp.SupportedFeatures) == 1 && resp.SupportedFeatures[0].Name == "transaction.version" &&
				resp.SupportedFeatures[0].MinVersion == 0 && resp.SupportedFeatures[0].MaxVersion == 2; got != wantSupported ||
				len(resp.SupportedFeatures) > 1 {
				t.Fatalf("level %d, ApiVersions v%d: supported %+v", tt.level, version, resp.SupportedFeatures)
			}
			var finalized []kmsg.ApiVersionsResponseFinalizedFeature
			if tt.level > 0 {
				finalized = []kmsg.ApiVersionsResponseFinalizedFeature{{Name: "transaction.version",
					MinVersionLevel: tt.level, MaxVersionLevel: tt.level}}
			}
			if len(resp.FinalizedFeatures) != len(finalized) || len(finalized) == 1 &&
				(resp.FinalizedFeatures[0].Name != finalized[0].Name || resp.FinalizedFeatures[0].MaxVersionLevel != tt.level ||
					resp.FinalizedFeatures[0].MinVersionLevel != tt.level) {
				t.Fatalf("level %d, ApiVersions v%d: finalized %+v", tt.level, version, resp.FinalizedFeatures)
			}
			want := map[int16]int16{int16(kmsg.Produce): 13, int16(kmsg.EndTxn): 5, int16(kmsg.TxnOffsetCommit): 5,
				int16(kmsg.WriteTxnMarkers): 2, int16(kmsg.AddPartitionsToTxn): 5}
			for _, k := range resp.ApiKeys {
				if max, ok := want[k.ApiKey]; ok && k.MaxVersion != max {
					t.Errorf("%s: max version %d, want %d", kmsg.NameForKey(k.ApiKey), k.MaxVersion, max)
				}
			}
		}
	}
}

// TestProduceV12AddsPartition: a transactional Produce v12 adds its
// partition to the transaction, even with verification off; v11 does not
// and is refused.
func TestProduceV12AddsPartition(t *testing.T) {
	addr := startInProcessBrokerWith(t, map[string]string{"transaction.partition.verification.enable": "false"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v12 := txnClient(t, addr, 12, 5)
	pid, epoch := initTxn(t, ctx, v12, "p12")
	if code := produceTxn(t, ctx, v12, "p12", pid, epoch, 0); code != 0 {
		t.Fatalf("Produce v12: %v", kerr.ErrorForCode(code))
	}
	if state, parts := txnPartitions(t, ctx, v12, "p12"); state != "Ongoing" || len(parts) != 1 || parts[0] != 0 {
		t.Fatalf("after Produce v12: %s %v", state, parts)
	}
	// A batch from the producer's older epoch cannot join.
	if code := produceTxn(t, ctx, v12, "p12", pid, epoch-1, 0); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("Produce v12 at an older epoch: %v", kerr.ErrorForCode(code))
	}
	resp := endTxn(t, ctx, v12, "p12", pid, epoch, true)
	if resp.ErrorCode != 0 || resp.ProducerID != pid || resp.ProducerEpoch != epoch+1 {
		t.Fatalf("EndTxn v5: %+v", resp)
	}

	// Verification on: Produce v11 of a partition never added is refused.
	addr = startInProcessBroker(t)
	v11 := txnClient(t, addr, 11, 4)
	pid, epoch = initTxn(t, ctx, v11, "p11")
	if code := produceTxn(t, ctx, v11, "p11", pid, epoch, 0); code != kerr.TransactionAbortable.Code {
		t.Fatalf("Produce v11 of a partition not added: %v", kerr.ErrorForCode(code))
	}
}

// TestTxnOffsetCommitV5AddsOffsetsPartition: v5 needs no AddOffsetsToTxn;
// the offsets stay pending until EndTxn v5 commits them.
func TestTxnOffsetCommitV5AddsOffsetsPartition(t *testing.T) {
	addr := startInProcessBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := txnClient(t, addr, 12, 5)
	pid, epoch := initTxn(t, ctx, cl, "o5")
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch, commit.Generation = "o5", "g5", pid, epoch, -1
	commit.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: fuzzTopic,
		Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 7}}}}
	var version int16
	if code := retryTxn(t, ctx, func() int16 {
		resp, err := commit.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		version = resp.Version
		return resp.Topics[0].Partitions[0].ErrorCode
	}); code != 0 || version != 5 {
		t.Fatalf("TxnOffsetCommit v%d: %v", version, kerr.ErrorForCode(code))
	}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.RequireStable = true
	fetch.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g5", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: fuzzTopic, Partitions: []int32{0}}}}}
	fetched := func() (int16, int64) {
		resp, err := fetch.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Groups[0].Topics[0].Partitions[0]
		return p.ErrorCode, p.Offset
	}
	if code, _ := fetched(); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("OffsetFetch with RequireStable while pending: %v", kerr.ErrorForCode(code))
	}
	if resp := endTxn(t, ctx, cl, "o5", pid, epoch, true); resp.ErrorCode != 0 || resp.ProducerEpoch != epoch+1 {
		t.Fatalf("EndTxn v5: %+v", resp)
	}
	for {
		code, offset := fetched()
		if code == 0 && offset == 7 {
			break
		}
		if code != kerr.UnstableOffsetCommit.Code || ctx.Err() != nil {
			t.Fatalf("OffsetFetch after the commit: %v offset %d", kerr.ErrorForCode(code), offset)
		}
		time.Sleep(20 * time.Millisecond) // polling: the marker completes the offsets after EndTxn's answer
	}
	// The fenced epoch cannot add the group again.
	if code := retryTxn(t, ctx, func() int16 {
		resp, err := commit.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("TxnOffsetCommit v5 at the epoch before the commit: %v", kerr.ErrorForCode(code))
	}
}

// TestWriteTxnMarkersVersion2Epochs: a marker of transaction version 2 at
// the epoch of the open transaction is refused; once the transaction ended
// at the bumped epoch, a retry of its marker is accepted (KAFKA-19999).
func TestWriteTxnMarkersVersion2Epochs(t *testing.T) {
	addr := startInProcessBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := txnClient(t, addr, 12, 5)
	pid, epoch := initTxn(t, ctx, cl, "m2")
	if code := produceTxn(t, ctx, cl, "m2", pid, epoch, 0); code != 0 {
		t.Fatalf("Produce v12: %v", kerr.ErrorForCode(code))
	}
	producers := kmsg.NewPtrDescribeProducersRequest()
	producers.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: fuzzTopic, Partitions: []int32{0}}}
	presp, err := producers.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	coordinatorEpoch := int32(0)
	for _, p := range presp.Topics[0].Partitions[0].ActiveProducers {
		coordinatorEpoch = max(coordinatorEpoch, p.CoordinatorEpoch)
	}
	marker := func(epoch int16, tv int8) int16 {
		req := kmsg.NewPtrWriteTxnMarkersRequest()
		req.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: pid, ProducerEpoch: epoch, Committed: true,
			CoordinatorEpoch: coordinatorEpoch, TransactionVersion: tv,
			Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: fuzzTopic, Partitions: []int32{0}}}}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Version != 2 {
			t.Fatalf("WriteTxnMarkers sent at v%d", resp.Version)
		}
		return resp.Markers[0].Topics[0].Partitions[0].ErrorCode
	}
	if code := marker(epoch, 2); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("marker of version 2 at the open transaction's epoch: %v", kerr.ErrorForCode(code))
	}
	if resp := endTxn(t, ctx, cl, "m2", pid, epoch, true); resp.ErrorCode != 0 || resp.ProducerEpoch != epoch+1 {
		t.Fatalf("EndTxn v5: %+v", resp)
	}
	for {
		if state, _ := txnPartitions(t, ctx, cl, "m2"); state == "CompleteCommit" {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the commit never completed")
		}
		time.Sleep(20 * time.Millisecond) // polling: markers are written after EndTxn's answer
	}
	if code := marker(epoch+1, 2); code != 0 {
		t.Fatalf("retried marker of version 2: %v", kerr.ErrorForCode(code))
	}
	if code := marker(epoch, 2); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("marker of version 2 below the last marker's epoch: %v", kerr.ErrorForCode(code))
	}
}
