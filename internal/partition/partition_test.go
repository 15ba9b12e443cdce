package partition

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

func openPartition(t *testing.T, fs vfs.FS, cfg storage.Config) *Partition {
	t.Helper()
	if err := fs.MkdirAll("p", 0o755); err != nil {
		t.Fatal(err)
	}
	log, err := storage.Open(storage.Options{FS: fs, Dir: "p", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New("t", [16]byte{1}, 0, log, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func batch(pid int64, epoch int16, seq int32, n int) ([]byte, recordbatch.Header) {
	spec := recordbatch.BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1000}
	if pid >= 0 {
		spec.Idempotent, spec.ProducerID, spec.ProducerEpoch, spec.BaseSequence = true, pid, epoch, seq
	}
	for i := 0; i < n; i++ {
		spec.Records = append(spec.Records, recordbatch.Record{Value: []byte("v")})
	}
	b := recordbatch.Build(spec)
	h, err := recordbatch.ParseHeader(b)
	if err != nil {
		panic(err)
	}
	return b, h
}

func appendOne(t *testing.T, p *Partition, b []byte, h recordbatch.Header) (AppendResult, error) {
	t.Helper()
	// The log writes offsets into the batch; give it its own copy as the
	// request buffer would be.
	return p.Append(append([]byte(nil), b...), h, 1000)
}

func TestIdempotentRetryReturnsOriginalOffsets(t *testing.T) {
	p := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	b0, h0 := batch(7, 0, 0, 3)
	b1, h1 := batch(7, 0, 3, 2)
	if res, err := appendOne(t, p, b0, h0); err != nil || res.BaseOffset != 0 || res.LastOffset != 2 {
		t.Fatalf("first append: %+v %v", res, err)
	}
	if _, err := appendOne(t, p, b1, h1); err != nil {
		t.Fatal(err)
	}
	res, err := appendOne(t, p, b0, h0) // a retry of the first batch
	if err != nil || !res.Duplicate || res.BaseOffset != 0 || res.LastOffset != 2 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if end := p.Log().LogEndOffset(); end != 5 {
		t.Fatalf("log end %d after a duplicate, want 5", end)
	}
	b3, h3 := batch(7, 0, 9, 1) // a gap
	if _, err := appendOne(t, p, b3, h3); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("gap: got %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
}

func TestProducerStateSurvivesReopen(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, storage.DefaultConfig())
	b0, h0 := batch(9, 2, 0, 4)
	if _, err := appendOne(t, p, b0, h0); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitDurable(3); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = openPartition(t, fs, storage.DefaultConfig())
	res, err := appendOne(t, p, b0, h0)
	if err != nil || !res.Duplicate || res.BaseOffset != 0 {
		t.Fatalf("retry after reopen: %+v %v", res, err)
	}
	infos := p.Producers()
	if len(infos) != 1 || infos[0].ProducerID != 9 || infos[0].Epoch != 2 || infos[0].LastSequence != 3 {
		t.Fatalf("producers after reopen: %+v", infos)
	}
}

func TestDurableEndFollowsFsyncs(t *testing.T) {
	p := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	b, h := batch(-1, -1, -1, 2)
	res, err := appendOne(t, p, b, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitDurable(res.LastOffset); err != nil {
		t.Fatal(err)
	}
	if end := p.DurableEnd(); end != 2 {
		t.Fatalf("durable end %d after fsync, want 2", end)
	}
}

func TestRelaxedFlushIsDurableAtOnce(t *testing.T) {
	cfg := storage.DefaultConfig()
	cfg.FlushMessages = 1 << 40
	p := openPartition(t, vfs.NewMem(), cfg)
	b, h := batch(-1, -1, -1, 3)
	if _, err := appendOne(t, p, b, h); err != nil {
		t.Fatal(err)
	}
	if end := p.DurableEnd(); end != 3 {
		t.Fatalf("durable end %d with relaxed flush, want the log end 3", end)
	}
}

func TestEndOffsetForEpoch(t *testing.T) {
	p := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	for epoch, n := range []int{2, 3} {
		p.SetLeaderEpoch(int32(epoch * 2)) // epochs 0 and 2
		b, h := batch(-1, -1, -1, n)
		if _, err := appendOne(t, p, b, h); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		requested, epoch int32
		end              int64
	}{
		{0, 0, 2}, {1, 0, 2}, {2, 2, 5}, {7, 2, 5}, {-1, -1, -1},
	} {
		epoch, end := p.EndOffsetForEpoch(tc.requested)
		if epoch != tc.epoch || end != tc.end {
			t.Errorf("EndOffsetForEpoch(%d) = %d, %d; want %d, %d", tc.requested, epoch, end, tc.epoch, tc.end)
		}
	}
}
