package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// kv is one record to produce; a nil value is a tombstone.
type kv struct {
	key   string
	value []byte
}

func val(s string) []byte { return []byte(s) }

// keyedBatch builds a batch of keyed records with timestamps from ts.
func keyedBatch(codec recordbatch.Codec, ts int64, pid int64, recs ...kv) []byte {
	spec := recordbatch.BuildSpec{Codec: codec, BaseTimestamp: ts}
	if pid >= 0 {
		spec.Idempotent, spec.ProducerID, spec.ProducerEpoch = true, pid, 1
	}
	for i, r := range recs {
		rec := recordbatch.Record{Key: []byte(r.key), Value: r.value, TimestampDelta: int64(i)}
		if r.key == "" {
			rec.Key = nil
		}
		spec.Records = append(spec.Records, rec)
	}
	return recordbatch.Build(spec)
}

// storedRecord is a record read back from the log.
type storedRecord struct {
	offset    Offset
	key       string
	value     []byte
	timestamp int64
}

// readRecords decodes every record from the log start, checking that
// offsets strictly increase.
func readRecords(t testing.TB, l *Log) []storedRecord {
	t.Helper()
	raw := readAllBatches(t, l, l.LogStartOffset())
	var out []storedRecord
	prev := Offset(-1)
	for len(raw) > 0 {
		h, err := recordbatch.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		b := raw[:h.TotalSize()]
		raw = raw[h.TotalSize():]
		if Offset(h.BaseOffset) <= prev {
			t.Fatalf("batch at %d after offset %d", h.BaseOffset, prev)
		}
		recs, err := recordbatch.Records(b, 1<<20)
		if err != nil {
			t.Fatalf("batch at %d: %v", h.BaseOffset, err)
		}
		for _, r := range recs {
			o := Offset(h.BaseOffset) + Offset(r.OffsetDelta)
			if o <= prev {
				t.Fatalf("record at %d after offset %d", o, prev)
			}
			prev = o
			ts := h.BaseTimestamp + r.TimestampDelta
			if h.LogAppendTime() {
				ts = h.MaxTimestamp
			}
			out = append(out, storedRecord{offset: o, key: string(r.Key), value: r.Value, timestamp: ts})
		}
		prev = max(prev, Offset(h.LastOffset()))
	}
	return out
}

// latestModel maps each key to its latest record among recs.
func latestModel(recs []storedRecord) map[string]storedRecord {
	m := map[string]storedRecord{}
	for _, r := range recs {
		if r.key != "" {
			m[r.key] = r
		}
	}
	return m
}

// rollActive rolls the active segment by age so every record becomes
// cleanable.
func (tl *testLog) rollActive(t testing.TB) {
	t.Helper()
	tl.clock.Advance(2 * tl.Config().SegmentDuration)
	if _, err := tl.ApplyRetention(tl.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
}

func (tl *testLog) compact(t testing.TB, opts CompactOptions) CompactStats {
	t.Helper()
	opts.Now = tl.clock.Now()
	stats, err := tl.Compact(context.Background(), opts)
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	return stats
}

func compactConfig() Config {
	cfg := smallConfig()
	cfg.SegmentDuration = time.Hour
	return cfg
}

func keyName(i int) string { return fmt.Sprintf("key-%03d", i) }
