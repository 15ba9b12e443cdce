package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// retentionServerConfig runs retention every 200ms so tests wait briefly.
var retentionServerConfig = map[string]string{"log.retention.check.interval.ms": "200"}

// segmentFiles lists the .log files of one partition directory.
func segmentFiles(t *testing.T, dataDir, topic string, partition int32) []string {
	t.Helper()
	dir := filepath.Join(dataDir, fmt.Sprintf("%s-%d", topic, partition))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("partition directory: %v", err)
	}
	var logs []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".log") {
			logs = append(logs, e.Name())
		}
	}
	return logs
}

// startOffset is the log start offset of one partition.
func startOffset(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partition int32) int64 {
	t.Helper()
	return offsetsOf(t, ctx, adm, topic, false)[partition]
}

// fetchErrorAt fetches one partition at offset over a raw connection and
// returns the partition's error code.
func fetchErrorAt(t *testing.T, addr, topic string, partition int32, offset int64) int16 {
	t.Helper()
	c := dialWire(t, addr)
	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	req.ReplicaID = -1
	req.MaxBytes = 1 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = 1 << 20
	rp.LogStartOffset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := c.roundTrip(req).(*kmsg.FetchResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch %s/%d: unexpected response shape", topic, partition)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// checkResumesAtStart asserts that a fetch at offset 0, now behind the log
// start, fails with OFFSET_OUT_OF_RANGE and that a franz-go consumer
// positioned there resets to the log start offset.
func checkResumesAtStart(t *testing.T, ctx context.Context, addr, topic string, start int64) {
	t.Helper()
	if code := fetchErrorAt(t, addr, topic, 0, 0); code != 1 {
		t.Errorf("fetch at offset 0 behind log start %d: error code %d, want OFFSET_OUT_OF_RANGE (1)", start, code)
	}
	cl := newKgo(t, addr,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumer at offset 0 never resumed: %v", ctx.Err())
		}
		var first *kgo.Record
		fetches.EachRecord(func(r *kgo.Record) {
			if first == nil {
				first = r
			}
		})
		if first != nil {
			if first.Offset != start {
				t.Errorf("consumer reset from offset 0 resumed at %d, want log start %d", first.Offset, start)
			}
			return
		}
	}
}

func TestRetentionBySizeAndDeleteRecords(t *testing.T) {
	s := startServer(t, retentionServerConfig)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	const topic = "by-size"
	createTopic(t, ctx, adm, topic, 1, map[string]string{
		"segment.bytes":   "1048576", // Kafka 4's smallest segment
		"retention.bytes": "1048576",
	})
	// 3.5 MiB in batches of at most 64 KiB: three full segments and part of
	// a fourth, of which retention keeps at least the last two.
	records := make([]rec, 224)
	for i := range records {
		records[i] = rec{Key: "k", Value: fmt.Sprintf("v%06d", i) + strings.Repeat("x", 16<<10)}
	}
	produceKgo(t, ctx, newKgo(t, s.Addr, kgo.ProducerBatchMaxBytes(64<<10), kgo.ProducerBatchCompression(kgo.NoCompression())), topic, records, nil)
	if logs := segmentFiles(t, s.DataDir, topic, 0); len(logs) < 2 {
		t.Errorf("segments after 3.5 MiB with segment.bytes 1 MiB: %v, want more than one .log", logs)
	}

	var start int64
	eventually(t, ctx, "retention.bytes moves the log start offset", func() (bool, string) {
		start = startOffset(t, ctx, adm, topic, 0)
		return start > 0, fmt.Sprintf("log start offset %d", start)
	})
	checkResumesAtStart(t, ctx, s.Addr, topic, start)

	t.Run("DeleteRecords", func(t *testing.T) {
		target := start + 10
		resp, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: target}}})
		if err != nil {
			t.Fatalf("DeleteRecords: %v", err)
		}
		got, ok := resp.Lookup(topic, 0)
		if !ok || got.Err != nil || got.LowWatermark != target {
			t.Fatalf("DeleteRecords to %d = %+v", target, got)
		}
		if now := startOffset(t, ctx, adm, topic, 0); now != target {
			t.Errorf("log start offset after DeleteRecords to %d = %d", target, now)
		}
		if code := fetchErrorAt(t, s.Addr, topic, 0, target-1); code != 1 {
			t.Errorf("fetch at %d below DeleteRecords' %d: error code %d, want OFFSET_OUT_OF_RANGE (1)", target-1, target, code)
		}
		got0 := consumePartitionKgo(t, ctx, s.Addr, topic, 0, target, 1)
		if got0[0].Offset != target {
			t.Errorf("first record from %d is at %d", target, got0[0].Offset)
		}
	})
}

// TestRetentionByTime produces batches stamped five, four, three, two and
// one hour ago into a topic that rolls a segment after ten minutes of
// record time and keeps ninety: each batch gets its own segment, and
// retention deletes all but the last by their largest timestamp, as Kafka
// does, without the test waiting for the clock.
func TestRetentionByTime(t *testing.T) {
	s := startServer(t, retentionServerConfig)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	const (
		topic        = "by-time"
		perBatch     = 10
		hoursOfBatch = 5
	)
	createTopic(t, ctx, adm, topic, 1, map[string]string{
		"segment.ms":   fmt.Sprint((10 * time.Minute).Milliseconds()),
		"retention.ms": fmt.Sprint((90 * time.Minute).Milliseconds()),
	})
	cl := newKgo(t, s.Addr)
	now := time.Now().Truncate(time.Millisecond)
	for h := hoursOfBatch; h >= 1; h-- {
		batch := make([]rec, perBatch)
		for i := range batch {
			batch[i] = rec{Key: "k", Value: fmt.Sprintf("h%d-%d", h, i), Timestamp: now.Add(-time.Duration(h) * time.Hour)}
		}
		produceKgo(t, ctx, cl, topic, batch, nil)
	}
	want := int64((hoursOfBatch - 1) * perBatch)
	// Retention runs every 200ms; 30s is plenty and keeps a failure cheap.
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	eventually(t, waitCtx, "retention.ms deletes the segments older than 90 minutes", func() (bool, string) {
		start := startOffset(t, ctx, adm, topic, 0)
		return start == want, fmt.Sprintf("log start offset %d, want %d; segments %v (Kafka rolls when a batch's timestamp is segment.ms past the segment's first)",
			start, want, segmentFiles(t, s.DataDir, topic, 0))
	})
	checkResumesAtStart(t, ctx, s.Addr, topic, want)
	if end := offsetsOf(t, ctx, adm, topic, true)[0]; end != hoursOfBatch*perBatch {
		t.Errorf("end offset %d after retention, want %d", end, hoursOfBatch*perBatch)
	}
}
