package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnPartitions is how many partitions the transaction tests write: a
// transaction spans all of them.
const txnPartitions = 3

// txnRecords is one transaction's records: perPartition to each partition,
// valued prefix-P-I.
func txnRecords(topic, prefix string, perPartition int) []*kgo.Record {
	var out []*kgo.Record
	for i := range perPartition {
		for p := range int32(txnPartitions) {
			out = append(out, &kgo.Record{Topic: topic, Partition: p, Key: []byte(prefix),
				Value: fmt.Appendf(nil, "%s-%d-%d", prefix, p, i)})
		}
	}
	return out
}

// runKgoTxn produces records in one transaction and ends it.
func runKgoTxn(ctx context.Context, cl *kgo.Client, records []*kgo.Record, commit kgo.TransactionEndTry) error {
	if err := cl.BeginTransaction(); err != nil {
		return err
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		return err
	}
	return cl.EndTransaction(ctx, commit)
}

// valuesWithPrefix counts consumed values by their prefix (before the
// first dash).
func valuesByPrefix(records []rec) map[string]int {
	out := map[string]int{}
	for _, r := range records {
		prefix, _, _ := strings.Cut(r.Value, "-")
		out[prefix]++
	}
	return out
}

// checkReadCommitted reads the topic read_committed until the last
// committed transaction's values (prefix last) arrived on every partition
// and asserts the values are exactly want (prefix -> count), each once:
// since last was written after every other transaction in each partition,
// an aborted or duplicated value would have come before it.
func checkReadCommitted(t *testing.T, ctx context.Context, addr, topic string, want map[string]int) {
	t.Helper()
	total := 0
	for _, n := range want {
		total += n
	}
	got := consumeKgo(t, ctx, addr, topic, total, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if counts := valuesByPrefix(got); !mapsEqual(counts, want) {
		t.Fatalf("read_committed read %v, want %v", counts, want)
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.Value] {
			t.Fatalf("read_committed read %s twice", r.Value)
		}
		seen[r.Value] = true
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// endOffsets lists the end of every partition of topic at an isolation
// level (0 read_uncommitted: the high watermark; 1 read_committed: the
// last stable offset).
func endOffsets(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, isolation int8) []int64 {
	t.Helper()
	ends, err := listEnds(ctx, cl, topic, txnPartitions, isolation)
	if err != nil {
		t.Fatal(err)
	}
	return ends
}

func TestTransactionsFranzGoCommitAbort(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, 3*testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "txn")
	createTopic(t, ctx, adm, topic, txnPartitions, nil)
	cl := newKgo(t, s.Addr, kgo.TransactionalID("e2e-"+topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionTimeout(time.Minute))
	for _, step := range []struct {
		prefix string
		end    kgo.TransactionEndTry
	}{{"c", kgo.TryCommit}, {"a", kgo.TryAbort}, {"d", kgo.TryCommit}} {
		if err := runKgoTxn(ctx, cl, txnRecords(topic, step.prefix, 10), step.end); err != nil {
			t.Fatalf("transaction %s: %v", step.prefix, err)
		}
	}
	checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"c": 30, "d": 30})
	all := consumeKgo(t, ctx, s.Addr, topic, 90)
	if counts := valuesByPrefix(all); !mapsEqual(counts, map[string]int{"c": 30, "a": 30, "d": 30}) {
		t.Fatalf("read_uncommitted read %v", counts)
	}
	// Each partition: 10 records and a marker per transaction; with all
	// ended the last stable offset is the high watermark.
	if hw, lso := endOffsets(t, ctx, cl, topic, 0), endOffsets(t, ctx, cl, topic, 1); !slices.Equal(hw, lso) || hw[0] != 33 {
		t.Fatalf("high watermarks %v, last stable offsets %v; want 33 each", hw, lso)
	}
	kc := consumeKcat(t, ctx, s.Addr, topic, "-X", "isolation.level=read_committed")
	if counts := valuesByPrefix(kc); !mapsEqual(counts, map[string]int{"c": 30, "d": 30}) {
		t.Fatalf("kcat read_committed read %v", counts)
	}
}

// TestTransactionOpenHoldsLastStableOffset: an open transaction holds
// the last stable offset at its first record; read_committed consumers
// see records before it, not its own, until it commits.
func TestTransactionOpenHoldsLastStableOffset(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, 3*testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "txnopen")
	createTopic(t, ctx, adm, topic, txnPartitions, nil)
	cl := newKgo(t, s.Addr, kgo.TransactionalID("e2e-"+topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := runKgoTxn(ctx, cl, txnRecords(topic, "c", 2), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, txnRecords(topic, "o", 2)...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	lso, hw := endOffsets(t, ctx, cl, topic, 1), endOffsets(t, ctx, cl, topic, 0)
	for p := range txnPartitions {
		if lso[p] != 3 || hw[p] != 5 {
			t.Fatalf("partition %d: last stable offset %d, high watermark %d; want 3 and 5", p, lso[p], hw[p])
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"c": 6, "o": 6})
}

// TestTransactionFencing: a second producer with the same transactional id
// fences the first, whose open transaction is aborted.
func TestTransactionFencing(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, 3*testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "txnfence")
	createTopic(t, ctx, adm, topic, txnPartitions, nil)
	id := "e2e-" + topic
	first := newKgo(t, s.Addr, kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := first.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := first.ProduceSync(ctx, txnRecords(topic, "z", 2)...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	second := newKgo(t, s.Addr, kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := runKgoTxn(ctx, second, txnRecords(topic, "s", 2), kgo.TryCommit); err != nil {
		t.Fatalf("second producer: %v", err)
	}
	err := first.EndTransaction(ctx, kgo.TryCommit)
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("fenced producer's commit: %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", err)
	}
	checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"s": 6})
}

// saramaTxnConfig is a sarama transactional producer's configuration.
func saramaTxnConfig(id string) *sarama.Config {
	cfg := saramaConfig()
	cfg.Producer.Idempotent = true
	cfg.Producer.Transaction.ID = id
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Net.MaxOpenRequests = 1
	return cfg
}

func TestTransactionsSaramaCommitAbort(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, 3*testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "txnsarama")
	createTopic(t, ctx, adm, topic, txnPartitions, nil)
	producer, err := sarama.NewSyncProducer([]string{s.Addr}, saramaTxnConfig("e2e-"+topic))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for _, step := range []struct {
		prefix string
		commit bool
	}{{"c", true}, {"a", false}, {"d", true}} {
		if err := producer.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		var msgs []*sarama.ProducerMessage
		for _, r := range txnRecords(topic, step.prefix, 10) {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: r.Partition, Value: sarama.ByteEncoder(r.Value)})
		}
		if err := producer.SendMessages(msgs); err != nil {
			t.Fatalf("transaction %s: %v", step.prefix, err)
		}
		end := producer.CommitTxn
		if !step.commit {
			end = producer.AbortTxn
		}
		if err := end(); err != nil {
			t.Fatalf("ending transaction %s: %v", step.prefix, err)
		}
	}
	checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"c": 30, "d": 30})
	kc := consumeKcat(t, ctx, s.Addr, topic, "-X", "isolation.level=read_uncommitted")
	if counts := valuesByPrefix(kc); !mapsEqual(counts, map[string]int{"c": 30, "a": 30, "d": 30}) {
		t.Fatalf("kcat read_uncommitted read %v", counts)
	}
}

// librdkafkaTxnScript drives librdkafka's transactional producer through
// its Python binding (Debian's python3-confluent-kafka): a committed, an
// aborted and a committed transaction, each of 10 records per partition.
const librdkafkaTxnScript = `
import sys
from confluent_kafka import Producer
addr, topic, tid, parts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = Producer({"bootstrap.servers": addr, "transactional.id": tid})
p.init_transactions(60)
for prefix, commit in (("c", True), ("a", False), ("d", True)):
    p.begin_transaction()
    for i in range(10):
        for part in range(parts):
            p.produce(topic, value="%s-%d-%d" % (prefix, part, i), partition=part)
    if commit:
        p.commit_transaction(60)
    else:
        p.flush(60)
        p.abort_transaction(60)
print("done")
`

func TestTransactionsLibrdkafkaCommitAbort(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, 3*testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "txnrdkafka")
	createTopic(t, ctx, adm, topic, txnPartitions, nil)
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", librdkafkaTxnScript, s.Addr, topic, "e2e-"+topic, fmt.Sprint(txnPartitions))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "done") {
		t.Fatalf("librdkafka transactional producer: %v\n%s", err, lastBytes(string(out), 4096))
	}
	checkReadCommitted(t, ctx, s.Addr, topic, map[string]int{"c": 30, "d": 30})
	kc := consumeKcat(t, ctx, s.Addr, topic, "-X", "isolation.level=read_committed")
	if counts := valuesByPrefix(kc); !mapsEqual(counts, map[string]int{"c": 30, "d": 30}) {
		t.Fatalf("kcat read_committed read %v", counts)
	}
}
