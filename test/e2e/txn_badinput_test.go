package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/fjordhq/fjord/internal/fjordtest"
	"github.com/fjordhq/fjord/internal/recordbatch"
)

// retryCoordinator repeats a transactional request while its coordinator
// is being created, loaded or busy ending a transaction, and returns the
// first other code.
func retryCoordinator(t *testing.T, ctx context.Context, do func() int16) int16 {
	t.Helper()
	for {
		switch code := do(); code {
		case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code,
			kerr.ConcurrentTransactions.Code:
			select {
			case <-ctx.Done():
				t.Fatalf("coordinator still busy: %v", kerr.ErrorForCode(code))
			case <-time.After(pollInterval):
			}
		default:
			return code
		}
	}
}

// initTxnProducer sends InitProducerId for a transactional id and returns
// the producer id and epoch.
func initTxnProducer(t *testing.T, ctx context.Context, cl *kgo.Client, id string) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis = &id, 900_000
	var resp *kmsg.InitProducerIDResponse
	code := retryCoordinator(t, ctx, func() int16 {
		var err error
		if resp, err = req.RequestWith(ctx, cl); err != nil {
			t.Fatalf("InitProducerId: %v", err)
		}
		return resp.ErrorCode
	})
	if code != 0 {
		t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(code))
	}
	return resp.ProducerID, resp.ProducerEpoch
}

// txnProduceRequest is a Produce of one transactional batch of a
// producer to one partition.
func txnProduceRequest(id, topic string, partition int32, pid int64, epoch int16, seq int32, values ...string) *kmsg.ProduceRequest {
	spec := recordbatch.BuildSpec{Transactional: true, Idempotent: true, ProducerID: pid, ProducerEpoch: epoch,
		BaseSequence: seq, BaseTimestamp: time.Now().UnixMilli()}
	for _, v := range values {
		spec.Records = append(spec.Records, recordbatch.Record{Value: []byte(v)})
	}
	req := produceRequest(topic, -1, recordbatch.Build(spec))
	req.TransactionID = &id
	req.Topics[0].Partitions[0].Partition = partition
	return req
}

// TestTransactionBadInputs sends what a confused or hostile client might
// and checks each answer is Kafka's, with the broker serving on after.
func TestTransactionBadInputs(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "txnbad")
	createTopic(t, ctx, adm, topic, txnPartitions, nil)
	// Produce v9 and TxnOffsetCommit v3: the versions that answer
	// INVALID_TXN_STATE rather than TRANSACTION_ABORTABLE.
	cl := newKgo(t, s.Addr, kgo.MaxVersions(kversion.V3_6_0()))

	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.Commit = "never-initialized", 4242, true
	wantCode(t, "EndTxn for an unknown transactional id", retryCoordinator(t, ctx, func() int16 {
		resp, err := end.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	}), kerr.InvalidProducerIDMapping)

	id := "bad-" + topic
	pid, stale := initTxnProducer(t, ctx, cl, id)
	if again, epoch := initTxnProducer(t, ctx, cl, id); again != pid || epoch != stale+1 {
		t.Fatalf("second InitProducerId: %d/%d, want %d/%d", again, epoch, pid, stale+1)
	}
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = id, pid, stale
	add.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: topic, Partitions: []int32{0}}}
	wantCode(t, "AddPartitionsToTxn with a stale epoch", retryCoordinator(t, ctx, func() int16 {
		resp, err := add.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}), kerr.ProducerFenced)

	epoch := stale + 1
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch, commit.Generation = id, "not-added", pid, epoch, -1
	commit.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
	wantCode(t, "TxnOffsetCommit for a group the producer did not add", retryCoordinator(t, ctx, func() int16 {
		resp, err := commit.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}), kerr.InvalidTxnState)

	w := dialWire(t, s.Addr)
	wantCode(t, "transactional batch for a partition not in the transaction",
		producePartitionError(t, w, txnProduceRequest(id, topic, 0, pid, epoch, 0, "x")), kerr.InvalidTxnState)

	// A transaction that commits, so partition 0 holds a marker, then
	// markers from coordinators older than that marker's.
	tx := newKgo(t, s.Addr, kgo.TransactionalID("bad2-"+topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := runKgoTxn(ctx, tx, txnRecords(topic, "c", 1), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var last kadm.DescribedProducer
	producers.EachProducer(func(p kadm.DescribedProducer) { last = p })
	marker := kmsg.NewPtrWriteTxnMarkersRequest()
	marker.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: last.ProducerID, ProducerEpoch: last.ProducerEpoch,
		Committed: true, CoordinatorEpoch: last.CoordinatorEpoch - 1,
		Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: topic, Partitions: []int32{0}}}}}
	resp, err := marker.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "marker from an older coordinator", resp.Markers[0].Topics[0].Partitions[0].ErrorCode, kerr.TransactionCoordinatorFenced)
	marker.Markers[0].CoordinatorEpoch, marker.Markers[0].ProducerEpoch = last.CoordinatorEpoch, last.ProducerEpoch-1
	if resp, err = marker.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "marker for an older producer epoch", resp.Markers[0].Topics[0].Partitions[0].ErrorCode, kerr.InvalidProducerEpoch)

	// The broker serves on, and read_committed readers see the one
	// committed transaction.
	checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"c": txnPartitions})
}

// TestTxnFindHangingAndAbort leaves a transaction open that its
// coordinator does not know (verification off, so a batch can start one
// without AddPartitionsToTxn, as old clients' late retries could), finds
// it with `fjord txn find-hanging` and ends it with `fjord txn abort`; the
// last stable offset then moves on.
func TestTxnFindHangingAndAbort(t *testing.T) {
	s := startServer(t, map[string]string{"transaction.partition.verification.enable": "false"})
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "txnhang")
	createTopic(t, ctx, adm, topic, txnPartitions, nil)
	cl := newKgo(t, s.Addr, kgo.MaxVersions(kversion.V3_6_0()))
	id := "hang-" + topic
	pid, epoch := initTxnProducer(t, ctx, cl, id)
	w := dialWire(t, s.Addr)
	wantCode(t, "transactional batch without verification",
		producePartitionError(t, w, txnProduceRequest(id, topic, 1, pid, epoch, 0, "h1", "h2")), nil)
	// The producer is gone; later plain records pile up behind it.
	produceKcat(t, ctx, s.Addr, topic, []rec{{Key: "k", Value: "after"}}, "-p", "1")
	if lso, hw := endOffsets(t, ctx, cl, topic, 1)[1], endOffsets(t, ctx, cl, topic, 0)[1]; lso != 0 || hw != 3 {
		t.Fatalf("last stable offset %d, high watermark %d; want 0 and 3", lso, hw)
	}

	out, errOut, err := fjordtest.Run(t, nil, "txn", "find-hanging", "--brokers", s.Addr, "--topic", topic,
		"--max-transaction-timeout", "0")
	if err != nil {
		t.Fatalf("find-hanging: %v\n%s%s", err, out, errOut)
	}
	row := fmt.Sprintf("%s\t1\t%d\t%d", topic, pid, epoch)
	if !strings.Contains(strings.Join(strings.Fields(out), "\t"), strings.Join(strings.Fields(row), "\t")) {
		t.Fatalf("find-hanging did not list %s/1 producer %d:\n%s", topic, pid, out)
	}
	out, errOut, err = fjordtest.Run(t, nil, "txn", "abort", "--brokers", s.Addr, "--topic", topic,
		"--partition", "1", "--start-offset", "0")
	if err != nil {
		t.Fatalf("abort: %v\n%s%s", err, out, errOut)
	}
	eventually(t, ctx, "last stable offset past the aborted transaction", func() (bool, string) {
		lso := endOffsets(t, ctx, cl, topic, 1)[1]
		return lso == 4, fmt.Sprintf("last stable offset %d", lso)
	})
	// The aborted records come before the later one in the partition: a
	// reader that saw them would return them first.
	committed := consumeKgo(t, ctx, s.Addr, topic, 1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if len(committed) != 1 || committed[0].Value != "after" {
		t.Fatalf("read_committed read %+v, want only the record after the aborted transaction", committed)
	}
}
