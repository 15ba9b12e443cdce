package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// workloadRecords and workloadKeys size the keyed workload every client runs.
const (
	workloadRecords    = 10_000
	workloadKeys       = 100
	workloadPartitions = 8
)

// produceKgo produces records (synchronously from the caller's view: it
// returns after every promise fired) and returns them with the partition
// and offset each was acknowledged at.
func produceKgo(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, records []rec, onAck func(acked int64)) []rec {
	t.Helper()
	var (
		mu    sync.Mutex
		acked []rec
		errs  []error
		count atomic.Int64
	)
	for _, r := range records {
		kr := &kgo.Record{Topic: topic, Key: []byte(r.Key), Value: []byte(r.Value), Timestamp: r.Timestamp}
		cl.Produce(ctx, kr, func(kr *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", kr.Value, err))
				return
			}
			acked = append(acked, recFromKgo(kr))
			if onAck != nil {
				onAck(count.Add(1))
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush %s: %v", topic, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("produce %s: %d of %d records failed, first: %v", topic, len(errs), len(records), errs[0])
	}
	return acked
}

// checkAcked asserts every acknowledged record was read back at the
// partition and offset of its acknowledgement.
func checkAcked(t *testing.T, acked []rec, byPartition map[int32][]rec) {
	t.Helper()
	for _, a := range acked {
		rs := byPartition[a.Partition]
		if a.Offset < 0 || a.Offset >= int64(len(rs)) || rs[a.Offset].Value != a.Value {
			t.Fatalf("acked %s at %d/%d, not found there", a.Value, a.Partition, a.Offset)
		}
	}
}

func TestFranzGoKeyedProduceConsume(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, 3*testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "keyed")
	createTopic(t, ctx, adm, topic, workloadPartitions, nil)

	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	produced := keyedWorkload(workloadRecords, workloadKeys, base)
	acked := produceKgo(t, ctx, newKgo(t, s.Addr, kgo.DefaultProduceTopic(topic)), topic, produced, nil)
	consumed := consumeKgo(t, ctx, s.Addr, topic, len(produced))
	byPartition := checkConsumed(t, produced, consumed, checkTimestamps)
	checkAcked(t, acked, byPartition)
	if end := sumOffsets(offsetsOf(t, ctx, adm, topic, true)); end != workloadRecords {
		t.Errorf("sum of end offsets = %d, want %d", end, workloadRecords)
	}

	t.Run("seek by offset", func(t *testing.T) {
		for p, rs := range byPartition {
			from := int64(len(rs) / 3)
			got := consumePartitionKgo(t, ctx, s.Addr, topic, p, from, 1)
			if got[0].Offset != from || got[0].Value != rs[from].Value {
				t.Errorf("partition %d from offset %d: first record %d %s, want %d %s", p, from, got[0].Offset, got[0].Value, from, rs[from].Value)
			}
		}
	})

	t.Run("seek by timestamp", func(t *testing.T) {
		p, millis, want := timestampProbe(t, byPartition)
		listed, err := adm.ListOffsetsAfterMilli(ctx, millis, topic)
		if err != nil {
			t.Fatalf("ListOffsetsAfterMilli: %v", err)
		}
		got, ok := listed.Lookup(topic, p)
		if !ok || got.Err != nil || got.Offset != want {
			t.Errorf("ListOffsets partition %d at %d ms = %+v, want offset %d", p, millis, got, want)
		}
		// A time before every record finds each partition's first offset.
		listed, err = adm.ListOffsetsAfterMilli(ctx, base.Add(-time.Minute).UnixMilli(), topic)
		if err != nil {
			t.Fatalf("ListOffsetsAfterMilli: %v", err)
		}
		for p := range byPartition {
			if got, _ := listed.Lookup(topic, p); got.Offset != 0 {
				t.Errorf("ListOffsets partition %d before all records = %+v, want offset 0", p, got)
			}
		}
	})
}

// compressionCodecs are the codecs every client round-trips; code is the
// value in a batch's attributes.
var compressionCodecs = []struct {
	name string
	code int16
	kgo  kgo.CompressionCodec
}{
	{"gzip", 1, kgo.GzipCompression()},
	{"snappy", 2, kgo.SnappyCompression()},
	{"lz4", 3, kgo.Lz4Compression()},
	{"zstd", 4, kgo.ZstdCompression()},
}

// compressibleWorkload is a keyed workload whose values are long and
// repetitive, so that every codec actually shrinks them.
func compressibleWorkload(n int) []rec {
	records := keyedWorkload(n, 20, time.Now().Truncate(time.Millisecond))
	for i := range records {
		records[i].Value += strings.Repeat(" fjord compresses this", 20)
	}
	return records
}

func TestFranzGoCompression(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	for _, codec := range compressionCodecs {
		t.Run(codec.name, func(t *testing.T) {
			topic := uniqueTopic(t, "c")
			createTopic(t, ctx, adm, topic, 2, nil)
			produced := compressibleWorkload(500)
			cl := newKgo(t, s.Addr, kgo.ProducerBatchCompression(codec.kgo), kgo.ProducerLinger(5*time.Millisecond))
			produceKgo(t, ctx, cl, topic, produced, nil)
			checkConsumed(t, produced, consumeKgo(t, ctx, s.Addr, topic, len(produced)), ignoreTimestamps)
			checkStoredCodec(t, s.Addr, topic, 2, codec.code)
		})
	}
}

// checkStoredCodec asserts every stored batch of topic kept the producer's
// compression codec.
func checkStoredCodec(t *testing.T, addr, topic string, partitions int32, code int16) {
	t.Helper()
	for p := range partitions {
		for i, got := range batchCodecs(t, addr, topic, p) {
			if got != code {
				t.Errorf("%s/%d batch %d stored with codec %d, produced with %d", topic, p, i, got, code)
			}
		}
	}
}

// TestFranzGoIdempotentRetries cuts every connection through a proxy while
// produce requests are in flight: the idempotent producer retries batches
// the broker may already have written, and the broker must not store them
// twice.
func TestFranzGoIdempotentRetries(t *testing.T) {
	proxy, s := startBehindProxy(t)
	ctx := testContext(t, 2*testTimeout)
	adm := newAdmin(t, proxy.Addr())
	topic := uniqueTopic(t, "idem")
	createTopic(t, ctx, adm, topic, workloadPartitions, nil)

	produced := keyedWorkload(workloadRecords, workloadKeys, time.Now().Truncate(time.Millisecond))
	cl := newKgo(t, proxy.Addr(), kgo.ProducerLinger(time.Millisecond), kgo.MaxBufferedRecords(2000))
	var cut atomic.Int64
	acked := produceKgo(t, ctx, cl, topic, produced, func(n int64) {
		if n%1000 == 0 {
			cut.Add(int64(proxy.Cut()))
		}
	})
	if cut.Load() == 0 {
		t.Errorf("no connection was cut while producing; the test proved nothing")
	}
	byPartition := checkConsumed(t, produced, consumeKgo(t, ctx, s.Addr, topic, len(produced)), ignoreTimestamps)
	checkAcked(t, acked, byPartition)
	if end := sumOffsets(offsetsOf(t, ctx, adm, topic, true)); end != workloadRecords {
		t.Errorf("sum of end offsets = %d, want %d: duplicates or losses", end, workloadRecords)
	}
}

func TestFranzGoDeleteRecreateTopic(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "t")
	oldID := createTopic(t, ctx, adm, topic, 3, nil)
	produced := keyedWorkload(300, 30, time.Now().Truncate(time.Millisecond))
	produceKgo(t, ctx, newKgo(t, s.Addr), topic, produced, nil)

	deleteTopicAndWait(t, ctx, adm, topic)
	newID := recreateTopic(t, ctx, adm, topic, 3)
	if newID == oldID {
		t.Errorf("re-created topic kept id %v", oldID)
	}
	for p, o := range offsetsOf(t, ctx, adm, topic, true) {
		if o != 0 {
			t.Errorf("re-created topic partition %d has end offset %d, want 0", p, o)
		}
	}
	// The first record of the new topic starts again at offset 0.
	again := produceKgo(t, ctx, newKgo(t, s.Addr), topic, produced[:1], nil)
	if again[0].Offset != 0 {
		t.Errorf("first record of re-created topic at offset %d, want 0", again[0].Offset)
	}
	got := consumeKgo(t, ctx, s.Addr, topic, 1)
	if got[0].Value != produced[0].Value || got[0].Offset != 0 {
		t.Errorf("re-created topic holds %+v, want only %s at offset 0", got[0], produced[0].Value)
	}
}
