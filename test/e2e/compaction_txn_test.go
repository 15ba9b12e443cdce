package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCompactionTransactions: on a compacted topic written by two
// transactional producers (franz-go and sarama), compaction removes the
// records of aborted transactions and, after delete.retention.ms, the
// markers of transactions whose records are all gone; read_committed
// (franz-go, librdkafka) and read_uncommitted (librdkafka) readers then see
// the latest committed value of each key and nothing aborted.
func TestCompactionTransactions(t *testing.T) {
	srv := startServer(t, map[string]string{
		"log.cleaner.backoff.ms":          "100",
		"log.retention.check.interval.ms": "100",
	})
	ctx := testContext(t, 2*testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "compacttxn")
	createTopic(t, ctx, adm, topic, 1, map[string]string{
		"cleanup.policy":            "compact",
		"min.cleanable.dirty.ratio": "0.01",
		"delete.retention.ms":       "1000",
		"segment.ms":                "300",
	})

	const keys, rounds = 10, 8
	kg := newKgo(t, srv.Addr, kgo.TransactionalID("e2e-kgo-"+topic), kgo.DefaultProduceTopic(topic))
	sp, err := sarama.NewSyncProducer([]string{srv.Addr}, saramaTxnConfig("e2e-sarama-"+topic))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	want := map[string]string{}
	transactions := 0
	for r := range rounds {
		commit := r%3 != 1
		prefix := "c"
		if !commit {
			prefix = "a"
		}
		var values []string
		for k := range keys {
			values = append(values, fmt.Sprintf("%s-%d-%d", prefix, r, k))
		}
		// Every fourth round goes through sarama, the others franz-go.
		if r%4 == 3 {
			saramaTxn(t, sp, topic, values, commit)
		} else {
			var records []*kgo.Record
			for k, v := range values {
				records = append(records, &kgo.Record{Key: fmt.Appendf(nil, "key-%d", k), Value: []byte(v)})
			}
			end := kgo.TryCommit
			if !commit {
				end = kgo.TryAbort
			}
			if err := runKgoTxn(ctx, kg, records, end); err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
		transactions++
		if commit {
			for k, v := range values {
				want[fmt.Sprintf("key-%d", k)] = v
			}
		}
	}
	if err := runKgoTxn(ctx, kg, []*kgo.Record{{Key: []byte("sentinel"), Value: []byte("end")}}, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	transactions++
	want["sentinel"] = "end"

	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	topicID := md.Topics[topic].ID
	eventually(t, ctx, "aborted records and markers no longer needed compacted away", func() (bool, string) {
		markers, records, err := countBatches(ctx, kg, topic, topicID)
		if err != nil {
			t.Fatal(err)
		}
		// The last round's marker and the sentinel's stay, as may a few
		// that end a cleaned segment or are their producer's last batch.
		if records != len(want) || markers > transactions/2 {
			return false, fmt.Sprintf("%d records and %d markers of %d transactions", records, markers, transactions)
		}
		return true, ""
	})

	byKey := func(rs []rec) map[string]string {
		out := map[string]string{}
		for _, r := range rs {
			if _, dup := out[r.Key]; dup {
				t.Fatalf("key %s read twice after compaction: %v", r.Key, rs)
			}
			out[r.Key] = r.Value
		}
		return out
	}
	check := func(reader string, rs []rec) {
		t.Helper()
		got := byKey(rs)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: key %s holds %q, want %q", reader, k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d keys, want %d: %v", reader, len(got), len(want), got)
		}
	}
	check("franz-go read_committed", consumeKgo(t, ctx, srv.Addr, topic, len(want), kgo.FetchIsolationLevel(kgo.ReadCommitted())))
	check("kcat read_committed", consumeKcat(t, ctx, srv.Addr, topic, "-X", "isolation.level=read_committed"))
	uncommitted := consumeKcat(t, ctx, srv.Addr, topic, "-X", "isolation.level=read_uncommitted")
	for _, r := range uncommitted {
		if strings.HasPrefix(r.Value, "a-") {
			t.Errorf("kcat read_uncommitted read %s of an aborted transaction after compaction", r.Value)
		}
	}
	check("kcat read_uncommitted", uncommitted)
}

// saramaTxn writes values to keys key-0, key-1... of partition 0 in one
// sarama transaction and commits or aborts it.
func saramaTxn(t *testing.T, p sarama.SyncProducer, topic string, values []string, commit bool) {
	t.Helper()
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	var msgs []*sarama.ProducerMessage
	for k, v := range values {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: 0,
			Key: sarama.StringEncoder(fmt.Sprintf("key-%d", k)), Value: sarama.StringEncoder(v)})
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("sarama transaction: %v", err)
	}
	end := p.CommitTxn
	if !commit {
		end = p.AbortTxn
	}
	if err := end(); err != nil {
		t.Fatalf("ending sarama transaction: %v", err)
	}
}

// countBatches fetches partition 0 of topic from its start, read_uncommitted,
// and counts its control batches (markers) and the records of the others.
func countBatches(ctx context.Context, cl *kgo.Client, topic string, topicID [16]byte) (markers, records int, err error) {
	for offset := int64(0); ; {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MaxBytes = 0, 64<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, topicID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 0, offset, 64<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return 0, 0, err
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			return 0, 0, fmt.Errorf("fetch answered %d topics", len(resp.Topics))
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			return 0, 0, fmt.Errorf("fetch error code %d", p.ErrorCode)
		}
		raw := p.RecordBatches
		if len(raw) == 0 {
			return markers, records, nil
		}
		for len(raw) >= 12 {
			var b kmsg.RecordBatch
			size := 12 + int(int32(uint32(raw[8])<<24|uint32(raw[9])<<16|uint32(raw[10])<<8|uint32(raw[11])))
			if size > len(raw) {
				break // a partial batch at the end of the response
			}
			if err := b.ReadFrom(raw[:size]); err != nil {
				return 0, 0, fmt.Errorf("batch at %d: %w", offset, err)
			}
			if b.Attributes&0x20 != 0 {
				markers++
			} else {
				records += int(b.NumRecords)
			}
			offset = b.FirstOffset + int64(b.LastOffsetDelta) + 1
			raw = raw[size:]
		}
		if offset >= p.HighWatermark {
			return markers, records, nil
		}
	}
}
