package storage

import (
	"testing"

	"github.com/fjordhq/fjord/internal/vfs"
)

func openBench(b *testing.B, fs vfs.FS, dir string) *Log {
	b.Helper()
	l, err := Open(Options{FS: fs, Dir: dir, Config: DefaultConfig(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkAppend appends 1 KiB batches to the real file system.
func BenchmarkAppend(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "nosync"
		if sync {
			name = "sync"
		}
		b.Run(name, func(b *testing.B) {
			l := openBench(b, vfs.Default(), b.TempDir())
			batch := makeBatch(10, 0, 0, 1024-61)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				info, err := l.Append(batch, 0)
				if err != nil {
					b.Fatal(err)
				}
				if sync {
					if err := l.Sync(info.LastOffset + 1); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkIndexLookup searches a full default-size offset index.
func BenchmarkIndexLookup(b *testing.B) {
	const entries = (10 << 20) / offsetIndexEntryBytes
	var ix offsetIndex
	for i := 0; i < entries; i++ {
		ix.add(offsetEntry{offset: Offset(i * 4), position: int64(i * 4096)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	var sink int64
	for i := 0; i < b.N; i++ {
		sink += ix.lookup(Offset((i * 7919) % (entries * 4)))
	}
	_ = sink
}

// BenchmarkRead fetches 64 KiB at a time from a log of 1 KiB batches.
func BenchmarkRead(b *testing.B) {
	l := openBench(b, vfs.Default(), b.TempDir())
	batch := makeBatch(10, 0, 0, 1024-61)
	const batches = 4096
	for i := 0; i < batches; i++ {
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	end := l.LogEndOffset()
	buf := make([]byte, 0, 128<<10)
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := Offset((i * 10 * 64) % int(end-640))
		s, err := l.Read(from, 64<<10, end)
		if err != nil {
			b.Fatal(err)
		}
		buf, err = s.ReadAll(buf[:0])
		s.Release()
		if err != nil {
			b.Fatal(err)
		}
	}
}
