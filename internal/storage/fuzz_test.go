package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

// FuzzSegmentRecovery opens a log whose only segment holds arbitrary .log
// and .index bytes, with or without a checkpoint that makes Open trust the
// segment. Open must not panic and what it keeps must be well formed; when
// the segment was scanned, every kept batch must also pass its CRC.
func FuzzSegmentRecovery(f *testing.F) {
	var valid []byte
	for i := 0; i < 5; i++ {
		b := makeBatch(i+1, 100, int64(100+i), 40*i)
		recordbatch.SetBaseOffset(b, int64(i*(i+1)/2))
		valid = append(valid, b...)
	}
	timeEntry := []byte{0, 0, 0, 0, 0, 0, 0, 103, 0, 0, 0, 6}
	f.Add(valid, []byte{}, []byte{}, false)
	f.Add(valid, []byte{0, 0, 0, 3, 0, 0, 0, 101}, timeEntry, true)
	f.Add(valid[:len(valid)-7], []byte{}, timeEntry, false)
	f.Add(valid[:200], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{}, true)
	f.Add([]byte{}, []byte{1, 2, 3}, []byte{9}, true)
	f.Fuzz(func(t *testing.T, logBytes, indexBytes, timeIndexBytes []byte, trusted bool) {
		fs := vfs.NewMem()
		dir := "/data/t-0"
		fs.MkdirAll(dir, 0o755)
		writeRaw(t, fs, filepath.Join(dir, segmentName(0)+logSuffix), logBytes)
		writeRaw(t, fs, filepath.Join(dir, segmentName(0)+indexSuffix), indexBytes)
		writeRaw(t, fs, filepath.Join(dir, segmentName(0)+timeIndexSuffix), timeIndexBytes)
		if trusted {
			writeCheckpoint(fs, dir, checkpoint{recoveryPoint: 1 << 40})
		}
		cfg := smallConfig()
		cfg.SegmentBytes = maxSegmentBytes
		l, err := Open(Options{FS: fs, Dir: dir, Config: cfg, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer l.Close()
		if l.Size() > int64(len(logBytes)) {
			t.Fatalf("log grew to %d bytes", l.Size())
		}
		next := l.LogStartOffset()
		err = l.ScanBatches(l.LogStartOffset(), func(h recordbatch.Header) error {
			if Offset(h.BaseOffset) < next || h.Magic != 2 {
				t.Fatalf("bad batch kept: %+v", h)
			}
			next = Offset(h.NextOffset())
			return nil
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if next != l.LogEndOffset() {
			t.Fatalf("batches end at %d, log end %d", next, l.LogEndOffset())
		}
		if !trusted && l.Size() > 0 {
			s, err := l.Read(l.LogStartOffset(), int64(len(logBytes)), l.LogEndOffset())
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.ReadAll(nil)
			s.Release()
			if err != nil {
				t.Fatal(err)
			}
			for len(b) > 0 {
				h, _ := recordbatch.ParseHeader(b)
				if recordbatch.Checksum(b[crcCoveredFrom:h.TotalSize()]) != h.CRC {
					t.Fatal("batch with a bad CRC kept")
				}
				b = b[h.TotalSize():]
			}
		}
		checkIndexes(t, l)
		if _, _, err := l.MaxTimestampBatch(); err != nil {
			t.Fatalf("max timestamp: %v", err)
		}
		if _, _, err := l.FindBatchByTimestamp(101); err != nil {
			t.Fatalf("find by timestamp: %v", err)
		}
		if _, err := l.Append(makeBatch(1, 0, 0, 10), 0); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
	})
}

func writeRaw(t *testing.T, fs vfs.FS, name string, b []byte) {
	f, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	f.Sync()
	f.Close()
}

// FuzzTxnIndex feeds arbitrary bytes to the .txnindex decoder, alone and as
// the file of a segment Open trusts. Neither may panic. What the decoder
// accepts is well formed and encodes back to the same bytes; Open loads
// exactly that, or, when the decoder or the size bound refuses the file,
// nothing, reporting the segment for rebuilding.
func FuzzTxnIndex(f *testing.F) {
	valid := encodeTxnIndex([]AbortedTxn{
		{ProducerID: 1, FirstOffset: 0, LastOffset: 1, LastStableOffset: 2},
		{ProducerID: 2, FirstOffset: 1, LastOffset: 3, LastStableOffset: 4},
	})
	f.Add(valid)
	f.Add(valid[:abortedTxnBytes+3])
	f.Add([]byte{})
	f.Add(append(append([]byte(nil), valid...), valid...))
	f.Add(encodeTxnIndex([]AbortedTxn{{ProducerID: -1, FirstOffset: 4, LastOffset: 4, LastStableOffset: -1}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		const end = 5 // the segment holds offsets [0, 5)
		txns, decodeErr := decodeTxnIndex("fuzz", b, 0, end)
		if decodeErr == nil {
			checkDecodedTxns(t, b, txns, end)
		} else if !errors.Is(decodeErr, ErrCorruption) {
			t.Fatalf("decode error not marked as corruption: %v", decodeErr)
		}
		fs := vfs.NewMem()
		opts := Options{FS: fs, Dir: "/data/t-0", Config: smallConfig(), Logger: quietLogger()}
		l, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < end; i++ {
			if _, err := l.Append(makeBatch(1, 0, 0, 10), 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		writeRaw(t, fs, filepath.Join(opts.Dir, segmentName(0)+txnIndexSuffix), b)
		if l, err = Open(opts); err != nil {
			t.Fatalf("open: %v", err)
		}
		defer l.Close()
		fits := int64(len(b)/abortedTxnBytes) <= l.Size()/recordbatch.HeaderSize+1
		got, from := l.AbortedTxns(0, end), l.TxnIndexRebuildFrom()
		switch {
		case decodeErr == nil && fits:
			if !slices.Equal(got, txns) || from != end {
				t.Fatalf("loaded %+v (rebuild from %d), decoded %+v", got, from, txns)
			}
		case len(got) != 0 || from != 0:
			t.Fatalf("refused file: loaded %+v, rebuild from %d", got, from)
		}
	})
}

// checkDecodedTxns checks what the decoder accepted from b.
func checkDecodedTxns(t *testing.T, b []byte, txns []AbortedTxn, end Offset) {
	t.Helper()
	for i, a := range txns {
		if a.FirstOffset < 0 || a.FirstOffset > a.LastOffset || a.LastOffset >= end ||
			(i > 0 && a.LastOffset <= txns[i-1].LastOffset) {
			t.Fatalf("decoded a bad entry %+v", a)
		}
	}
	if !bytes.Equal(encodeTxnIndex(txns), b) {
		t.Fatal("decoded entries do not encode back to the same bytes")
	}
}
