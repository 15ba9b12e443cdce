package connect_test

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

func TestValidateValue(t *testing.T) {
	point := connect.NewSchemaBuilder(connect.TypeStruct).Field("x", connect.Int32Schema).MustBuild()
	samePoint := connect.NewSchemaBuilder(connect.TypeStruct).Field("x", connect.Int32Schema).MustBuild()
	otherPoint := connect.NewSchemaBuilder(connect.TypeStruct).Field("x", connect.Int64Schema).MustBuild()
	p := connect.NewStruct(point)
	if err := p.Put("x", int32(1)); err != nil {
		t.Fatal(err)
	}
	unset := connect.NewStruct(point)
	dec := connect.DecimalBuilder(2).MustBuild()
	midnight := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	cyclic := []any{nil}
	cyclic[0] = cyclic
	for _, tc := range []struct {
		name   string
		schema *connect.Schema
		value  any
		ok     bool
	}{
		{"int8", connect.Int8Schema, int8(1), true},
		{"int for int32", connect.Int32Schema, 1, false},
		{"int64 for int32", connect.Int32Schema, int64(1), false},
		{"int64", connect.Int64Schema, int64(1), true},
		{"float32", connect.Float32Schema, float32(1), true},
		{"float64 for float32", connect.Float32Schema, 1.0, false},
		{"bool", connect.BooleanSchema, true, true},
		{"string", connect.StringSchema, "s", true},
		{"bytes", connect.BytesSchema, []byte{1}, true},
		{"string for bytes", connect.BytesSchema, "s", false},
		{"null required", connect.StringSchema, nil, false},
		{"null optional", connect.OptionalStringSchema, nil, true},
		{"array", connect.ArrayOf(connect.StringSchema).MustBuild(), []any{"a"}, true},
		{"typed slice", connect.ArrayOf(connect.StringSchema).MustBuild(), []string{"a"}, false},
		{"array bad element", connect.ArrayOf(connect.StringSchema).MustBuild(), []any{1}, false},
		{"map", connect.MapOf(connect.StringSchema, connect.Int32Schema).MustBuild(), map[any]any{"a": int32(1)}, true},
		{"map[string]any", connect.MapOf(connect.StringSchema, connect.Int32Schema).MustBuild(), map[string]any{"a": int32(1)}, false},
		{"map bad key", connect.MapOf(connect.StringSchema, connect.Int32Schema).MustBuild(), map[any]any{1: int32(1)}, false},
		{"struct", point, p, true},
		{"struct of an equal schema", samePoint, p, true},
		{"struct of another schema", otherPoint, p, false},
		{"struct missing required field", point, unset, false},
		{"nil *Struct", point, (*connect.Struct)(nil), false},
		{"decimal", dec, connect.Decimal{Unscaled: big.NewInt(1), Scale: 2}, true},
		{"decimal of other scale", dec, connect.Decimal{Unscaled: big.NewInt(1), Scale: 3}, false},
		{"bytes for decimal", dec, []byte{1}, false},
		{"date", connect.DateSchema, midnight, true},
		{"date with a time", connect.DateSchema, midnight.Add(time.Second), false},
		{"time", connect.TimeSchema, time.UnixMilli(5).UTC(), true},
		{"time on another day", connect.TimeSchema, midnight, false},
		{"timestamp", connect.TimestampSchema, midnight, true},
		{"int64 for timestamp", connect.TimestampSchema, int64(5), false},
		{"schemaless map", nil, map[any]any{"a": []any{int64(1), nil}}, true},
		{"schemaless struct", nil, p, false},
		{"schemaless time", nil, midnight, false},
		{"schemaless int", nil, 1, false},
		{"cyclic array", nil, cyclic, false},
	} {
		err := connect.ValidateValue(tc.schema, tc.value)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v; want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, connect.ErrInvalidData) {
			t.Errorf("%s: %v does not wrap ErrInvalidData", tc.name, err)
		}
	}
}

func TestStruct(t *testing.T) {
	s := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("id", connect.Int64Schema).
		Field("name", connect.NewSchemaBuilder(connect.TypeString).Default("anon").MustBuild()).
		Field("tags", connect.ArrayOf(connect.StringSchema).Optional().MustBuild()).
		Field("ratio", connect.OptionalFloat64Schema).
		MustBuild()
	st := connect.NewStruct(s)
	if err := st.Validate(); err == nil {
		t.Fatal("a struct without its required id validated")
	}
	for _, put := range []struct {
		field string
		value any
		ok    bool
	}{
		{"id", int64(7), true},
		{"id", "7", false},
		{"tags", []any{"x", "y"}, true},
		{"ratio", 0.5, true},
		{"nope", 1, false},
	} {
		if err := st.Put(put.field, put.value); (err == nil) != put.ok {
			t.Errorf("Put(%s, %#v): %v", put.field, put.value, err)
		}
	}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	if st.Get("name") != "anon" || st.GetWithoutDefault("name") != nil || st.Get("nope") != nil {
		t.Errorf("defaults: %v %v %v", st.Get("name"), st.GetWithoutDefault("name"), st.Get("nope"))
	}
	if got := st.String(); got != "Struct{id=7,tags=[x, y],ratio=0.5}" {
		t.Errorf("String: %s", got)
	}
	other := connect.NewStruct(s)
	for _, kv := range [][2]any{{"id", int64(7)}, {"tags", []any{"x", "y"}}, {"ratio", 0.5}} {
		if err := other.Put(kv[0].(string), kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if !st.Equal(other) {
		t.Error("equal structs differ")
	}
	if err := other.Put("ratio", nil); err != nil || st.Equal(other) {
		t.Errorf("cleared field: %v, equal %v", err, st.Equal(other))
	}
	notStruct := connect.NewStruct(connect.Int32Schema)
	if err := notStruct.Put("x", int32(1)); err == nil || notStruct.Validate() == nil {
		t.Error("a struct of an int32 schema accepted a field")
	}
}
