package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fjordhq/fjord/internal/vfs"
)

// mutateFile rewrites a file through change and fsyncs it.
func mutateFile(t *testing.T, fs vfs.FS, name string, change func([]byte) []byte) {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := f.Size()
	b := make([]byte, size)
	f.ReadAt(b, 0)
	b = change(b)
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptionRecovery(t *testing.T) {
	seg := func(base int) string { return filepath.Join("/data/topic-0", segmentName(Offset(base))) }
	tests := []struct {
		name    string
		file    string
		change  func([]byte) []byte
		wantEnd Offset
	}{
		{"flip byte in tail batch", seg(18) + logSuffix, func(b []byte) []byte { b[len(b)-5] ^= 0x40; return b }, 19},
		{"flip byte in first batch of tail segment", seg(18) + logSuffix, func(b []byte) []byte { b[100] ^= 1; return b }, 18},
		{"flip magic", seg(18) + logSuffix, func(b []byte) []byte { b[161+16] = 7; return b }, 19},
		{"huge length", seg(18) + logSuffix, func(b []byte) []byte { b[161+8] = 0x7f; return b }, 19},
		{"truncate mid batch", seg(18) + logSuffix, func(b []byte) []byte { return b[:len(b)-50] }, 19},
		{"truncate mid header", seg(18) + logSuffix, func(b []byte) []byte { return b[:161+30] }, 19},
		{"garbage offset index", seg(0) + indexSuffix, func(b []byte) []byte { return bytes.Repeat([]byte{0xAB}, 24) }, 20},
		{"index pointing mid batch", seg(6) + indexSuffix, func(b []byte) []byte { b[7]++; return b }, 20},
		{"odd index size", seg(0) + indexSuffix, func(b []byte) []byte { return append(b, 1, 2, 3) }, 20},
		{"garbage time index", seg(6) + timeIndexSuffix, func(b []byte) []byte { return bytes.Repeat([]byte{0x01}, 36) }, 20},
		{"huge index", seg(0) + indexSuffix, func(b []byte) []byte { return make([]byte, 1<<20) }, 20},
		{"damaged checkpoint", "/data/topic-0/" + checkpointName, func(b []byte) []byte { b[5] ^= 1; return b }, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := openTest(t, smallConfig())
			batches := tl.appendN(t, 20, 1, 100, 1000) // segments 0, 6, 12, 18
			if err := tl.Sync(20); err != nil {
				t.Fatal(err)
			}
			tl.fs.Crash() // kill -9 after the sync
			mutateFile(t, tl.fs, tc.file, tc.change)
			l, err := Open(tl.opts)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			tl.Log = l
			if l.LogEndOffset() != tc.wantEnd {
				t.Fatalf("log end %d, want %d", l.LogEndOffset(), tc.wantEnd)
			}
			if got := readAllBatches(t, l, 0); !bytes.Equal(got, concat(batches[:tc.wantEnd])) {
				t.Fatal("surviving batches differ")
			}
			checkIndexes(t, l)
			if b, found, err := l.FindBatchByTimestamp(1010); err != nil || !found || !bytes.Equal(b, batches[10]) {
				t.Fatalf("time lookup after recovery: found=%v err=%v", found, err)
			}
		})
	}
}

func TestCorruptionLaterSegmentsRemoved(t *testing.T) {
	tl := openTest(t, smallConfig())
	batches := tl.appendN(t, 20, 1, 100, 1000)
	tl.Sync(20)
	tl.fs.Crash()
	// A checkpoint from before the first roll: every segment gets scanned.
	if err := writeCheckpoint(tl.fs, tl.opts.Dir, checkpoint{}); err != nil {
		t.Fatal(err)
	}
	mutateFile(t, tl.fs, filepath.Join(tl.opts.Dir, segmentName(6)+logSuffix), func(b []byte) []byte {
		b[2*161+70] ^= 0xff
		return b
	})
	l, err := Open(tl.opts)
	if err != nil {
		t.Fatal(err)
	}
	tl.Log = l
	if l.LogEndOffset() != 8 || segmentCount(l) != 2 {
		t.Fatalf("end %d segments %d", l.LogEndOffset(), segmentCount(l))
	}
	if got := readAllBatches(t, l, 0); !bytes.Equal(got, concat(batches[:8])) {
		t.Fatal("surviving batches differ")
	}
	if ok, _ := vfs.Exists(tl.fs, filepath.Join(tl.opts.Dir, segmentName(12)+logSuffix)); ok {
		t.Fatal("segment after the corruption kept")
	}
}

func TestCorruptionErrorMarked(t *testing.T) {
	err := error(corruptf("x.log", 5, "bad"))
	wrapped := errors.Join(errors.New("ctx"), err)
	var cerr *CorruptionError
	if !errors.Is(wrapped, ErrCorruption) || !errors.As(wrapped, &cerr) || cerr.Position != 5 {
		t.Fatalf("corruption not detectable: %v", wrapped)
	}
}
