package store

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"
)

// benchEntries is the size of the stores the benchmarks read: a task's
// store of modest size, bigger than pebble's memtable and cache.
const benchEntries = 100_000

// benchEngines are the engines to measure: memory, and pebble on disk.
var benchEngines = []struct {
	name string
	open func(b *testing.B) KeyValue
}{
	{name: "memory", open: func(*testing.B) KeyValue { return NewMemory("bench") }},
	{name: "pebble", open: func(b *testing.B) KeyValue { return mustOpenPebble(b, b.TempDir(), PebbleOptions{}) }},
	{name: "pebble-16MiB-cache", open: func(b *testing.B) KeyValue {
		return mustOpenPebble(b, b.TempDir(), PebbleOptions{CacheSizeBytes: 16 << 20})
	}},
}

func benchKey(buf []byte, i int) []byte {
	return binary.BigEndian.AppendUint64(append(buf[:0], "key-"...), uint64(i))
}

// filledStore returns a store holding benchEntries committed keys with
// 100-byte values.
func filledStore(b *testing.B, open func(*testing.B) KeyValue) KeyValue {
	kv := open(b)
	value := make([]byte, 100)
	var key []byte
	for i := range benchEntries {
		key = benchKey(key, i)
		if err := kv.Put(key, value); err != nil {
			b.Fatal(err)
		}
		if i%10_000 == 9_999 {
			if err := kv.Commit(Checkpoint{Offset: int64(i)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return kv
}

func BenchmarkGet(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			kv := filledStore(b, e.open)
			rng := rand.New(rand.NewPCG(1, 2))
			var key []byte
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				key = benchKey(key, rng.IntN(benchEntries))
				if v, err := kv.Get(key); err != nil || v == nil {
					b.Fatal(v, err)
				}
			}
		})
	}
}

// BenchmarkPut writes uncommitted, committing every 1,000 writes as a task
// commits every so many records (the commit's fsync included).
func BenchmarkPut(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			kv := e.open(b)
			rng := rand.New(rand.NewPCG(1, 2))
			value := make([]byte, 100)
			var key []byte
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key = benchKey(key, rng.IntN(benchEntries))
				if err := kv.Put(key, value); err != nil {
					b.Fatal(err)
				}
				if i++; i%1000 == 0 {
					if err := kv.Commit(Checkpoint{Offset: int64(i)}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkRange reads 100 consecutive keys from a random start.
func BenchmarkRange(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			kv := filledStore(b, e.open)
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				first := rng.IntN(benchEntries - 100)
				it, err := kv.Range(benchKey(nil, first), benchKey(nil, first+100))
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for it.Next() {
					n++
				}
				if err := it.Close(); err != nil || n != 100 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// BenchmarkWindowPutFetch puts a window and fetches a key's recent windows,
// the pattern of a windowed aggregation.
func BenchmarkWindowPutFetch(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			kv := e.open(b)
			w, err := NewWindow(kv, nil, WindowOptions{Retention: time.Minute, SegmentInterval: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			value := make([]byte, 100)
			var key []byte
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key = benchKey(key, i%1000)
				start := int64(i) / 10 // ten puts a millisecond
				if err := w.Put(key, start, value); err != nil {
					b.Fatal(err)
				}
				it, err := w.FetchRange(key, start-1000, start)
				if err != nil {
					b.Fatal(err)
				}
				for it.Next() {
				}
				if err := it.Close(); err != nil {
					b.Fatal(err)
				}
				if i++; i%1000 == 0 {
					if err := kv.Commit(Checkpoint{Offset: int64(i)}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
