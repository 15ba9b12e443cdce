package partition

import (
	"errors"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

func TestEpochCheckpointFormat(t *testing.T) {
	entries := []EpochStart{{0, 0}, {3, 1200}, {7, 1200}}
	b := encodeEpochCheckpoint(entries)
	if string(b) != "0\n3\n0 0\n3 1200\n7 1200\n" {
		t.Fatalf("encoded %q", b)
	}
	got, err := decodeEpochCheckpoint(b)
	if err != nil || !slices.Equal(got, entries) {
		t.Fatalf("decoded %v %v", got, err)
	}
	for _, bad := range []string{"", "1\n0\n", "0\n2\n0 0\n", "0\n1\n0 x\n", "0\n2\n3 0\n2 5\n", "0\n2\n1 9\n2 5\n", "0\n1\n-1 0\n", "0\n99999999999\n", "0\n1\n00\n"} {
		if _, err := decodeEpochCheckpoint([]byte(bad)); !errors.Is(err, ErrBadEpochCheckpoint) {
			t.Errorf("%q: got %v", bad, err)
		}
	}
	if got, err := decodeEpochCheckpoint([]byte("0\n0\n")); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
}

func FuzzDecodeEpochCheckpoint(f *testing.F) {
	f.Add([]byte("0\n2\n0 0\n3 1200\n"))
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("0\n1\n5 9223372036854775807\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeEpochCheckpoint(b)
		if err != nil {
			return
		}
		again, err := decodeEpochCheckpoint(encodeEpochCheckpoint(entries))
		if err != nil || !slices.Equal(again, entries) {
			t.Fatalf("round trip of %v: %v %v", entries, again, err)
		}
	})
}

func TestLeaderEpochCheckpointSurvivesReopen(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, storage.DefaultConfig())
	p.BecomeLeader(1)
	b, h := batch(-1, 0, 0, 2)
	if _, err := appendOne(t, p, b, h); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitDurable(1); err != nil {
		t.Fatal(err)
	}
	p.BecomeLeader(4) // elected, nothing appended yet: only the checkpoint knows
	if err := p.WriteLeaderEpochCheckpoint(fs, "p"); err != nil {
		t.Fatal(err)
	}
	want := p.LeaderEpochs()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = openPartition(t, fs, storage.DefaultConfig())
	if got := p.LeaderEpochs(); slices.Equal(got, want) {
		t.Fatalf("the log alone knew epoch 4: %v", got)
	}
	if err := p.LoadLeaderEpochCheckpoint(fs, "p"); err != nil {
		t.Fatal(err)
	}
	if got := p.LeaderEpochs(); !slices.Equal(got, want) {
		t.Fatalf("epochs %v, want %v", got, want)
	}
	if e, end := p.EndOffsetForEpoch(2); e != 1 || end != 2 {
		t.Fatalf("EndOffsetForEpoch(2) = %d, %d", e, end)
	}
	if err := p.LoadLeaderEpochCheckpoint(vfs.NewMem(), "none"); err != nil {
		t.Fatalf("missing checkpoint: %v", err)
	}
}

func TestMergeEpochs(t *testing.T) {
	scanned := []epochStart{{0, 0}, {2, 10}}
	saved := []EpochStart{{0, 0}, {1, 5}, {2, 12}, {3, 20}, {5, 40}}
	got := mergeEpochs(scanned, saved, 30)
	want := []epochStart{{0, 0}, {1, 5}, {2, 10}, {3, 20}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A stale entry (a later epoch starting earlier) is dropped.
	got = mergeEpochs([]epochStart{{0, 0}, {4, 10}}, []EpochStart{{0, 0}, {5, 3}}, 30)
	if !slices.Equal(got, []epochStart{{0, 0}, {4, 10}}) {
		t.Fatalf("stale: %v", got)
	}
}
