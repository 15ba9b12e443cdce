package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func saramaMessages(topic string, records []rec) []*sarama.ProducerMessage {
	msgs := make([]*sarama.ProducerMessage, len(records))
	for i, r := range records {
		msgs[i] = &sarama.ProducerMessage{
			Topic:     topic,
			Key:       sarama.StringEncoder(r.Key),
			Value:     sarama.StringEncoder(r.Value),
			Timestamp: r.Timestamp,
		}
	}
	return msgs
}

// produceSarama sends records with a sync producer and returns them with
// the partition and offset each was acknowledged at.
func produceSarama(t *testing.T, addr, topic string, records []rec, cfg *sarama.Config) []rec {
	t.Helper()
	producer, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewSyncProducer: %v", err)
	}
	defer producer.Close()
	msgs := saramaMessages(topic, records)
	if err := producer.SendMessages(msgs); err != nil {
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) && len(perrs) > 0 {
			t.Fatalf("sarama produce %s: %d of %d failed, first: %v", topic, len(perrs), len(msgs), perrs[0].Err)
		}
		t.Fatalf("sarama produce %s: %v", topic, err)
	}
	acked := make([]rec, len(records))
	for i, m := range msgs {
		acked[i] = records[i]
		acked[i].Partition, acked[i].Offset = m.Partition, m.Offset
	}
	return acked
}

func TestSaramaKeyedProduceConsume(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, 3*testTimeout)
	topic := uniqueTopic(t, "keyed")

	// Create the topic with sarama's ClusterAdmin once.
	admin, err := sarama.NewClusterAdmin([]string{s.Addr}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewClusterAdmin: %v", err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: workloadPartitions, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("sarama CreateTopic: %v", err)
	}
	waitTopicReady(t, ctx, newAdmin(t, s.Addr), topic, workloadPartitions)

	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	produced := keyedWorkload(workloadRecords, workloadKeys, base)
	acked := produceSarama(t, s.Addr, topic, produced, saramaConfig())
	byPartition := checkConsumed(t, produced, consumeSarama(t, ctx, s.Addr, topic), checkTimestamps)
	checkAcked(t, acked, byPartition)

	client, err := sarama.NewClient([]string{s.Addr}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewClient: %v", err)
	}
	defer client.Close()

	t.Run("seek by offset", func(t *testing.T) {
		consumer, err := sarama.NewConsumerFromClient(client)
		if err != nil {
			t.Fatalf("sarama.NewConsumer: %v", err)
		}
		defer consumer.Close()
		for p, rs := range byPartition {
			from := int64(len(rs) / 3)
			got := consumeSaramaPartition(t, ctx, consumer, topic, p, from, 1)
			if got[0].Offset != from || got[0].Value != rs[from].Value {
				t.Errorf("partition %d from offset %d: first record %d %s, want %d %s", p, from, got[0].Offset, got[0].Value, from, rs[from].Value)
			}
		}
	})

	t.Run("seek by timestamp", func(t *testing.T) {
		p, millis, want := timestampProbe(t, byPartition)
		got, err := client.GetOffset(topic, p, millis)
		if err != nil || got != want {
			t.Errorf("GetOffset partition %d at %d ms = %d, %v; want %d", p, millis, got, err, want)
		}
		got, err = client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil || got != 0 {
			t.Errorf("GetOffset partition %d oldest = %d, %v; want 0", p, got, err)
		}
		got, err = client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil || got != int64(len(byPartition[p])) {
			t.Errorf("GetOffset partition %d newest = %d, %v; want %d", p, got, err, len(byPartition[p]))
		}
	})
}

func TestSaramaCompression(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	codecs := map[string]sarama.CompressionCodec{
		"gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
		"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
	}
	for _, codec := range compressionCodecs {
		t.Run(codec.name, func(t *testing.T) {
			topic := uniqueTopic(t, "c")
			createTopic(t, ctx, adm, topic, 2, nil)
			produced := compressibleWorkload(500)
			cfg := saramaConfig()
			cfg.Producer.Compression = codecs[codec.name]
			// Several batches per partition; Frequency flushes the remainder.
			cfg.Producer.Flush.Messages = 50
			cfg.Producer.Flush.Frequency = 5 * time.Millisecond
			produceSarama(t, s.Addr, topic, produced, cfg)
			checkConsumed(t, produced, consumeSarama(t, ctx, s.Addr, topic), ignoreTimestamps)
			checkStoredCodec(t, s.Addr, topic, 2, codec.code)
		})
	}
}

// TestSaramaIdempotentRetries cuts sarama's connections while an idempotent
// async producer has requests in flight; the retried batches must not be
// stored twice.
func TestSaramaIdempotentRetries(t *testing.T) {
	proxy, s := startBehindProxy(t)
	ctx := testContext(t, 2*testTimeout)
	adm := newAdmin(t, proxy.Addr())
	topic := uniqueTopic(t, "idem")
	createTopic(t, ctx, adm, topic, workloadPartitions, nil)

	cfg := saramaConfig()
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Max = 50
	produced := keyedWorkload(workloadRecords/2, workloadKeys, time.Now().Truncate(time.Millisecond))
	acked, cut := produceSaramaAsync(t, ctx, proxy, topic, produced, cfg)
	if cut == 0 {
		t.Errorf("no connection was cut while producing; the test proved nothing")
	}
	byPartition := checkConsumed(t, produced, consumeSarama(t, ctx, s.Addr, topic), ignoreTimestamps)
	checkAcked(t, acked, byPartition)
	if end := sumOffsets(offsetsOf(t, ctx, adm, topic, true)); end != int64(len(produced)) {
		t.Errorf("sum of end offsets = %d, want %d: duplicates or losses", end, len(produced))
	}
}

// produceSaramaAsync produces records with an async producer through proxy,
// cutting every connection after each 500 acknowledgements, and returns the
// acknowledged records and how many connections were cut.
func produceSaramaAsync(t *testing.T, ctx context.Context, proxy *faultProxy, topic string, records []rec, cfg *sarama.Config) ([]rec, int) {
	t.Helper()
	producer, err := sarama.NewAsyncProducer([]string{proxy.Addr()}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewAsyncProducer: %v", err)
	}
	defer producer.Close()
	msgs := saramaMessages(topic, records)
	feedCtx, stopFeeding := context.WithCancel(ctx)
	var feeder sync.WaitGroup
	feeder.Add(1)
	go func() {
		defer feeder.Done()
		for i, m := range msgs {
			m.Metadata = i
			select {
			case producer.Input() <- m:
			case <-feedCtx.Done():
				return
			}
		}
	}()
	defer feeder.Wait()
	defer stopFeeding()

	acked := make([]rec, 0, len(records))
	cut := 0
	for len(acked) < len(records) {
		select {
		case m := <-producer.Successes():
			r := records[m.Metadata.(int)]
			r.Partition, r.Offset = m.Partition, m.Offset
			acked = append(acked, r)
			if len(acked)%500 == 0 {
				cut += proxy.Cut()
			}
		case perr := <-producer.Errors():
			t.Fatalf("sarama produce %s: %v", topic, fmt.Errorf("%v: %w", perr.Msg.Metadata, perr.Err))
		case <-ctx.Done():
			t.Fatalf("sarama produce %s: %d of %d acknowledged before %v", topic, len(acked), len(records), ctx.Err())
		}
	}
	return acked, cut
}

func TestSaramaDeleteRecreateTopic(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	admin, err := sarama.NewClusterAdmin([]string{s.Addr}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewClusterAdmin: %v", err)
	}
	defer admin.Close()
	topic := uniqueTopic(t, "t")
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("sarama CreateTopic: %v", err)
	}
	oldID := waitTopicReady(t, ctx, adm, topic, 3)
	produced := keyedWorkload(300, 30, time.Now().Truncate(time.Millisecond))
	produceSarama(t, s.Addr, topic, produced, saramaConfig())

	if err := admin.DeleteTopic(topic); err != nil {
		t.Fatalf("sarama DeleteTopic: %v", err)
	}
	waitTopicGone(t, ctx, adm, topic)
	eventually(t, ctx, "sarama re-creates "+topic, func() (bool, string) {
		err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false)
		if errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return false, err.Error()
		}
		if err != nil {
			t.Fatalf("sarama CreateTopic again: %v", err)
		}
		return true, ""
	})
	if newID := waitTopicReady(t, ctx, adm, topic, 2); newID == oldID {
		t.Errorf("re-created topic kept id %v", oldID)
	}
	if got := consumeSarama(t, ctx, s.Addr, topic); len(got) != 0 {
		t.Errorf("re-created topic holds %d records, want none", len(got))
	}
	again := produceSarama(t, s.Addr, topic, produced[:1], saramaConfig())
	if again[0].Offset != 0 {
		t.Errorf("first record of re-created topic at offset %d, want 0", again[0].Offset)
	}
}
