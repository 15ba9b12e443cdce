package store

import (
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// engine is one KeyValue implementation under test. Every test body that
// takes an engine runs against all of them.
type engine struct {
	name string
	// persistent engines keep their last commit across a crash; the
	// memory store comes back empty.
	persistent bool
	// open returns an empty store and a crash function, which crashes the
	// store it is given (dropping whatever was not synced) and returns it
	// reopened.
	open func(tb testing.TB, rng *rand.Rand) (KeyValue, func(KeyValue) KeyValue)
}

var engines = []engine{
	{name: "memory", open: openMemoryEngine},
	{name: "pebble-memfs", persistent: true, open: openPebbleMemEngine},
	{name: "pebble-disk", persistent: true, open: openPebbleDiskEngine},
}

func forEachEngine(t *testing.T, test func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { test(t, e) })
	}
}

func openMemoryEngine(tb testing.TB, _ *rand.Rand) (KeyValue, func(KeyValue) KeyValue) {
	crash := func(old KeyValue) KeyValue {
		_ = old.Close()
		kv := NewMemory("test")
		tb.Cleanup(func() { _ = kv.Close() })
		return kv
	}
	return crash(NewMemory("test")), crash
}

// openPebbleMemEngine runs pebble on its crashable in-memory file system: a
// crash keeps what was synced and a random part of the rest, as a power
// loss would.
func openPebbleMemEngine(tb testing.TB, rng *rand.Rand) (KeyValue, func(KeyValue) KeyValue) {
	fs := vfs.NewCrashableMem()
	crash := func(old KeyValue) KeyValue {
		fs = fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		_ = old.Close() // after the clone: what Close writes is lost
		return mustOpenPebble(tb, "db", PebbleOptions{FS: fs})
	}
	return mustOpenPebble(tb, "db", PebbleOptions{FS: fs}), crash
}

// openPebbleDiskEngine runs pebble on the real file system: a crash is a
// close without commit, as when the process dies.
func openPebbleDiskEngine(tb testing.TB, _ *rand.Rand) (KeyValue, func(KeyValue) KeyValue) {
	dir := tb.TempDir()
	crash := func(old KeyValue) KeyValue {
		_ = old.Close()
		return mustOpenPebble(tb, dir, PebbleOptions{})
	}
	return mustOpenPebble(tb, dir, PebbleOptions{}), crash
}

func mustOpenPebble(tb testing.TB, dir string, opts PebbleOptions) KeyValue {
	tb.Helper()
	kv, err := OpenPebble("test", dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = kv.Close() })
	return kv
}

// openEngine returns an empty store of e, for tests that do not crash it.
func openEngine(tb testing.TB, e engine) KeyValue {
	kv, _ := e.open(tb, rand.New(rand.NewPCG(1, 2)))
	return kv
}
