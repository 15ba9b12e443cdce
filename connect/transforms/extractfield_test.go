package transforms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/transforms"
)

var (
	fooSchema   = connect.NewSchemaBuilder(connect.TypeStruct).Field("foo", connect.Int32Schema).MustBuild()
	magicSchema = connect.NewSchemaBuilder(connect.TypeStruct).Field("magic", connect.Int32Schema).MustBuild()
	nestSchema  = connect.NewSchemaBuilder(connect.TypeStruct).Field("magic", fooSchema).MustBuild()
	withDefault = connect.NewSchemaBuilder(connect.TypeStruct).
			Field("optional_with_default", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(42)).MustBuild()).
			MustBuild()
)

func TestExtractField(t *testing.T) {
	for _, tc := range []struct {
		name       string
		config     []string
		schema     *connect.Schema
		key        any
		wantSchema *connect.Schema
		want       any
	}{
		{"schemaless", []string{"field", "magic"}, nil, object("magic", int32(42)), nil, int32(42)},
		{"schemaless nested", []string{"field", "magic.foo", "field.syntax.version", "V2"},
			nil, object("magic", object("foo", int32(42))), nil, int32(42)},
		{"schemaless dotted name in V1", []string{"field", "magic.foo"}, nil, object("magic.foo", "x"), nil, "x"},
		{"schemaless null", []string{"field", "magic"}, nil, nil, nil, nil},
		{"schemaless missing", []string{"field", "nonexistent"}, nil, object("magic", int32(42)), nil, nil},
		{"schemaless missing nested", []string{"field", "magic.nonexistent", "field.syntax.version", "v2"},
			nil, object("magic", object("foo", int32(42))), nil, nil},
		{"with schema", []string{"field", "magic"}, magicSchema, nil, connect.Int32Schema, int32(42)},
		{"with schema nested", []string{"field", "magic.foo", "field.syntax.version", "V2"}, nestSchema, nil,
			connect.Int32Schema, int32(42)},
		{"null with schema", []string{"field", "magic"}, magicSchema, "null", connect.Int32Schema, nil},
	} {
		tr := configured(t, transforms.NewExtractField(transforms.Key), tc.config...)
		key := tc.key
		switch {
		case tc.schema == magicSchema && key == nil:
			key = structOf(t, magicSchema, "magic", int32(42))
		case tc.schema == nestSchema:
			key = structOf(t, nestSchema, "magic", structOf(t, fooSchema, "foo", int32(42)))
		case key == "null":
			key = nil
		}
		out := apply(t, tr, connect.Record{KeySchema: tc.schema, Key: key, Value: "v"})
		if !same(out.Key, tc.want) || !out.KeySchema.Equal(tc.wantSchema) || out.Value != "v" {
			t.Errorf("%s: %v (%v), want %v (%v)", tc.name, out.Key, out.KeySchema, tc.want, tc.wantSchema)
		}
	}
}

func TestExtractFieldUnknownField(t *testing.T) {
	for path, schema := range map[string]*connect.Schema{"nonexistent": magicSchema, "magic.nonexistent": nestSchema} {
		tr := configured(t, transforms.NewExtractField(transforms.Value), "field", path, "field.syntax.version", "V2")
		_, _, err := tr.Apply(connect.Record{ValueSchema: schema, Value: connect.NewStruct(schema)})
		if err == nil || !strings.HasSuffix(err.Error(), "Unknown field: "+path) {
			t.Errorf("%s: %v", path, err)
		}
	}
	tr := configured(t, transforms.NewExtractField(transforms.Value), "field", "a.b", "field.syntax.version", "V2")
	if _, _, err := tr.Apply(connect.Record{Value: object("a", "not a map")}); !errors.Is(err, connect.ErrInvalidData) {
		t.Errorf("nested in a string: %v", err)
	}
	for _, config := range []map[string]string{{}, {"field": "a", "field.syntax.version": "V3"},
		{"field": "`a.b", "field.syntax.version": "V2"}} {
		if err := transforms.NewExtractField(transforms.Value).Configure(config); !errors.Is(err, connect.ErrInvalidConfig) {
			t.Errorf("Configure(%v): %v", config, err)
		}
	}
}

func TestExtractFieldReplaceNullWithDefault(t *testing.T) {
	for setting, want := range map[string]any{"true": int32(42), "false": nil} {
		tr := configured(t, transforms.NewExtractField(transforms.Value), "field", "optional_with_default",
			"replace.null.with.default", setting)
		out := apply(t, tr, connect.Record{ValueSchema: withDefault, Value: connect.NewStruct(withDefault)})
		if out.Value != want {
			t.Errorf("replace.null.with.default=%s: %v, want %v", setting, out.Value, want)
		}
	}
}

func TestValueToKey(t *testing.T) {
	tr := configured(t, transforms.NewValueToKey(), "fields", "a,b")
	out := apply(t, tr, connect.Record{Key: "old", Value: object("a", int32(1), "b", int32(2), "c", int32(3))})
	if !same(out.Key, object("a", int32(1), "b", int32(2))) || out.KeySchema != nil {
		t.Errorf("schemaless: %v", out.Key)
	}
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Field("a", connect.Int32Schema).
		Field("b", connect.Int32Schema).Field("c", connect.Int32Schema).MustBuild()
	value := structOf(t, schema, "a", int32(1), "b", int32(2), "c", int32(3))
	out = apply(t, tr, connect.Record{ValueSchema: schema, Value: value})
	wantSchema := connect.NewSchemaBuilder(connect.TypeStruct).Field("a", connect.Int32Schema).
		Field("b", connect.Int32Schema).MustBuild()
	if !out.KeySchema.Equal(wantSchema) || !same(out.Key, structOf(t, wantSchema, "a", int32(1), "b", int32(2))) ||
		out.Value != value {
		t.Errorf("with schema: %v %v", out.KeySchema, out.Key)
	}
	missing := configured(t, transforms.NewValueToKey(), "fields", "not_exist")
	if _, _, err := missing.Apply(connect.Record{ValueSchema: schema, Value: value}); err == nil ||
		!strings.HasSuffix(err.Error(), "Field does not exist: not_exist") {
		t.Errorf("missing field: %v", err)
	}
	if out := apply(t, tr, connect.Record{Key: "k"}); out.Key != "k" {
		t.Error("tombstone's key changed")
	}
	for setting, want := range map[string]any{"true": int32(42), "false": nil} {
		tr := configured(t, transforms.NewValueToKey(), "fields", "optional_with_default", "replace.null.with.default", setting)
		out := apply(t, tr, connect.Record{ValueSchema: withDefault, Value: connect.NewStruct(withDefault)})
		if got := out.Key.(*connect.Struct).GetWithoutDefault("optional_with_default"); got != want {
			t.Errorf("replace.null.with.default=%s: %v", setting, got)
		}
	}
	if err := transforms.NewValueToKey().Configure(props("fields", "")); !errors.Is(err, connect.ErrInvalidConfig) ||
		!strings.Contains(err.Error(), "Empty list") {
		t.Errorf("empty fields: %v", err)
	}
}
