package transforms_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/transforms"
)

// The record of Kafka's InsertFieldTest: topic "test", partition 0,
// timestamp 1483425001864.
var insertTimestamp = time.UnixMilli(1483425001864).UTC()

func insertConfig() []string {
	return []string{"topic.field", "topic_field!", "partition.field", "partition_field",
		"timestamp.field", "timestamp_field?", "static.field", "instance_id", "static.value", "my-instance-id"}
}

func TestInsertFieldWithSchema(t *testing.T) {
	tr := configured(t, transforms.NewInsertField(transforms.Value), insertConfig()...)
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Name("name").Version(1).Doc("doc").
		Field("magic", connect.OptionalInt64Schema).MustBuild()
	value := structOf(t, schema, "magic", int64(42))
	out := apply(t, tr, connect.Record{Topic: "test", Partition: ptr(int32(0)), ValueSchema: schema, Value: value,
		Timestamp: insertTimestamp})

	s := out.ValueSchema
	if v, _ := s.Version(); s.Name() != "name" || v != 1 || s.Doc() != "doc" {
		t.Errorf("schema basics not copied: %s %d %q", s.Name(), v, s.Doc())
	}
	for name, want := range map[string]*connect.Schema{
		"magic":           connect.OptionalInt64Schema,
		"topic_field":     connect.StringSchema,
		"partition_field": connect.OptionalInt32Schema,
		"timestamp_field": connect.TimestampBuilder().Optional().MustBuild(),
		"instance_id":     connect.OptionalStringSchema,
	} {
		if f, ok := s.Field(name); !ok || !f.Schema.Equal(want) {
			t.Errorf("field %s: %v, want %v", name, f.Schema, want)
		}
	}
	got := out.Value.(*connect.Struct)
	for name, want := range map[string]any{"magic": int64(42), "topic_field": "test", "partition_field": int32(0),
		"timestamp_field": insertTimestamp, "instance_id": "my-instance-id"} {
		if !same(got.Get(name), want) {
			t.Errorf("%s = %v, want %v", name, got.Get(name), want)
		}
	}
	// The schema is cached: the next record gets the same one.
	again := apply(t, tr, connect.Record{Topic: "t2", ValueSchema: schema, Value: value})
	if again.ValueSchema != out.ValueSchema {
		t.Error("updated schema not reused")
	}
	if again.Value.(*connect.Struct).Get("partition_field") != nil {
		t.Error("a record without partition got one")
	}
}

func TestInsertFieldSchemaless(t *testing.T) {
	tr := configured(t, transforms.NewInsertField(transforms.Value), insertConfig()...)
	out := apply(t, tr, connect.Record{Topic: "test", Partition: ptr(int32(0)), Value: object("magic", int64(42)),
		Timestamp: insertTimestamp})
	want := object("magic", int64(42), "topic_field", "test", "partition_field", int32(0),
		"timestamp_field", int64(1483425001864), "instance_id", "my-instance-id")
	if !same(out.Value, want) || out.ValueSchema != nil {
		t.Errorf("got %v, want %v", out.Value, want)
	}
}

func TestInsertFieldKeyAndTombstones(t *testing.T) {
	key := configured(t, transforms.NewInsertField(transforms.Key), "topic.field", "topic_field")
	out := apply(t, key, connect.Record{Topic: "test", Key: object("magic", int64(42)), Value: "v"})
	if !same(out.Key, object("magic", int64(42), "topic_field", "test")) || out.Value != "v" {
		t.Errorf("key variant: %v %v", out.Key, out.Value)
	}
	value := configured(t, transforms.NewInsertField(transforms.Value), insertConfig()...)
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Optional().Field("a", connect.StringSchema).MustBuild()
	for _, r := range []connect.Record{{Topic: "test"}, {Topic: "test", ValueSchema: schema}} {
		if got := apply(t, value, r); got.Value != nil || got.ValueSchema != r.ValueSchema {
			t.Errorf("tombstone changed: %+v", got)
		}
	}
}

func TestInsertFieldOffset(t *testing.T) {
	tr := configured(t, transforms.NewInsertField(transforms.Value), "offset.field", "offset")
	sink := connect.SinkRecord{Topic: "t", Offset: 77, Value: object()}
	out := apply(t, tr, sink.Record())
	if !same(out.Value, object("offset", int64(77))) {
		t.Errorf("sink: %v", out.Value)
	}
	_, _, err := tr.Apply(connect.SourceRecord{Topic: "t", Value: object()}.Record())
	if !errors.Is(err, connect.ErrInvalidData) || !strings.Contains(err.Error(),
		"Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord") {
		t.Errorf("source record: %v", err)
	}
}

func TestInsertFieldErrors(t *testing.T) {
	tr := configured(t, transforms.NewInsertField(transforms.Value), "topic.field", "topic_field")
	for name, r := range map[string]connect.Record{
		"schema not struct":    {ValueSchema: connect.Int32Schema, Value: int32(42)},
		"schemaless not map":   {Value: "x"},
		"duplicate field name": {ValueSchema: topicFieldSchema, Value: connect.NewStruct(topicFieldSchema)},
	} {
		if _, _, err := tr.Apply(r); !errors.Is(err, connect.ErrInvalidData) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, config := range []map[string]string{
		{},
		{"static.field": "instance_id"},
		{"topic.field": "x", "replace.null.with.default": "maybe"},
	} {
		if err := transforms.NewInsertField(transforms.Value).Configure(config); !errors.Is(err, connect.ErrInvalidConfig) {
			t.Errorf("Configure(%v): %v", config, err)
		}
	}
}

var topicFieldSchema = connect.NewSchemaBuilder(connect.TypeStruct).Field("topic_field", connect.OptionalStringSchema).MustBuild()

// replace.null.with.default (KIP-1040): a null field with a default is
// copied as its default, or as null.
func TestInsertFieldReplaceNullWithDefault(t *testing.T) {
	schema := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("magic", connect.NewSchemaBuilder(connect.TypeInt64).Optional().Default(int64(42)).MustBuild()).MustBuild()
	value := connect.NewStruct(schema)
	for setting, want := range map[string]any{"true": int64(42), "false": nil} {
		tr := configured(t, transforms.NewInsertField(transforms.Value), "topic.field", "topic", "replace.null.with.default", setting)
		out := apply(t, tr, connect.Record{Topic: "t", ValueSchema: schema, Value: value})
		if got := out.Value.(*connect.Struct).GetWithoutDefault("magic"); got != want {
			t.Errorf("replace.null.with.default=%s: %v, want %v", setting, got, want)
		}
	}
}
