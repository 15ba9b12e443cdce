package transforms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/transforms"
)

var replaceSchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("r").
	Field("dont", connect.StringSchema).
	Field("abc", connect.Int32Schema).
	Field("foo", connect.BooleanSchema).
	Field("etc", connect.StringSchema).MustBuild()

func TestReplaceFieldSchemaless(t *testing.T) {
	value := object("dont", "whatever", "abc", int32(42), "foo", true, "etc", "etc")
	for _, tc := range []struct {
		name   string
		config []string
		want   map[any]any
	}{
		{"exclude and rename", []string{"exclude", "dont", "renames", "abc:xyz,foo:bar"},
			object("xyz", int32(42), "bar", true, "etc", "etc")},
		{"include and rename", []string{"include", "abc,foo", "renames", "abc:xyz,foo:bar"},
			object("xyz", int32(42), "bar", true)},
		{"exclude wins over include", []string{"include", "abc,foo", "exclude", "foo"}, object("abc", int32(42))},
		{"nothing configured", nil, value},
		{"old names", []string{"whitelist", "abc,foo", "blacklist", "foo"}, object("abc", int32(42))},
		{"new names win", []string{"include", "etc", "whitelist", "abc"}, object("etc", "etc")},
	} {
		tr := configured(t, transforms.NewReplaceField(transforms.Value), tc.config...)
		if out := apply(t, tr, connect.Record{Value: value}); !same(out.Value, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, out.Value, tc.want)
		}
	}
}

func TestReplaceFieldWithSchema(t *testing.T) {
	tr := configured(t, transforms.NewReplaceField(transforms.Value), "include", "abc,foo", "renames", "abc:xyz,foo:bar")
	value := structOf(t, replaceSchema, "dont", "whatever", "abc", int32(42), "foo", true, "etc", "etc")
	out := apply(t, tr, connect.Record{ValueSchema: replaceSchema, Value: value})
	got := out.Value.(*connect.Struct)
	if fields := out.ValueSchema.Fields(); len(fields) != 2 || fields[0].Name != "xyz" || fields[1].Name != "bar" ||
		out.ValueSchema.Name() != "r" {
		t.Fatalf("schema %v", fields)
	}
	if got.Get("xyz") != int32(42) || got.Get("bar") != true {
		t.Errorf("value %v", got)
	}
	for _, r := range []connect.Record{{}, {ValueSchema: replaceSchema}} {
		if tomb := apply(t, tr, r); tomb.Value != nil || tomb.ValueSchema != r.ValueSchema {
			t.Errorf("tombstone changed: %+v", tomb)
		}
	}
}

func TestReplaceFieldKeyAndDefaults(t *testing.T) {
	schema := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("abc", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(42)).MustBuild()).MustBuild()
	for setting, want := range map[string]any{"true": int32(42), "false": nil} {
		tr := configured(t, transforms.NewReplaceField(transforms.Key), "include", "abc",
			"renames", "abc:optional_with_default", "replace.null.with.default", setting)
		out := apply(t, tr, connect.Record{KeySchema: schema, Key: connect.NewStruct(schema), Value: "v"})
		if got := out.Key.(*connect.Struct).GetWithoutDefault("optional_with_default"); got != want || out.Value != "v" {
			t.Errorf("replace.null.with.default=%s: %v, want %v", setting, got, want)
		}
	}
}

func TestReplaceFieldErrors(t *testing.T) {
	err := transforms.NewReplaceField(transforms.Value).Configure(props("renames", "abc:xyz,bad"))
	if !errors.Is(err, connect.ErrInvalidConfig) || !strings.Contains(err.Error(), "Invalid rename mapping: bad") {
		t.Errorf("bad renames: %v", err)
	}
	tr := configured(t, transforms.NewReplaceField(transforms.Value), "renames", "abc:etc")
	if _, _, err := tr.Apply(connect.Record{ValueSchema: replaceSchema, Value: connect.NewStruct(replaceSchema)}); !errors.Is(err, connect.ErrInvalidData) {
		t.Errorf("rename onto an existing field: %v", err)
	}
	if _, _, err := tr.Apply(connect.Record{Value: []any{}}); !errors.Is(err, connect.ErrInvalidData) {
		t.Errorf("a list: %v", err)
	}
}
