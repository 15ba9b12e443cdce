package e2e

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactionLatestValuePerKey is issue 4's acceptance item 5: a
// compacted topic with many updates per key ends up holding the latest
// value of each key, tombstoned keys disappear after delete.retention.ms,
// and every read from the beginning while the cleaner works sees offsets
// only grow and no record twice.
func TestCompactionLatestValuePerKey(t *testing.T) {
	srv := startServer(t, map[string]string{
		"log.cleaner.backoff.ms":          "100",
		"log.retention.check.interval.ms": "100",
	})
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	const topic = "compacted"
	createTopic(t, ctx, adm, topic, 1, map[string]string{
		"cleanup.policy": "compact",
		// Kafka's minimum; 20 KiB values roll a segment every ~50 records.
		"segment.bytes":             "1048576",
		"min.cleanable.dirty.ratio": "0.01",
		"delete.retention.ms":       "1000",
		// The retention pass rolls the active segment after this, so the
		// last updates become cleanable too.
		"segment.ms": "500",
	})

	const keys, rounds, valueBytes = 30, 10, 20 << 10
	cl := newKgo(t, srv.Addr, kgo.DefaultProduceTopic(topic))
	want := map[string][]byte{}
	produce := func(key string, value []byte) {
		t.Helper()
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(key), Value: value}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", key, err)
		}
		if value == nil {
			delete(want, key)
		} else {
			want[key] = value
		}
	}
	for r := 0; r < rounds; r++ {
		for k := 0; k < keys; k++ {
			v := bytes.Repeat([]byte{byte('a' + r)}, valueBytes)
			produce(fmt.Sprintf("key-%02d", k), append(v, fmt.Sprintf("-%d-%d", k, r)...))
		}
	}
	for k := 0; k < 5; k++ {
		produce(fmt.Sprintf("key-%02d", k), nil)
	}
	// The sentinel is the last record: reading up to it reads everything.
	produce("sentinel", []byte("end"))
	delete(want, "sentinel")

	eventually(t, ctx, "compaction to the latest value per key without tombstones", func() (bool, string) {
		got, records, tombstones, err := consumeAll(t, ctx, srv.Addr, topic)
		if err != nil {
			t.Fatal(err)
		}
		if tombstones > 0 {
			return false, fmt.Sprintf("%d tombstones still there", tombstones)
		}
		if records != len(want) || len(got) != len(want) {
			return false, fmt.Sprintf("%d records of %d keys, want %d (one per live key)", records, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				return false, "key " + k + " does not hold its latest value"
			}
		}
		return true, ""
	})
}

// consumeAll reads the topic from the beginning up to the sentinel with a
// fresh client, failing the test on an offset that does not grow. It
// returns each key's last value, the number of non-tombstone records read
// (more than the keys while updates are not compacted yet) and the number
// of tombstones read.
func consumeAll(t *testing.T, ctx context.Context, addr, topic string) (latest map[string][]byte, records, tombstones int, err error) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, 0, 0, err
	}
	defer cl.Close()
	latest = map[string][]byte{}
	prev := int64(-1)
	for {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, 0, 0, err
		}
		for _, fe := range fetches.Errors() {
			return nil, 0, 0, fmt.Errorf("fetch %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			if done {
				return
			}
			if r.Offset <= prev {
				t.Fatalf("offset %d after %d: the log went backwards or repeated a record", r.Offset, prev)
			}
			prev = r.Offset
			key := string(r.Key)
			switch {
			case key == "sentinel":
				done = true
			case r.Value == nil:
				tombstones++
				delete(latest, key)
			default:
				records++
				latest[key] = r.Value
			}
		})
		if done {
			return latest, records, tombstones, nil
		}
	}
}
