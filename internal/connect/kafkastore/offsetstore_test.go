package kafkastore

import (
	"reflect"
	"testing"
)

func b(s string) []byte { return []byte(s) }

func TestOffsetsSharedBetweenWorkers(t *testing.T) {
	c := startCluster(t)
	w1 := startOffsetStore(t, c, "connect-offsets")
	w2 := startOffsetStore(t, c, "connect-offsets")
	ctx := testContext(t)
	err := w1.Put(ctx, []OffsetRecord{
		{Key: b(`["file-source",{"filename":"/tmp/a.txt"}]`), Value: b(`{"position":42}`)},
		{Key: b(`["file-source",{"filename":"/tmp/b.txt"}]`), Value: b(`{"position":7}`)},
		{Key: b(`["other",{"filename":"/tmp/a.txt"}]`), Value: b(`{"position":1}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := w2.Get(ctx, [][]byte{b(`["file-source",{"filename":"/tmp/a.txt"}]`), b(`["file-source",{"filename":"/tmp/c.txt"}]`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0]) != `{"position":42}` || got[1] != nil {
		t.Fatalf("Get %q", got)
	}
	// A nil value deletes.
	if err := w2.Put(ctx, []OffsetRecord{{Key: b(`["file-source",{"filename":"/tmp/b.txt"}]`)}}); err != nil {
		t.Fatal(err)
	}
	all, err := w1.All(ctx, "file-source")
	if err != nil {
		t.Fatal(err)
	}
	want := []OffsetRecord{{Key: b(`["file-source",{"filename":"/tmp/a.txt"}]`), Value: b(`{"position":42}`)}}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("All %q, want %q", all, want)
	}
	bad := []OffsetRecord{{Key: b(`{"not":"a list"}`), Value: b(`{}`)}}
	if err := w1.Put(ctx, bad); err == nil {
		t.Error("Put took a key that is not [connector, {partition}]")
	}
	if err := w1.Put(ctx, []OffsetRecord{{Key: b(`["c",{}]`), Value: b(`[1]`)}}); err == nil {
		t.Error("Put took a value that is not an object")
	}
}

// TestOffsetsOfAJavaWorker reads offsets whose partition fields a Java
// worker wrote in its HashMap's order, finds them by a key in Go's order,
// and overwrites them under the Java key's bytes so that compaction keeps
// one record.
func TestOffsetsOfAJavaWorker(t *testing.T) {
	c := startCluster(t)
	javaKey := `["jdbc-source",{"table":"orders","protocol":"1"}]`
	store := startOffsetStore(t, c, "connect-offsets")
	c.produceRaw(t, "connect-offsets", kv(javaKey, `{"incrementing":41}`))
	ctx := testContext(t)
	goKey := b(`["jdbc-source",{"protocol":"1","table":"orders"}]`)
	got, err := store.Get(ctx, [][]byte{goKey})
	if err != nil || string(got[0]) != `{"incrementing":41}` {
		t.Fatalf("Get %q (%v)", got, err)
	}
	if err := store.Put(ctx, []OffsetRecord{{Key: goKey, Value: b(`{"incrementing":42}`)}}); err != nil {
		t.Fatal(err)
	}
	records := c.readRaw(t, "connect-offsets")
	if len(records) != 2 || string(records[1].Key) != javaKey || records[1].Partition != records[0].Partition {
		t.Fatalf("topic records %+v, want the new offset under the Java key on its partition", records)
	}
	all, err := store.All(ctx, "jdbc-source")
	if err != nil || len(all) != 1 || string(all[0].Value) != `{"incrementing":42}` {
		t.Fatalf("All %q (%v)", all, err)
	}
}

func TestOffsetKeysMatchByContent(t *testing.T) {
	same := [][2]string{
		{`["c",{"a":1,"b":"x"}]`, `[ "c" , { "b":"x", "a":1 } ]`},
		{`["c",{"f":"a&b<c>"}]`, `["c",{"f":"a\u0026b\u003cc\u003e"}]`}, // Go's json.Marshal escapes these
		{`["c",{"n":{"z":null,"y":[1,2]}}]`, `["c",{"n":{"y":[1,2],"z":null}}]`},
	}
	for _, pair := range same {
		k1, err1 := parseOffsetKey(b(pair[0]))
		k2, err2 := parseOffsetKey(b(pair[1]))
		if err1 != nil || err2 != nil || k1 != k2 || !k1.partitioned || k1.connector != "c" {
			t.Errorf("%s and %s: %+v %+v (%v %v)", pair[0], pair[1], k1, k2, err1, err2)
		}
	}
	different := [][2]string{
		{`["c",{"n":1}]`, `["c",{"n":1.0}]`},
		{`["c",{"n":1}]`, `["d",{"n":1}]`},
	}
	for _, pair := range different {
		k1, _ := parseOffsetKey(b(pair[0]))
		k2, _ := parseOffsetKey(b(pair[1]))
		if k1.canonical == k2.canonical {
			t.Errorf("%s and %s match", pair[0], pair[1])
		}
	}
	for _, s := range []string{`["c",null]`, `["c"]`, `[1,{}]`, `"c"`} {
		if k, err := parseOffsetKey(b(s)); err != nil || k.partitioned {
			t.Errorf("%s: %+v (%v), want a key of no connector", s, k, err)
		}
	}
	for _, s := range []string{``, `[`, `["c",{}]]`, `["c",{}] x`} {
		if _, err := parseOffsetKey(b(s)); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}
