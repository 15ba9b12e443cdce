package connect_test

import (
	"errors"
	"math/big"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/connect"
)

func TestTypeNamesAreKafkas(t *testing.T) {
	want := []string{"int8", "int16", "int32", "int64", "float32", "float64", "boolean", "string", "bytes", "array", "map", "struct"}
	var got []string
	for typ := connect.TypeInt8; typ <= connect.TypeStruct; typ++ {
		got = append(got, typ.String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSchemaBuilder(t *testing.T) {
	point := connect.NewSchemaBuilder(connect.TypeStruct).Name("Point").
		Field("x", connect.Int32Schema).Field("y", connect.Int32Schema).MustBuild()
	for _, tc := range []struct {
		name    string
		builder *connect.SchemaBuilder
		wantErr bool
	}{
		{"primitive", connect.NewSchemaBuilder(connect.TypeInt64).Optional().Doc("d").Version(3), false},
		{"default", connect.NewSchemaBuilder(connect.TypeString).Default("x"), false},
		{"default of wrong Go type", connect.NewSchemaBuilder(connect.TypeInt32).Default(5), true},
		{"struct", connect.NewSchemaBuilder(connect.TypeStruct).Field("p", point), false},
		{"struct default", connect.NewSchemaBuilder(connect.TypeStruct).Field("x", connect.Int32Schema).
			Default(connect.NewStruct(point)), true},
		{"field on int", connect.NewSchemaBuilder(connect.TypeInt32).Field("x", connect.Int32Schema), true},
		{"duplicate field", connect.NewSchemaBuilder(connect.TypeStruct).
			Field("x", connect.Int32Schema).Field("x", connect.Int64Schema), true},
		{"empty field name", connect.NewSchemaBuilder(connect.TypeStruct).Field("", connect.Int32Schema), true},
		{"nil field schema", connect.NewSchemaBuilder(connect.TypeStruct).Field("x", nil), true},
		{"array", connect.ArrayOf(point).Default([]any{}), false},
		{"array default element", connect.ArrayOf(connect.Int8Schema).Default([]any{int8(1), nil}), true},
		{"nil array element schema", connect.ArrayOf(nil), true},
		{"map", connect.MapOf(connect.StringSchema, connect.OptionalInt32Schema).
			Default(map[any]any{"a": int32(1), "b": nil}), false},
		{"nil map schema", connect.MapOf(connect.StringSchema, nil), true},
		{"array without element", connect.NewSchemaBuilder(connect.TypeArray), true},
		{"zero type", connect.NewSchemaBuilder(0), true},
		{"decimal default", connect.DecimalBuilder(2).Default(connect.Decimal{Unscaled: big.NewInt(5), Scale: 2}), false},
		{"decimal default of other scale", connect.DecimalBuilder(2).Default(connect.Decimal{Unscaled: big.NewInt(5), Scale: 1}), true},
	} {
		s, err := tc.builder.Build()
		if gotErr := err != nil; gotErr != tc.wantErr {
			t.Errorf("%s: schema %v, error %v; want error %v", tc.name, s, err, tc.wantErr)
		}
		if err != nil && !errors.Is(err, connect.ErrInvalidSchema) {
			t.Errorf("%s: %v does not wrap ErrInvalidSchema", tc.name, err)
		}
	}
}

func TestSchemaAccessors(t *testing.T) {
	b := connect.NewSchemaBuilder(connect.TypeStruct).Name("com.example.Order").Version(7).Doc("an order").
		Parameter("z", "1").Parameter("a", "2").Parameter("z", "3").
		Field("id", connect.Int64Schema).Field("note", connect.OptionalStringSchema)
	s := b.MustBuild()
	if v, ok := s.Version(); v != 7 || !ok {
		t.Errorf("version %d %v", v, ok)
	}
	if got := s.Parameters(); !slices.Equal(got, []connect.Parameter{{Key: "z", Value: "3"}, {Key: "a", Value: "2"}}) {
		t.Errorf("parameters %v: want insertion order, replaced in place", got)
	}
	if f, ok := s.Field("note"); !ok || f.Index != 1 || f.Schema != connect.OptionalStringSchema {
		t.Errorf("field note: %+v %v", f, ok)
	}
	if _, ok := s.Field("nope"); ok {
		t.Error("found a field that is not there")
	}
	if s.String() != "Schema{com.example.Order:STRUCT}" || connect.Int32Schema.String() != "Schema{INT32}" {
		t.Errorf("strings %s, %s", s, connect.Int32Schema)
	}
	// The builder goes on; the built schema does not change.
	b.Field("extra", connect.BooleanSchema).Parameter("a", "changed")
	if len(s.Fields()) != 2 || s.Parameters()[1].Value != "2" {
		t.Errorf("built schema changed with its builder: %v %v", s.Fields(), s.Parameters())
	}
	fields := s.Fields()
	fields[0].Name = "mutated"
	if s.Fields()[0].Name != "id" {
		t.Error("Fields returned the schema's own slice")
	}
}

func TestSchemaEqual(t *testing.T) {
	build := func(doc string, params ...string) *connect.Schema {
		b := connect.NewSchemaBuilder(connect.TypeStruct).Doc(doc).Field("a", connect.ArrayOf(connect.Int8Schema).MustBuild())
		for i := 0; i < len(params); i += 2 {
			b.Parameter(params[i], params[i+1])
		}
		return b.MustBuild()
	}
	if !build("d", "x", "1", "y", "2").Equal(build("d", "y", "2", "x", "1")) {
		t.Error("parameter order should not matter")
	}
	if build("d").Equal(build("e")) {
		t.Error("doc should matter")
	}
	if connect.Int32Schema.Equal(connect.OptionalInt32Schema) || connect.Int32Schema.Equal(nil) {
		t.Error("optional and nil should matter")
	}
	d1 := connect.NewSchemaBuilder(connect.TypeFloat64).Default(0.0).MustBuild()
	d2 := connect.NewSchemaBuilder(connect.TypeFloat64).Default(-1 * 0.0).MustBuild()
	if !d1.Equal(d2) {
		t.Error("equal defaults")
	}
}
