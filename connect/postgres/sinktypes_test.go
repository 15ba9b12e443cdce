package postgres

import (
	"math"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// allTypesSchema has a field of every type the sink writes, required and
// optional.
var allTypesSchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("AllTypes").
	Field("id", connect.Int64Schema).
	Field("i8", connect.Int8Schema).
	Field("i16", connect.Int16Schema).
	Field("i32", connect.Int32Schema).
	Field("f32", connect.Float32Schema).
	Field("f64", connect.Float64Schema).
	Field("flag", connect.BooleanSchema).
	Field("text", connect.StringSchema).
	Field("blob", connect.BytesSchema).
	Field("price", connect.DecimalBuilder(2).MustBuild()).
	Field("day", connect.DateSchema).
	Field("clock", connect.TimeSchema).
	Field("at", connect.TimestampSchema).
	Field("opt_text", connect.OptionalStringSchema).
	Field("opt_blob", connect.OptionalBytesSchema).
	Field("opt_price", connect.DecimalBuilder(4).Parameter(decimalPrecisionParameter, "12").Optional().MustBuild()).
	Field("opt_day", connect.DateBuilder().Optional().MustBuild()).
	Field("opt_at", connect.TimestampBuilder().Optional().MustBuild()).
	Field("opt_i32", connect.OptionalInt32Schema).
	MustBuild()

func allTypesValue(t *testing.T, id int64, full bool) *connect.Struct {
	t.Helper()
	v := connect.NewStruct(allTypesSchema)
	put := func(name string, value any) {
		if err := v.Put(name, value); err != nil {
			t.Fatal(err)
		}
	}
	put("id", id)
	put("i8", int8(-128))
	put("i16", int16(math.MaxInt16))
	put("i32", int32(math.MinInt32))
	put("f32", float32(1.5))
	put("f64", math.Pi)
	put("flag", true)
	put("text", "héllo, \"world\" 'quoted' ✓")
	put("blob", []byte{0, 1, 2, 0xff})
	put("price", connect.Decimal{Unscaled: big.NewInt(-123456789), Scale: 2})
	put("day", time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC))
	put("clock", time.UnixMilli(13*3600_000+37*60_000+1_234).UTC())
	put("at", time.UnixMilli(1_700_000_000_123).UTC())
	if full {
		put("opt_text", "")
		put("opt_blob", []byte{})
		put("opt_price", connect.Decimal{Unscaled: big.NewInt(-5), Scale: 4})
		put("opt_day", time.Date(2038, 1, 19, 0, 0, 0, 0, time.UTC))
		put("opt_at", time.UnixMilli(-1).UTC())
		put("opt_i32", int32(7))
	}
	return v
}

func testSinkAutoCreateAllTypes(t *testing.T, db *testDB) {
	sink := startSink(t, nil, db.sinkProps(map[string]string{
		keyPKMode: "record_value", keyPKFields: "id", keyAutoCreate: "true", keyInsertMode: "upsert"}))
	values := []*connect.Struct{allTypesValue(t, 1, false), allTypesValue(t, 2, false)}
	putFlush(t, sink,
		connect.SinkRecord{Topic: "all_types", Offset: 0, ValueSchema: allTypesSchema, Value: values[0]},
		connect.SinkRecord{Topic: "all_types", Offset: 1, ValueSchema: allTypesSchema, Value: values[1]})

	columns := db.rows(t, `SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute
		WHERE attrelid = 'all_types'::regclass AND attnum > 0 ORDER BY attnum`)
	want := []string{
		"id bigint true", "i8 smallint true", "i16 smallint true", "i32 integer true", "f32 real true",
		"f64 double precision true", "flag boolean true", "text text true", "blob bytea true",
		"price numeric(1000,2) true", "day date true", "clock time without time zone true",
		"at timestamp with time zone true", "opt_text text false", "opt_blob bytea false",
		"opt_price numeric(12,4) false", "opt_day date false", "opt_at timestamp with time zone false",
		"opt_i32 integer false",
	}
	if !slices.Equal(columns, want) {
		t.Fatalf("columns\n%q\nwant\n%q", columns, want)
	}
	full := allTypesValue(t, 3, true)
	putFlush(t, sink, connect.SinkRecord{Topic: "all_types", Offset: 2, ValueSchema: allTypesSchema, Value: full})
	values = append(values, full)

	// Read the table back with the source: the values come back equal,
	// int8 as int16 (smallint is the smallest integer column).
	source := startSource(t, newOffsetStore(), db.sourceProps(map[string]string{
		keyTableIncludeList: "all_types", keyMode: modeIncrementing, keyIncrementingColumn: "id"}))
	records := drain(t, source)
	if len(records) != len(values) {
		t.Fatalf("read back %d rows, want %d", len(records), len(values))
	}
	for i, r := range records {
		got := r.Value.(*connect.Struct)
		if r.Key != values[i].Get("id") {
			t.Errorf("row %d: key %v, want the id %v (the table's primary key)", i, r.Key, values[i].Get("id"))
		}
		for _, f := range allTypesSchema.Fields() {
			want := values[i].Get(f.Name)
			if f.Name == "i8" {
				want = int16(want.(int8))
			}
			if !sameValue(got.Get(f.Name), want) {
				t.Errorf("row %d field %s: read back %#v, wrote %#v", i, f.Name, got.Get(f.Name), want)
			}
		}
	}
}

// sameValue compares Connect values: Decimals and times by value, byte
// slices by content.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case connect.Decimal:
		bd, ok := b.(connect.Decimal)
		return ok && a.Equal(bd)
	case time.Time:
		bt, ok := b.(time.Time)
		return ok && a.Equal(bt)
	case []byte:
		bb, ok := b.([]byte)
		return ok && string(a) == string(bb)
	}
	return a == b
}
