package transforms_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// configured configures tr with key, value pairs or fails the test.
func configured[T connect.Transformation](t *testing.T, tr T, kv ...string) T {
	t.Helper()
	if err := tr.Configure(props(kv...)); err != nil {
		t.Fatalf("Configure(%v): %v", kv, err)
	}
	return tr
}

func props(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// object builds a schemaless map from key, value pairs.
func object(kv ...any) map[any]any {
	m := map[any]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// structOf builds a struct of schema from field, value pairs.
func structOf(t *testing.T, schema *connect.Schema, kv ...any) *connect.Struct {
	t.Helper()
	s := connect.NewStruct(schema)
	for i := 0; i+1 < len(kv); i += 2 {
		if err := s.Put(kv[i].(string), kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// same compares Connect values: structs with Equal, times as instants,
// maps and lists element by element.
func same(a, b any) bool {
	switch a := a.(type) {
	case *connect.Struct:
		bs, ok := b.(*connect.Struct)
		return ok && a.Equal(bs)
	case time.Time:
		bt, ok := b.(time.Time)
		return ok && a.Equal(bt)
	case map[any]any:
		bm, ok := b.(map[any]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, found := bm[k]
			if !found || !same(v, w) {
				return false
			}
		}
		return true
	case connect.Decimal:
		bd, ok := b.(connect.Decimal)
		return ok && a.Equal(bd)
	}
	return reflect.DeepEqual(a, b)
}

// apply runs tr on r and fails the test on an error.
func apply(t *testing.T, tr connect.Transformation, r connect.Record) connect.Record {
	t.Helper()
	out, keep, err := tr.Apply(r)
	if err != nil || !keep {
		t.Fatalf("Apply: %v (keep %v)", err, keep)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
