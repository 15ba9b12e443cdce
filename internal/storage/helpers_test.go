package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/testclock"
	"github.com/fjordhq/fjord/internal/vfs"
)

// makeBatch builds a v2 batch of n records with an opaque body of
// bodyBytes (storage never parses records) and a correct CRC. Timestamps
// run from baseTs to maxTs.
func makeBatch(n int, baseTs, maxTs int64, bodyBytes int) []byte {
	b := make([]byte, recordbatch.HeaderSize+bodyBytes)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-recordbatch.LengthFieldEnd))
	b[16] = 2
	binary.BigEndian.PutUint32(b[23:], uint32(n-1))
	binary.BigEndian.PutUint64(b[27:], uint64(baseTs))
	binary.BigEndian.PutUint64(b[35:], uint64(maxTs))
	binary.BigEndian.PutUint64(b[43:], ^uint64(0))
	binary.BigEndian.PutUint32(b[57:], uint32(n))
	for i := recordbatch.HeaderSize; i < len(b); i++ {
		b[i] = byte(i*7 + n)
	}
	binary.BigEndian.PutUint32(b[17:], recordbatch.Checksum(b[21:]))
	return b
}

func newClock() *testclock.Clock { return testclock.At(time.UnixMilli(1_700_000_000_000)) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// smallConfig makes segments and index intervals small enough to exercise
// rolling and indexes with a few batches.
func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 1024
	cfg.IndexIntervalBytes = 200
	cfg.SegmentIndexBytes = 1 << 20
	cfg.RetentionDuration = -1
	return cfg
}

type testLog struct {
	*Log
	fs    *vfs.MemFS
	clock *testclock.Clock
	opts  Options
}

func openTest(t testing.TB, cfg Config) *testLog {
	t.Helper()
	fs := vfs.NewMem()
	clock := newClock()
	fs.SetNow(clock.Now)
	opts := Options{FS: fs, Dir: "/data/topic-0", Config: cfg, Now: clock.Now, Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	tl := &testLog{Log: l, fs: fs, clock: clock, opts: opts}
	t.Cleanup(func() { tl.Log.Close() })
	return tl
}

func (tl *testLog) reopen(t testing.TB) {
	t.Helper()
	if err := tl.Log.Close(); err != nil && !errors.Is(err, ErrClosed) {
		t.Fatalf("close: %v", err)
	}
	l, err := Open(tl.opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	tl.Log = l
}

// appendN appends count batches of recs records each and returns copies
// of them as stored (offsets assigned).
func (tl *testLog) appendN(t testing.TB, count, recs, bodyBytes int, ts int64) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 0; i < count; i++ {
		b := makeBatch(recs, ts, ts+int64(i), bodyBytes)
		if _, err := tl.Append(b, 3); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, b)
	}
	return out
}

// readAllBatches reads every batch from offset from to the log end.
func readAllBatches(t testing.TB, l *Log, from Offset) []byte {
	t.Helper()
	var all []byte
	for from < l.LogEndOffset() {
		s, err := l.Read(from, 1<<20, l.LogEndOffset())
		if err != nil {
			t.Fatalf("read %d: %v", from, err)
		}
		if s.Size == 0 {
			t.Fatalf("empty read at %d below log end %d", from, l.LogEndOffset())
		}
		all, err = s.ReadAll(all)
		s.Release()
		if err != nil {
			t.Fatal(err)
		}
		from = s.NextOffset
	}
	return all
}

func concat(batches [][]byte) []byte { return bytes.Join(batches, nil) }
