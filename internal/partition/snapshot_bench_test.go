package partition

import (
	"path/filepath"
	"testing"

	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

const (
	benchBatches   = 50_000
	benchProducers = 100
)

// fillForBench writes benchBatches idempotent batches of 10 records from
// benchProducers producers to a partition in dir and closes it cleanly.
func fillForBench(b *testing.B, fs vfs.FS, dir string) {
	b.Helper()
	cfg := storage.DefaultConfig()
	cfg.FlushMessages = 1 << 30
	log, err := storage.Open(storage.Options{FS: fs, Dir: dir, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	p, err := New("t", [16]byte{1}, 0, log, 0)
	if err != nil {
		b.Fatal(err)
	}
	seqs := make([]int32, benchProducers)
	records := make([]recordbatch.Record, 10)
	for i := range records {
		records[i].Value = []byte("0123456789")
	}
	for i := range benchBatches {
		pid := i % benchProducers
		spec := recordbatch.BuildSpec{Idempotent: true, ProducerID: int64(pid), BaseSequence: seqs[pid],
			BaseTimestamp: 1000, Records: records}
		batch := recordbatch.Build(spec)
		h, err := recordbatch.ParseHeader(batch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Append(batch, h, 1000); err != nil {
			b.Fatal(err)
		}
		seqs[pid] += 10
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenPartition opens a cleanly closed partition of 50,000
// batches (11.5 MB) from the snapshot its close wrote, and by scanning every
// batch with the snapshot removed; storage.Open is inside both.
func BenchmarkOpenPartition(b *testing.B) {
	for _, fsName := range []string{"memfs", "osfs"} {
		for _, mode := range []string{"snapshot", "scan"} {
			b.Run(fsName+"/"+mode, func(b *testing.B) {
				var fs vfs.FS = vfs.NewMem()
				dir := "p"
				if fsName == "osfs" {
					fs, dir = vfs.Default(), filepath.Join(b.TempDir(), "p")
				}
				fillForBench(b, fs, dir)
				if mode == "scan" {
					offsets, err := producerstate.ListSnapshotFiles(fs, dir)
					if err != nil {
						b.Fatal(err)
					}
					if err := producerstate.RemoveSnapshotFiles(fs, dir, offsets, true); err != nil {
						b.Fatal(err)
					}
				}
				benchOpen(b, fs, dir)
			})
		}
	}
}

func benchOpen(b *testing.B, fs vfs.FS, dir string) {
	b.ReportAllocs()
	b.ResetTimer()
	replayed := 0
	for range b.N {
		log, err := storage.Open(storage.Options{FS: fs, Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		p, err := New("t", [16]byte{1}, 0, log, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		replayed = p.rebuilt.batches
		if p.producers.Len() != benchProducers {
			b.Fatalf("%d producers", p.producers.Len())
		}
		// The log only: the partition's Close would write a snapshot.
		if err := log.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(replayed), "batches-replayed")
}
