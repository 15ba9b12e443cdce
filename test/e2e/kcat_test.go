package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// kcatMetadata is the part of `kcat -L -J` this package reads.
type kcatMetadata struct {
	Topics []struct {
		Topic      string `json:"topic"`
		Error      string `json:"error"`
		Partitions []struct {
			Partition int32 `json:"partition"`
			Leader    int32 `json:"leader"`
		} `json:"partitions"`
	} `json:"topics"`
}

// kcatPartitions returns how many partitions kcat -L sees for topic, or
// -1 with the error kcat reports for it.
func kcatPartitions(t *testing.T, ctx context.Context, addr, topic string) (int, string) {
	t.Helper()
	var md kcatMetadata
	out := kcat(t, ctx, addr, "", "-L", "-J", "-t", topic)
	if err := json.Unmarshal([]byte(out), &md); err != nil {
		t.Fatalf("kcat -L -J output: %v\n%s", err, out)
	}
	for _, tm := range md.Topics {
		if tm.Topic == topic {
			if tm.Error != "" {
				return -1, tm.Error
			}
			return len(tm.Partitions), ""
		}
	}
	return -1, "not listed"
}

func TestKcatKeyedProduceConsume(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, 3*testTimeout)
	topic := uniqueTopic(t, "keyed")
	createTopic(t, ctx, newAdmin(t, s.Addr), topic, workloadPartitions, nil)
	if n, err := kcatPartitions(t, ctx, s.Addr, topic); n != workloadPartitions {
		t.Fatalf("kcat -L sees %d partitions (%s), want %d", n, err, workloadPartitions)
	}

	produced := keyedWorkload(workloadRecords, workloadKeys, time.Now())
	produceKcat(t, ctx, s.Addr, topic, produced)
	byPartition := checkConsumed(t, produced, consumeKcat(t, ctx, s.Addr, topic), ignoreTimestamps)

	t.Run("seek by offset", func(t *testing.T) {
		for p, rs := range byPartition {
			from := int64(len(rs) / 3)
			got := consumeKcat(t, ctx, s.Addr, topic, "-p", fmt.Sprint(p), "-o", fmt.Sprint(from), "-c", "1")
			if len(got) != 1 || got[0].Offset != from || got[0].Value != rs[from].Value {
				t.Errorf("partition %d from offset %d: got %+v, want %d %s", p, from, got, from, rs[from].Value)
			}
		}
	})

	t.Run("seek by timestamp", func(t *testing.T) {
		p, millis, want := timestampProbe(t, byPartition)
		got := consumeKcat(t, ctx, s.Addr, topic, "-p", fmt.Sprint(p), "-o", fmt.Sprintf("s@%d", millis), "-c", "1")
		if len(got) != 1 || got[0].Offset != want {
			t.Errorf("partition %d from s@%d: got %+v, want offset %d", p, millis, got, want)
		}
	})
}

func TestKcatCompression(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	for _, codec := range compressionCodecs {
		t.Run(codec.name, func(t *testing.T) {
			topic := uniqueTopic(t, "c")
			createTopic(t, ctx, adm, topic, 2, nil)
			produced := compressibleWorkload(500)
			produceKcat(t, ctx, s.Addr, topic, produced, "-z", codec.name)
			checkConsumed(t, produced, consumeKcat(t, ctx, s.Addr, topic), ignoreTimestamps)
			if codec.name != "zstd" && produceMinVersion(t, s.Addr) > 0 && !librdkafkaCompressesWithoutProduceV0(t, ctx) {
				t.Logf("librdkafka %s sends %s batches uncompressed to a broker that does not list Produce v0; round trip checked, stored codec not", librdkafkaVersion(t, ctx), codec.name)
				return
			}
			checkStoredCodec(t, s.Addr, topic, 2, codec.code)
		})
	}
}

// produceMinVersion is the lowest Produce version the broker lists in
// ApiVersions.
func produceMinVersion(t *testing.T, addr string) int16 {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "fjord-e2e", "1.0"
	resp := dialWire(t, addr).roundTrip(req).(*kmsg.ApiVersionsResponse)
	for _, k := range resp.ApiKeys {
		if k.ApiKey == 0 {
			return k.MinVersion
		}
	}
	t.Fatalf("ApiVersions lists no Produce: %+v", resp.ApiKeys)
	return -1
}

// librdkafkaVersion is the librdkafka version kcat -V reports.
func librdkafkaVersion(t *testing.T, ctx context.Context) string {
	t.Helper()
	out := kcat(t, ctx, "unused:0", "", "-V")
	_, after, ok := strings.Cut(out, "librdkafka ")
	if !ok {
		t.Fatalf("kcat -V names no librdkafka version:\n%s", out)
	}
	return strings.Fields(after)[0]
}

// librdkafkaCompressesWithoutProduceV0 reports whether kcat's librdkafka
// is 2.11.1 or later. Older versions check gzip, snappy and lz4 support by
// asking whether the broker's ApiVersions lists Produce v0, and silently
// send those codecs uncompressed when it does not (Kafka 4 keeps listing
// v0 for that reason, KAFKA-18659).
func librdkafkaCompressesWithoutProduceV0(t *testing.T, ctx context.Context) bool {
	t.Helper()
	var major, minor, patch int
	v := librdkafkaVersion(t, ctx)
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); err != nil {
		t.Fatalf("librdkafka version %q: %v", v, err)
	}
	return major > 2 || major == 2 && (minor > 11 || minor == 11 && patch >= 1)
}

// TestKcatIdempotentProducer produces with librdkafka's idempotent
// producer; librdkafka reconnects and retries on its own, and the count
// must be exact.
func TestKcatIdempotentProducer(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "idem")
	createTopic(t, ctx, adm, topic, workloadPartitions, nil)
	produced := keyedWorkload(workloadRecords/2, workloadKeys, time.Now())
	produceKcat(t, ctx, s.Addr, topic, produced, "-X", "enable.idempotence=true")
	checkConsumed(t, produced, consumeKcat(t, ctx, s.Addr, topic), ignoreTimestamps)
	if end := sumOffsets(offsetsOf(t, ctx, adm, topic, true)); end != int64(len(produced)) {
		t.Errorf("sum of end offsets = %d, want %d", end, len(produced))
	}
}

func TestKcatDeleteRecreateTopic(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "t")
	oldID := createTopic(t, ctx, adm, topic, 3, nil)
	produced := keyedWorkload(300, 30, time.Now())
	produceKcat(t, ctx, s.Addr, topic, produced)
	if got := consumeKcat(t, ctx, s.Addr, topic); len(got) != len(produced) {
		t.Fatalf("before delete: kcat read %d records, want %d", len(got), len(produced))
	}

	deleteTopicAndWait(t, ctx, adm, topic)
	if newID := recreateTopic(t, ctx, adm, topic, 2); newID == oldID {
		t.Errorf("re-created topic kept id %v", oldID)
	}
	if n, err := kcatPartitions(t, ctx, s.Addr, topic); n != 2 {
		t.Errorf("kcat -L sees %d partitions (%s) after re-create, want 2", n, err)
	}
	if got := consumeKcat(t, ctx, s.Addr, topic); len(got) != 0 {
		t.Errorf("re-created topic holds %d records, want none; first %+v", len(got), got[0])
	}
	produceKcat(t, ctx, s.Addr, topic, produced[:20])
	got := consumeKcat(t, ctx, s.Addr, topic)
	if len(got) != 20 {
		t.Fatalf("re-created topic: kcat read %d records, want 20", len(got))
	}
	for _, r := range got {
		if r.Offset >= 20 {
			t.Errorf("re-created topic: record at offset %d; offsets must start again at 0", r.Offset)
		}
	}
}
