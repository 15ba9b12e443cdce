package transforms_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/transforms"
)

// maskSchema is the schema of Kafka's MaskFieldTest, with fjord's Go types.
var maskSchema = connect.NewSchemaBuilder(connect.TypeStruct).
	Field("magic", connect.Int32Schema).
	Field("bool", connect.BooleanSchema).
	Field("byte", connect.Int8Schema).
	Field("short", connect.Int16Schema).
	Field("int", connect.Int32Schema).
	Field("long", connect.Int64Schema).
	Field("float", connect.Float32Schema).
	Field("double", connect.Float64Schema).
	Field("string", connect.StringSchema).
	Field("date", connect.DateBuilder().MustBuild()).
	Field("decimal", connect.DecimalBuilder(2).MustBuild()).
	Field("array", connect.ArrayOf(connect.Int32Schema).MustBuild()).
	Field("map", connect.MapOf(connect.StringSchema, connect.StringSchema).MustBuild()).
	Field("withDefault", connect.NewSchemaBuilder(connect.TypeString).Optional().Default("default").MustBuild()).
	MustBuild()

func maskValues() []any {
	return []any{"magic", int32(42), "bool", true, "byte", int8(42), "short", int16(42), "int", int32(42),
		"long", int64(42), "float", float32(42), "double", float64(42), "string", "55.121.20.20",
		"date", time.UnixMilli(86400000).UTC(), "decimal", connect.Decimal{Unscaled: big.NewInt(4200), Scale: 2},
		"array", []any{int32(4), int32(2)}, "map", map[any]any{"part": "whole"}}
}

var maskFields = "bool,byte,short,int,long,float,double,string,date,decimal,array,map,withDefault"

func maskedValues() map[string]any {
	return map[string]any{"magic": int32(42), "bool": false, "byte": int8(0), "short": int16(0), "int": int32(0),
		"long": int64(0), "float": float32(0), "double": float64(0), "string": "", "date": time.UnixMilli(0).UTC(),
		"decimal": connect.Decimal{Scale: 2}, "array": []any{}, "map": map[any]any{}, "withDefault": ""}
}

func TestMaskFieldWithSchema(t *testing.T) {
	tr := configured(t, transforms.NewMaskField(transforms.Value), "fields", maskFields)
	value := structOf(t, maskSchema, maskValues()...)
	out := apply(t, tr, connect.Record{ValueSchema: maskSchema, Value: value})
	got := out.Value.(*connect.Struct)
	if out.ValueSchema != maskSchema {
		t.Error("schema changed")
	}
	for name, want := range maskedValues() {
		if !same(got.Get(name), want) {
			t.Errorf("%s = %#v, want %#v", name, got.Get(name), want)
		}
	}
	if value.Get("int") != int32(42) {
		t.Error("the input struct was modified")
	}
}

func TestMaskFieldSchemaless(t *testing.T) {
	tr := configured(t, transforms.NewMaskField(transforms.Value), "fields", maskFields)
	out := apply(t, tr, connect.Record{Value: object(maskValues()...)})
	want := object()
	for k, v := range maskedValues() {
		want[k] = v
	}
	want["withDefault"] = nil // absent from the map: added as null, as Kafka does
	if !same(out.Value, want) {
		t.Errorf("got %v\nwant %v", out.Value, want)
	}
}

func TestMaskFieldReplacement(t *testing.T) {
	for _, tc := range []struct {
		replacement string
		in, want    any
	}{
		{"123", int8(1), int8(123)},
		{"123", int16(1), int16(123)},
		{"12.9", int32(1), int32(12)},
		{"-123", int64(1), int64(-123)},
		{"123.5", float32(1), float32(123.5)},
		{"123.5", float64(1), 123.5},
		{"******", "secret", "******"},
		{"0.5", connect.Decimal{Unscaled: big.NewInt(4200), Scale: 2}, connect.Decimal{Unscaled: big.NewInt(50), Scale: 2}},
	} {
		tr := configured(t, transforms.NewMaskField(transforms.Key), "fields", "f", "replacement", tc.replacement)
		out := apply(t, tr, connect.Record{Key: object("f", tc.in, "other", "kept")})
		if got := out.Key.(map[any]any); !same(got["f"], tc.want) || got["other"] != "kept" {
			t.Errorf("%q over %#v: %#v, want %#v", tc.replacement, tc.in, got["f"], tc.want)
		}
	}
	for _, tc := range []struct {
		replacement string
		in          any
		want        string
	}{
		{"abc", int32(1), "Unable to convert abc (class java.lang.String) to number"},
		{"300", int8(1), "Unable to convert 300"},
		{"x", true, "Cannot mask value of type class java.lang.Boolean with custom replacement."},
		{"x", time.UnixMilli(0).UTC(), "Cannot mask value of type class java.util.Date with custom replacement."},
	} {
		tr := configured(t, transforms.NewMaskField(transforms.Value), "fields", "f", "replacement", tc.replacement)
		_, _, err := tr.Apply(connect.Record{Value: object("f", tc.in)})
		if !errors.Is(err, connect.ErrInvalidData) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q over %#v: %v, want %q", tc.replacement, tc.in, err, tc.want)
		}
	}
}

func TestMaskFieldErrors(t *testing.T) {
	for _, config := range []map[string]string{{}, {"fields": ""}, {"fields": "a", "replacement": ""}} {
		if err := transforms.NewMaskField(transforms.Value).Configure(config); !errors.Is(err, connect.ErrInvalidConfig) {
			t.Errorf("Configure(%v): %v", config, err)
		}
	}
	tr := configured(t, transforms.NewMaskField(transforms.Value), "fields", "b")
	_, _, err := tr.Apply(connect.Record{Value: object("b", []byte{1})})
	if !errors.Is(err, connect.ErrInvalidData) || !strings.Contains(err.Error(), "Cannot mask value of type: class [B") {
		t.Errorf("bytes: %v", err)
	}
	if out := apply(t, tr, connect.Record{Topic: "t"}); out.Value != nil {
		t.Error("tombstone changed")
	}
}
