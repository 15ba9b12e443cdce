package e2e

import (
	"context"
	"errors"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestAdminAPIs drives the administrative APIs a Kafka admin client uses
// beyond topic creation: CreatePartitions (with validate-only),
// DescribeConfigs and IncrementalAlterConfigs, DeleteRecords,
// DescribeLogDirs, DescribeProducers, OffsetForLeaderEpoch and ListOffsets
// for the max timestamp, and checks each outcome.
func TestAdminAPIs(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "admin")
	createTopic(t, ctx, adm, topic, 2, nil)

	cl := newKgo(t, s.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := range 10 {
		r := &kgo.Record{Partition: 0, Value: []byte{byte(i)}}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}

	t.Run("create partitions", func(t *testing.T) {
		resp, err := adm.ValidateCreatePartitions(ctx, 2, topic)
		if err != nil || resp[topic].Err != nil {
			t.Fatalf("validate: %v %v", err, resp[topic].Err)
		}
		if n := len(topicMetadata(t, ctx, adm, topic).Partitions); n != 2 {
			t.Fatalf("validate-only changed the partition count to %d", n)
		}
		resp, err = adm.CreatePartitions(ctx, 2, topic)
		if err != nil || resp[topic].Err != nil {
			t.Fatalf("create: %v %v", err, resp[topic].Err)
		}
		waitTopicReady(t, ctx, adm, topic, 4)
		resp, _ = adm.UpdatePartitions(ctx, 3, topic)
		if !errorIs(resp[topic].Err, kerr.InvalidPartitions) {
			t.Fatalf("shrinking to 3 partitions: got %v, want INVALID_PARTITIONS", resp[topic].Err)
		}
	})

	t.Run("configs", func(t *testing.T) {
		value := "123456789"
		alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: &value}}, topic)
		if err != nil || alter[0].Err != nil {
			t.Fatalf("alter: %v %v", err, alter[0].Err)
		}
		described, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := described.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" {
				found = c.MaybeValue() == value && c.Source == 1 // DYNAMIC_TOPIC_CONFIG
			}
		}
		if !found {
			t.Fatalf("retention.ms not reported as %s from the topic", value)
		}
		bad := "not-a-number"
		alter, _ = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: &bad}}, topic)
		if !errorIs(alter[0].Err, kerr.InvalidConfig) {
			t.Fatalf("bad value: got %v, want INVALID_CONFIG", alter[0].Err)
		}
	})

	t.Run("sarama describe config", func(t *testing.T) {
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V3_6_0_0
		sa, err := sarama.NewClusterAdmin([]string{s.Addr}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer sa.Close()
		entries, err := sa.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"retention.ms"}})
		if err != nil || len(entries) != 1 || entries[0].Value != "123456789" {
			t.Fatalf("sarama DescribeConfig: %+v %v", entries, err)
		}
	})

	t.Run("delete records", func(t *testing.T) {
		offsets := kadm.Offsets{}
		offsets.Add(kadm.Offset{Topic: topic, Partition: 0, At: 4})
		resp, err := adm.DeleteRecords(ctx, offsets)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := resp.Lookup(topic, 0)
		if r.Err != nil || r.LowWatermark != 4 {
			t.Fatalf("delete records: low watermark %d err %v", r.LowWatermark, r.Err)
		}
		offsets = kadm.Offsets{}
		offsets.Add(kadm.Offset{Topic: topic, Partition: 0, At: 99})
		resp, _ = adm.DeleteRecords(ctx, offsets)
		if r, _ := resp.Lookup(topic, 0); !errorIs(r.Err, kerr.OffsetOutOfRange) {
			t.Fatalf("delete past the end: got %v, want OFFSET_OUT_OF_RANGE", r.Err)
		}
	})

	t.Run("log dirs", func(t *testing.T) {
		dirs, err := adm.DescribeAllLogDirs(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var size int64 = -1
		dirs.Each(func(d kadm.DescribedLogDir) {
			if p, ok := d.Topics.Lookup(topic, 0); ok {
				size = p.Size
			}
		})
		if size <= 0 {
			t.Fatalf("partition 0 size %d in DescribeLogDirs", size)
		}
	})

	t.Run("producers", func(t *testing.T) {
		described, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}}})
		if err != nil {
			t.Fatal(err)
		}
		p, ok := described[topic].Partitions[0]
		if !ok || p.Err != nil || len(p.ActiveProducers) != 1 || p.ActiveProducers[0].LastSequence != 9 {
			t.Fatalf("describe producers: %+v", p)
		}
	})

	t.Run("leader epoch and max timestamp", func(t *testing.T) {
		req := kadm.OffsetForLeaderEpochRequest{}
		req.Add(topic, 0, 0)
		epochs, err := adm.OffsetForLeaderEpoch(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		e, ok := epochs[topic][0]
		if !ok || e.Err != nil || e.EndOffset != 10 {
			t.Fatalf("offset for leader epoch 0: %+v", e)
		}
		maxTS, err := adm.ListMaxTimestampOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := maxTS.Lookup(topic, 0); !ok || o.Err != nil || o.Offset < 4 || o.Offset > 9 {
			t.Fatalf("max timestamp offset: %+v", o)
		}
	})
}

func topicMetadata(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) kadm.TopicDetail {
	t.Helper()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	return md.Topics[topic]
}

func errorIs(err error, target *kerr.Error) bool {
	return err != nil && errors.Is(err, target)
}
