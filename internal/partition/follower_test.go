package partition

import (
	"errors"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// leaderWith appends n batches of 2 records per epoch in epochs to a fresh
// partition and returns it.
func leaderWith(t *testing.T, epochs []int32, n int) *Partition {
	t.Helper()
	p := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	seq := int32(0)
	for _, e := range epochs {
		p.BecomeLeader(e)
		for i := 0; i < n; i++ {
			b, h := batch(3, 0, seq, 2)
			seq += 2
			if _, err := appendOne(t, p, b, h); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

func readRaw(t *testing.T, p *Partition, from storage.Offset) []byte {
	t.Helper()
	var out []byte
	for from < p.Log().LogEndOffset() {
		s, err := p.Log().Read(from, 1<<20, p.Log().LogEndOffset())
		if err != nil {
			t.Fatal(err)
		}
		out, err = s.ReadAll(out)
		s.Release()
		if err != nil {
			t.Fatal(err)
		}
		from = s.NextOffset
	}
	return out
}

func TestAppendAsFollowerKeepsOffsetsAndEpochs(t *testing.T) {
	leader := leaderWith(t, []int32{0, 2, 5}, 3)
	follower := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	raw := readRaw(t, leader, 0)
	// Cut the last batch short: it is left for the next fetch.
	res, err := follower.AppendAsFollower(raw[:len(raw)-10], 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Batches != 8 || res.LogEndOffset != 16 {
		t.Fatalf("first append: %+v", res)
	}
	// The whole response again: the first 8 batches are skipped.
	if res, err = follower.AppendAsFollower(raw, 1000); err != nil || res.Batches != 1 || res.LogEndOffset != 18 {
		t.Fatalf("second append: %+v %v", res, err)
	}
	if !slices.Equal(follower.LeaderEpochs(), leader.LeaderEpochs()) {
		t.Fatalf("epochs %v, leader %v", follower.LeaderEpochs(), leader.LeaderEpochs())
	}
	for _, e := range []int32{0, 1, 2, 4, 5, 6} {
		fe, fo := follower.EndOffsetForEpoch(e)
		le, lo := leader.EndOffsetForEpoch(e)
		if fe != le || fo != lo {
			t.Fatalf("epoch %d: follower (%d, %d), leader (%d, %d)", e, fe, fo, le, lo)
		}
	}
	if got := readRaw(t, follower, 0); !slices.Equal(got, raw) {
		t.Fatal("follower's log differs from the leader's bytes")
	}
	// The follower carries the producer state: a retry after failover is
	// recognised.
	b, h := batch(3, 0, 16, 2)
	follower.BecomeLeader(6)
	if r, err := appendOne(t, follower, b, h); err != nil || !r.Duplicate || r.BaseOffset != 16 {
		t.Fatalf("retry on the new leader: %+v %v", r, err)
	}
}

func TestAppendAsFollowerRefusesBadInput(t *testing.T) {
	leader := leaderWith(t, []int32{1}, 3)
	raw := readRaw(t, leader, 0)
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"corrupt CRC", func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }, recordbatch.ErrCorruptMessage},
		{"below the log start", func(b []byte) []byte { recordbatch.SetBaseOffset(b, -1); return b }, ErrNotContiguous},
		{"tiny length", func(b []byte) []byte { b[8], b[9], b[10], b[11] = 0, 0, 0, 1; return b }, recordbatch.ErrCorruptMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			follower := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
			_, err := follower.AppendAsFollower(tt.mutate(slices.Clone(raw)), 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if end := follower.Log().LogEndOffset(); end != 0 && tt.want != ErrNotContiguous {
				t.Fatalf("log end %d after a refused response", end)
			}
		})
	}
	follower := openPartition(t, vfs.NewMem(), storage.DefaultConfig())
	if _, err := follower.AppendAsFollower(readRaw(t, leaderWith(t, []int32{4}, 1), 0), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.AppendAsFollower(raw[len(raw)/3*2:], 0); !errors.Is(err, ErrNotContiguous) {
		t.Fatalf("epoch going backwards: %v", err)
	}
}

// A compacted leader sends batches with gaps between them; the follower
// keeps the leader's offsets, gaps included, and still has them after a
// restart.
func TestAppendAsFollowerKeepsCompactionGaps(t *testing.T) {
	raw := readRaw(t, leaderWith(t, []int32{2}, 3), 0) // batches 0..1, 2..3, 4..5
	h, err := recordbatch.ParseHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	first, rest := raw[:h.TotalSize()], raw[h.TotalSize():]
	second := slices.Clone(rest[:h.TotalSize()])
	recordbatch.SetBaseOffset(second, 10) // 2..9 compacted away

	fs := vfs.NewMem()
	follower := openPartition(t, fs, storage.DefaultConfig())
	res, err := follower.AppendAsFollower(append(slices.Clone(first), second...), 0)
	if err != nil || res.Batches != 2 || res.LogEndOffset != 12 {
		t.Fatalf("append with a gap: %+v %v", res, err)
	}
	got := readRaw(t, follower, 2)
	if gh, err := recordbatch.ParseHeader(got); err != nil || gh.BaseOffset != 10 {
		t.Fatalf("read from the gap: first batch %+v %v", gh, err)
	}
	if err := follower.Close(); err != nil {
		t.Fatal(err)
	}
	reopened := openPartition(t, fs, storage.DefaultConfig())
	if end := reopened.Log().LogEndOffset(); end != 12 {
		t.Fatalf("log end %d after reopening, want 12", end)
	}
}

func TestTruncateToDropsEpochs(t *testing.T) {
	p := leaderWith(t, []int32{0, 3}, 2)    // epoch 0: 0..3, epoch 3: 4..7
	if err := p.TruncateTo(5); err != nil { // 4..5 is one batch: the log ends at 4
		t.Fatal(err)
	}
	if end := p.Log().LogEndOffset(); end != 4 {
		t.Fatalf("log end %d, want 4", end)
	}
	if got := p.LeaderEpochs(); !slices.Equal(got, []EpochStart{{0, 0}}) {
		t.Fatalf("epochs %v", got)
	}
	if p.LatestEpoch() != 0 {
		t.Fatalf("latest epoch %d", p.LatestEpoch())
	}
	if e, end := p.EndOffsetForEpoch(3); e != 0 || end != 4 {
		t.Fatalf("EndOffsetForEpoch(3) = %d, %d", e, end)
	}
	// The truncated batches' producer state is gone: their sequence may be
	// written again (by the new leader's data, here replayed).
	b, h := batch(3, 0, 4, 2)
	if r, err := appendOne(t, p, b, h); err != nil || r.Duplicate || r.BaseOffset != 4 {
		t.Fatalf("append after truncation: %+v %v", r, err)
	}
}

// A follower whose log ends below its leader's log start restarts its log
// there, forgetting the old epochs, and takes the leader's batches from
// that offset on; a reopen finds the restarted log.
func TestTruncateFullyAndStartAtLeaderLogStart(t *testing.T) {
	fs := vfs.NewMem()
	follower := openPartition(t, fs, storage.DefaultConfig())
	if _, err := follower.AppendAsFollower(readRaw(t, leaderWith(t, []int32{1}, 3), 0), 0); err != nil {
		t.Fatal(err)
	}
	if err := follower.TruncateFullyAndStartAt(100); err != nil {
		t.Fatal(err)
	}
	if s, e := follower.LogStartOffset(), follower.LogEndOffset(); s != 100 || e != 100 {
		t.Fatalf("log start %d, end %d; want 100 each", s, e)
	}
	if epochs := follower.LeaderEpochs(); len(epochs) != 0 {
		t.Fatalf("epochs %v kept from the old log", epochs)
	}
	next := slices.Clone(readRaw(t, leaderWith(t, []int32{4}, 1), 0))
	recordbatch.SetBaseOffset(next, 100)
	if res, err := follower.AppendAsFollower(next, 0); err != nil || res.LogEndOffset != 102 {
		t.Fatalf("append at the new start: %+v %v", res, err)
	}
	if err := follower.Close(); err != nil {
		t.Fatal(err)
	}
	reopened := openPartition(t, fs, storage.DefaultConfig())
	if s, e := reopened.LogStartOffset(), reopened.LogEndOffset(); s != 100 || e != 102 {
		t.Fatalf("after reopening: log start %d, end %d; want 100, 102", s, e)
	}
}
