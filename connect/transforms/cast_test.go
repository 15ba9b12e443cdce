package transforms_test

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/transforms"
)

func TestCastConfig(t *testing.T) {
	for spec, want := range map[string]string{
		"":               "Must specify at least one field to cast.",
		"foo:faketype":   "Invalid type found in casting spec: faketype",
		"foo:array":      "Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
		"array":          "does not support casting to ARRAY",
		"foo:bytes":      "does not support casting to BYTES",
		"foo:int8:extra": "Invalid cast mapping: foo:int8:extra",
		"foo:int8,int32": "may only specify a single cast in their spec",
	} {
		err := transforms.NewCast(transforms.Key).Configure(props("spec", spec))
		if !errors.Is(err, connect.ErrInvalidConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("spec %q: %v, want %q", spec, err, want)
		}
	}
}

func TestCastWholeValue(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		schema *connect.Schema
		in     any
		want   any
	}{
		{"int8", connect.Int32Schema, int32(42), int8(42)},
		{"int16", connect.Int32Schema, int32(42), int16(42)},
		{"int32", connect.Int32Schema, int32(42), int32(42)},
		{"int64", connect.Int32Schema, int32(42), int64(42)},
		{"float32", connect.Int32Schema, int32(42), float32(42)},
		{"float64", connect.Int32Schema, int32(42), float64(42)},
		{"boolean", connect.Int32Schema, int32(42), true},
		{"boolean", connect.Int32Schema, int32(0), false},
		{"string", connect.Int32Schema, int32(42), "42"},
		{"string", connect.DecimalBuilder(0).MustBuild(), connect.Decimal{Unscaled: big.NewInt(42)}, "42"},
		{"string", connect.TimestampBuilder().MustBuild(), time.UnixMilli(1500000000123).UTC(), "2017-07-14T02:40:00.123Z"},
		{"int8", nil, int32(42), int8(42)},
		{"int16", nil, int32(42), int16(42)},
		{"int64", nil, int32(42), int64(42)},
		{"float32", nil, int32(42), float32(42)},
		{"float64", nil, int32(42), float64(42)},
		{"boolean", nil, int32(42), true},
		{"boolean", nil, int32(0), false},
		{"string", nil, int32(42), "42"},
		{"int8", nil, int32(300), int8(44)},                         // narrowing keeps the low bits, as Java
		{"int32", nil, 3.99e10, int32(math.MaxInt32)},               // a double saturates
		{"int8", nil, 300.7, int8(44)},                              // (byte)(int)300.7
		{"int64", nil, math.NaN(), int64(0)},                        // NaN is 0
		{"int32", nil, "-17", int32(-17)},                           // strings are parsed
		{"float64", nil, " 1.5e3d ", 1500.0},                        // Java's syntax
		{"boolean", nil, "TRUE", true},                              // Boolean.parseBoolean
		{"boolean", nil, "yes", false},                              // anything but true is false
		{"string", nil, []byte{0xfe, 0xdc, 0xba, 0x98}, "/ty6mA=="}, // base64
		{"string", nil, 1.0, "1.0"},                                 // Java's Double.toString
		{"string", nil, float32(1e10), "1.0E10"},                    // Java's Float.toString
		{"string", nil, true, "true"},
	} {
		tr := configured(t, transforms.NewCast(transforms.Value), "spec", tc.spec)
		out := apply(t, tr, connect.Record{ValueSchema: tc.schema, Value: tc.in})
		if !same(out.Value, tc.want) {
			t.Errorf("%s of %T %v: %#v, want %#v", tc.spec, tc.in, tc.in, out.Value, tc.want)
		}
		if tc.schema != nil && (out.ValueSchema.Type().String() != tc.spec && !(tc.spec == "boolean" && out.ValueSchema.Type() == connect.TypeBoolean)) {
			t.Errorf("%s: schema %v", tc.spec, out.ValueSchema)
		}
	}
}

func TestCastWholeValueSchema(t *testing.T) {
	tr := configured(t, transforms.NewCast(transforms.Value), "spec", "int32")
	schema := connect.NewSchemaBuilder(connect.TypeInt64).Optional().Default(int64(-42)).Name("n").Version(3).MustBuild()
	out := apply(t, tr, connect.Record{ValueSchema: schema, Value: int64(42)})
	if out.Value != int32(42) || out.ValueSchema.Default() != int32(-42) || !out.ValueSchema.Optional() ||
		out.ValueSchema.Name() != "n" {
		t.Errorf("%v %v", out.Value, out.ValueSchema)
	}
	// A Timestamp cast to int64 is a plain int64, not a Timestamp of a number.
	ts := configured(t, transforms.NewCast(transforms.Value), "spec", "int64")
	out = apply(t, ts, connect.Record{ValueSchema: connect.TimestampBuilder().MustBuild(), Value: time.UnixMilli(7).UTC()})
	if out.Value != int64(7) || out.ValueSchema.Name() != "" || connect.ValidateValue(out.ValueSchema, out.Value) != nil {
		t.Errorf("timestamp to int64: %v %v", out.Value, out.ValueSchema)
	}
	for _, tc := range []struct {
		value any
		want  string
	}{
		{[]any{int32(1)}, "Cast transformation does not support casting from ARRAY"},
		{int(1), "Cast transformation was passed a value of type class int"},
		{[]byte{1}, "Unexpected type in Cast transformation: class [B"},
		{"x1", "Value (x1) was out of range for requested data type"},
	} {
		_, _, err := configured(t, transforms.NewCast(transforms.Value), "spec", "int8").Apply(connect.Record{Value: tc.value})
		if !errors.Is(err, connect.ErrInvalidData) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%#v: %v", tc.value, err)
		}
	}
	if _, _, err := tr.Apply(connect.Record{ValueSchema: fooSchema, Value: connect.NewStruct(fooSchema)}); err == nil ||
		!strings.Contains(err.Error(), "does not support casting from STRUCT") {
		t.Errorf("struct: %v", err)
	}
}

// The schema and values of Kafka's CastTest.castFieldsWithSchema.
func TestCastFieldsWithSchema(t *testing.T) {
	day := time.UnixMilli(86400000).UTC()
	schema := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("int8", connect.Int8Schema).
		Field("int16", connect.OptionalInt16Schema).
		Field("int32", connect.NewSchemaBuilder(connect.TypeInt32).Default(int32(2)).MustBuild()).
		Field("int64", connect.Int64Schema).
		Field("float32", connect.Float32Schema).
		Field("float64", connect.NewSchemaBuilder(connect.TypeFloat64).Default(-1.125).MustBuild()).
		Field("boolean", connect.BooleanSchema).
		Field("string", connect.StringSchema).
		Field("bigdecimal", connect.DecimalBuilder(0).MustBuild()).
		Field("date", connect.DateBuilder().MustBuild()).
		Field("optional", connect.OptionalFloat32Schema).
		Field("timestamp", connect.TimestampBuilder().MustBuild()).
		Field("bytes", connect.BytesSchema).
		MustBuild()
	value := structOf(t, schema, "int8", int8(8), "int16", int16(16), "int32", int32(32), "int64", int64(64),
		"float32", float32(32), "float64", float64(-64), "boolean", true, "string", "42",
		"bigdecimal", connect.Decimal{Unscaled: big.NewInt(42)}, "date", day, "timestamp", time.UnixMilli(0).UTC(),
		"bytes", []byte{0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10})
	tr := configured(t, transforms.NewCast(transforms.Value), "spec", "int8:int16,int16:int32,int32:int64,int64:boolean,"+
		"float32:float64,float64:boolean,boolean:int8,string:int32,bigdecimal:string,date:string,optional:int32,bytes:string")
	out := apply(t, tr, connect.Record{ValueSchema: schema, Value: value})
	got := out.Value.(*connect.Struct)
	for name, want := range map[string]any{"int8": int16(8), "int16": int32(16), "int32": int64(32), "int64": true,
		"float32": float64(32), "float64": true, "boolean": int8(1), "string": int32(42), "bigdecimal": "42",
		"date": "1970-01-02", "timestamp": time.UnixMilli(0).UTC(), "bytes": "/ty6mHZUMhA=", "optional": nil} {
		if !same(got.Get(name), want) {
			t.Errorf("%s = %#v, want %#v", name, got.Get(name), want)
		}
	}
	s := out.ValueSchema
	if f, _ := s.Field("int32"); f.Schema.Default() != int64(2) {
		t.Errorf("int32 default %v, want 2 as int64", f.Schema.Default())
	}
	if f, _ := s.Field("float64"); f.Schema.Default() != true {
		t.Errorf("float64 default %v, want true", f.Schema.Default())
	}
	if f, _ := s.Field("int16"); !f.Schema.Optional() || f.Schema.Type() != connect.TypeInt32 {
		t.Errorf("int16 field %v", f.Schema)
	}
	if f, _ := s.Field("timestamp"); f.Schema.Name() != connect.TimestampName {
		t.Errorf("an uncast field changed: %v", f.Schema)
	}
}

// Kafka's CastTest.castLogicalToPrimitive.
func TestCastLogicalToPrimitive(t *testing.T) {
	schema := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("date_to_int32", connect.DateBuilder().MustBuild()).
		Field("timestamp_to_int64", connect.TimestampBuilder().MustBuild()).
		Field("time_to_int64", connect.TimeBuilder().MustBuild()).
		Field("decimal_to_int32", connect.DecimalBuilder(0).MustBuild()).
		Field("timestamp_to_float64", connect.TimestampBuilder().MustBuild()).
		Field("null_timestamp_to_int32", connect.TimestampBuilder().Optional().MustBuild()).
		MustBuild()
	value := structOf(t, schema, "date_to_int32", time.UnixMilli(86400000).UTC(),
		"timestamp_to_int64", time.UnixMilli(0).UTC(), "time_to_int64", time.UnixMilli(1).UTC(),
		"decimal_to_int32", connect.Decimal{Unscaled: big.NewInt(math.MaxInt32 + 1)},
		"timestamp_to_float64", time.UnixMilli(math.MaxInt64).UTC())
	tr := configured(t, transforms.NewCast(transforms.Value), "spec", "date_to_int32:int32,timestamp_to_int64:int64,"+
		"time_to_int64:int64,decimal_to_int32:int32,timestamp_to_float64:float64,null_timestamp_to_int32:int32")
	got := apply(t, tr, connect.Record{ValueSchema: schema, Value: value}).Value.(*connect.Struct)
	for name, want := range map[string]any{"date_to_int32": int32(1), "timestamp_to_int64": int64(0),
		"time_to_int64": int64(1), "decimal_to_int32": int32(math.MinInt32), "timestamp_to_float64": 9.223372036854776e18,
		"null_timestamp_to_int32": nil} {
		if got.Get(name) != want {
			t.Errorf("%s = %#v, want %#v", name, got.Get(name), want)
		}
	}
}

func TestCastSchemaless(t *testing.T) {
	tr := configured(t, transforms.NewCast(transforms.Value), "spec", "int8:int16,int16:int32,int32:int64,int64:boolean,"+
		"float32:float64,float64:boolean,boolean:int8,string:int32,absent:int8")
	in := object("int8", int8(8), "int16", int16(16), "int32", int32(32), "int64", int64(64), "float32", float32(32),
		"float64", float64(-64), "boolean", true, "string", "42", "other", "kept")
	out := apply(t, tr, connect.Record{Value: in})
	want := object("int8", int16(8), "int16", int32(16), "int32", int64(32), "int64", true, "float32", float64(32),
		"float64", true, "boolean", int8(1), "string", int32(42), "other", "kept", "absent", nil)
	if !same(out.Value, want) {
		t.Errorf("got %v\nwant %v", out.Value, want)
	}
	if in["int8"] != int8(8) {
		t.Error("input modified")
	}
	for _, r := range []connect.Record{{}, {ValueSchema: fooSchema}} {
		if got := apply(t, tr, r); got.Value != nil || got.ValueSchema != r.ValueSchema {
			t.Errorf("null changed: %+v", got)
		}
	}
}
