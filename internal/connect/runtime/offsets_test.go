package runtime

import (
	"maps"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fjordhq/fjord/connect"
)

// TestFileOffsetStore: offsets survive reopening the file, keep Kafka's
// number types, are kept apart per connector, and a nil offset deletes.
func TestFileOffsetStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connect.offsets")
	s, err := openFileOffsetStore(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	fileA := map[string]any{"filename": "/tmp/a"}
	fileB := map[string]any{"filename": "/tmp/b"}
	if err := s.put(ctx, "src", []connect.SourcePartitionOffset{
		{Partition: fileA, Offset: map[string]any{"position": int64(120)}},
		{Partition: fileB, Offset: map[string]any{"position": int64(7), "ratio": 0.5}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.put(ctx, "other", []connect.SourcePartitionOffset{{Partition: fileA, Offset: map[string]any{"position": int64(1)}}}); err != nil {
		t.Fatal(err)
	}
	if s, err = openFileOffsetStore(path); err != nil {
		t.Fatal(err)
	}
	got, err := s.get(ctx, "src", []map[string]any{fileA, {"filename": "/tmp/none"}, fileB})
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"position": int64(120)}, nil, {"position": int64(7), "ratio": 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("get = %v, want %v", got, want)
	}
	if err := s.put(ctx, "src", []connect.SourcePartitionOffset{{Partition: fileA}}); err != nil {
		t.Fatal(err)
	}
	all, err := s.all(ctx, "src")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || !reflect.DeepEqual(all[0].Partition, fileB) {
		t.Fatalf("all = %v, want only %v", all, fileB)
	}
}

// TestOffsetKeyIsKafkas: the key is Kafka Connect's ["connector",{partition}].
func TestOffsetKeyIsKafkas(t *testing.T) {
	key, err := offsetKey("jdbc", map[string]any{"table": "orders", "db": "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if string(key) != `["jdbc",{"db":"shop","table":"orders"}]` {
		t.Fatalf("key %s", key)
	}
	name, partition, err := decodeOffsetKey(key)
	if err != nil || name != "jdbc" || partition["table"] != "orders" {
		t.Fatalf("decoded %q %v %v", name, partition, err)
	}
	for _, bad := range []string{`{}`, `["a"]`, `[1,{}]`, `["a",[]]`, `[`} {
		if _, _, err := decodeOffsetKey([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// TestPartitionIDTellsPartitionsApart: equal partitions share an id, and
// partitions that differ in any key, value or type do not.
func TestPartitionIDTellsPartitionsApart(t *testing.T) {
	parts := []map[string]any{
		{"file": "a"}, {"file": "b"}, {"file": "a", "line": int64(1)}, {"file": "a", "line": int64(2)},
		{"file": "a", "line": "1"}, {"file": "a:1"}, {"fil": "ea"}, {"file": nil}, {"file": true},
		{"file": 1.5}, {"a": "b", "c": "d"}, {"a": "b c", "d": ""}, {},
	}
	seen := map[string]int{}
	for i, p := range parts {
		id, err := partitionID(p)
		if err != nil {
			t.Fatal(err)
		}
		if j, ok := seen[id]; ok {
			t.Errorf("partitions %v and %v share id %q", parts[j], p, id)
		}
		seen[id] = i
		again, _ := partitionID(map[string]any(maps.Clone(p)))
		if again != id {
			t.Errorf("%v: id %q then %q", p, id, again)
		}
	}
}
