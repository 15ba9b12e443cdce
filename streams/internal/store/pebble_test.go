package store

import (
	"errors"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestPebbleCrashKeepsExactlyTheLastCommit(t *testing.T) {
	fs := vfs.NewCrashableMem()
	kv := mustOpenPebble(t, "db", PebbleOptions{FS: fs})
	must(t, kv.Put([]byte("a"), []byte("1")))
	must(t, kv.Put([]byte("b"), []byte("2")))
	must(t, kv.Commit(Checkpoint{Offset: 10}))
	must(t, kv.Put([]byte("a"), []byte("changed")))
	must(t, kv.Delete([]byte("b")))
	must(t, kv.Put([]byte("c"), []byte("3")))

	crashed := fs.CrashClone(vfs.CrashCloneCfg{}) // only what was synced
	reopened := mustOpenPebble(t, "db", PebbleOptions{FS: crashed})
	if got, want := scanKeys(t, reopened, nil, nil, false), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("after crash: keys %q, want %q", got, want)
	}
	if v, _ := reopened.Get([]byte("a")); string(v) != "1" {
		t.Fatalf("after crash: a = %q, want 1", v)
	}
	if cp, err := reopened.Checkpoint(); err != nil || cp.Offset != 10 {
		t.Fatalf("after crash: checkpoint %+v, %v", cp, err)
	}
}

func TestPebbleReservedKeysStayHidden(t *testing.T) {
	kv := mustOpenPebble(t, t.TempDir(), PebbleOptions{})
	// User keys that spell the store's own keys, and the extremes.
	for _, k := range [][]byte{formatKey, checkpointKey, {}, {0xFF, 0xFF}} {
		must(t, kv.Put(k, []byte("user")))
	}
	must(t, kv.Commit(Checkpoint{Offset: 5}))
	must(t, kv.DeleteRange(nil, nil))
	must(t, kv.Commit(Checkpoint{Offset: 6}))
	if keys := scanKeys(t, kv, nil, nil, false); len(keys) != 0 {
		t.Fatalf("after deleting every user key: %q", keys)
	}
	if cp, err := kv.Checkpoint(); err != nil || cp.Offset != 6 {
		t.Fatalf("checkpoint %+v, %v: DeleteRange reached the store's own keys", cp, err)
	}
}

func TestPebbleReopenOnDisk(t *testing.T) {
	dir := t.TempDir()
	kv, err := OpenPebble("s", dir, PebbleOptions{})
	must(t, err)
	must(t, kv.Put([]byte("k"), []byte("v")))
	must(t, kv.Commit(Checkpoint{Offset: 1}))
	must(t, kv.Put([]byte("uncommitted"), []byte("v")))
	if _, err := OpenPebble("s", dir, PebbleOptions{}); err == nil {
		t.Fatal("a second open of the same directory succeeded")
	}
	must(t, kv.Close())
	kv = mustOpenPebble(t, dir, PebbleOptions{})
	if got := scanKeys(t, kv, nil, nil, false); !slices.Equal(got, []string{"k"}) {
		t.Fatalf("reopened with keys %q, want [k]", got)
	}
}

func TestPebbleDetectsCorruptMetadata(t *testing.T) {
	tests := []struct {
		name       string
		key, value []byte
	}{
		{name: "checkpoint", key: checkpointKey, value: []byte("bad")},
		{name: "checkpoint version", key: checkpointKey, value: []byte{2, 0, 0, 0, 0, 0, 0, 0, 1}},
		{name: "layout version", key: formatKey, value: []byte{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := vfs.NewMem()
			kv := mustOpenPebble(t, "db", PebbleOptions{FS: fs})
			must(t, kv.Commit(Checkpoint{Offset: 1}))
			must(t, kv.Close())
			db, err := pebble.Open("db", &pebble.Options{FS: fs})
			must(t, err)
			must(t, db.Set(tt.key, tt.value, pebble.Sync))
			must(t, db.Close())
			if _, err := OpenPebble("s", "db", PebbleOptions{FS: fs}); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open: %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestPebbleSharedCache(t *testing.T) {
	cache := pebble.NewCache(1 << 20)
	defer cache.Unref()
	fs := vfs.NewMem()
	a := mustOpenPebble(t, "a", PebbleOptions{FS: fs, Cache: cache})
	b := mustOpenPebble(t, "b", PebbleOptions{FS: fs, Cache: cache})
	must(t, a.Put([]byte("k"), []byte("a")))
	must(t, b.Put([]byte("k"), []byte("b")))
	must(t, a.Commit(Checkpoint{Offset: 1}))
	must(t, b.Commit(Checkpoint{Offset: 1}))
	va, _ := a.Get([]byte("k"))
	vb, _ := b.Get([]byte("k"))
	if string(va) != "a" || string(vb) != "b" {
		t.Fatalf("stores sharing a cache read %q and %q", va, vb)
	}
}

func TestPebbleCommitWithoutChangesSkipsTheSync(t *testing.T) {
	kv := mustOpenPebble(t, "db", PebbleOptions{FS: vfs.NewMem()}).(*pebbleStore)
	must(t, kv.Commit(Checkpoint{Offset: 3}))
	before := kv.db.Metrics().WAL.BytesIn
	must(t, kv.Commit(Checkpoint{Offset: 3}))
	if after := kv.db.Metrics().WAL.BytesIn; after != before {
		t.Fatalf("an empty commit of the same checkpoint wrote %d WAL bytes", after-before)
	}
	must(t, kv.Commit(Checkpoint{Offset: 4}))
	if kv.db.Metrics().WAL.BytesIn == before {
		t.Fatal("a new checkpoint was not written")
	}
}
