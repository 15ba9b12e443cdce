package connect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

// CounterConnector is a tiny source connector: its one task writes
// consecutive numbers to a topic, resuming after the last one committed.

// counterConfig defines the connector's configuration; the connector, its
// task and the worker's validation all use it.
func counterConfig() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "topic", Type: connect.ConfigString, Required: true,
			Validator: connect.NonEmptyString(), Importance: connect.High,
			Documentation: "The topic to write the numbers to."}).
		Define(connect.ConfigKey{Name: "batch.size", Type: connect.ConfigInt, Default: 3,
			Validator: connect.Between(1, 1000), Importance: connect.Low,
			Documentation: "How many numbers each poll returns."})
}

// countSchema is the schema of the records' values.
var countSchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("com.example.Count").
	Field("n", connect.Int64Schema).
	Field("note", connect.OptionalStringSchema).
	MustBuild()

// counterPartition names the one source partition: the task's offsets are
// stored under it.
var counterPartition = map[string]any{"counter": "main"}

type CounterConnector struct{ config map[string]string }

func (c *CounterConnector) Version() string { return "1.0.0" }

func (c *CounterConnector) Config() *connect.ConfigDef { return counterConfig() }

func (c *CounterConnector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if _, err := counterConfig().Parse(config); err != nil {
		return err
	}
	c.config = config
	return nil
}

// TaskConfigs returns one task: a single counter cannot be split.
func (c *CounterConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{c.config}, nil
}

func (c *CounterConnector) Stop() error { return nil }

func (c *CounterConnector) NewTask() connect.SourceTask { return &counterTask{} }

type counterTask struct {
	topic string
	batch int
	next  int64
}

func (t *counterTask) Start(ctx connect.SourceTaskContext, config map[string]string) error {
	cfg, err := counterConfig().Parse(config)
	if err != nil {
		return err
	}
	t.topic, t.batch = cfg.GetString("topic"), int(cfg.GetInt("batch.size"))
	offset, err := ctx.OffsetReader().Offset(context.Background(), counterPartition)
	if err != nil {
		return fmt.Errorf("counter: read offset: %w", err)
	}
	if next, ok := offset["next"].(int64); ok { // offsets come back as int64
		t.next = next
	}
	return nil
}

func (t *counterTask) Poll(context.Context) ([]connect.SourceRecord, error) {
	records := make([]connect.SourceRecord, 0, t.batch)
	for range t.batch {
		value := connect.NewStruct(countSchema)
		if err := value.Put("n", t.next); err != nil {
			return nil, err
		}
		t.next++
		records = append(records, connect.SourceRecord{
			SourcePartition: counterPartition,
			SourceOffset:    map[string]any{"next": t.next},
			Topic:           t.topic,
			ValueSchema:     countSchema,
			Value:           value,
		})
	}
	return records, nil
}

func (t *counterTask) Stop() error { return nil }

// fakeContext stands in for the worker in the example: offset 10 was
// committed before.
type fakeContext struct{}

func (fakeContext) Config() map[string]string                      { return nil }
func (fakeContext) OffsetReader() connect.OffsetReader             { return fakeContext{} }
func (fakeContext) TransactionContext() connect.TransactionContext { return nil }

func (fakeContext) Offset(context.Context, map[string]any) (map[string]any, error) {
	return map[string]any{"next": int64(10)}, nil
}

func (fakeContext) Offsets(_ context.Context, partitions []map[string]any) ([]map[string]any, error) {
	return make([]map[string]any, len(partitions)), nil
}

// A program registers the connectors it is compiled with in a Registry and
// hands it to the worker, which looks them up by the connector.class of
// each connector's configuration and runs their tasks. Here the task runs
// by hand, with a stand-in for the worker.
func Example() {
	plugins := connect.NewRegistry()
	err := plugins.Register(connect.Plugin{
		Class: "com.example.CounterConnector",
		New:   func() connect.Connector { return &CounterConnector{} },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(plugins.Plugins())

	plugin, err := plugins.Lookup("Counter") // Kafka's short alias of the class
	if err != nil {
		log.Fatal(err)
	}
	connector := plugin.New().(connect.SourceConnector)
	if err := connector.Start(nil, map[string]string{"topic": "numbers", "batch.size": "2"}); err != nil {
		log.Fatal(err)
	}
	configs, _ := connector.TaskConfigs(4)
	task := connector.NewTask()
	if err := task.Start(fakeContext{}, configs[0]); err != nil {
		log.Fatal(err)
	}
	records, _ := task.Poll(context.Background())
	for _, r := range records {
		fmt.Println(r.Topic, r.Value, r.SourceOffset)
	}
	// Output:
	// [{com.example.CounterConnector source 1.0.0}]
	// numbers Struct{n=10} map[next:11]
	// numbers Struct{n=11} map[next:12]
}

// Validate reports every problem of a configuration, key by key, and
// NewConfigInfos shapes the answer as Kafka Connect's
// PUT /connector-plugins/{type}/config/validate.
func ExampleConfigDef_Validate() {
	def := counterConfig()
	values := def.Validate(map[string]string{"batch.size": "0"})
	answer := connect.NewConfigInfos("com.example.CounterConnector", def, values)
	fmt.Println("errors:", answer.ErrorCount)
	for _, c := range answer.Configs {
		fmt.Println(c.Definition.Name, c.Value.Errors)
	}
	js, _ := json.Marshal(answer.Configs[1].Definition)
	fmt.Println(string(js))
	// Output:
	// errors: 2
	// topic [Missing required configuration "topic" which has no default value.]
	// batch.size [Invalid value 0 for configuration batch.size: Value must be at least 1]
	// {"name":"batch.size","type":"INT","required":false,"default_value":"3","importance":"LOW","documentation":"How many numbers each poll returns.","group":null,"width":"NONE","display_name":"batch.size","dependents":[],"order":-1}
}

// The JSON converter writes a record value as Kafka's JsonConverter does,
// schema and payload, and reads it back.
func Example_jsonConversion() {
	value := connect.NewStruct(countSchema)
	if err := value.Put("n", int64(42)); err != nil {
		log.Fatal(err)
	}
	var converter converters.JSONConverter // Kafka's defaults: schemas.enable=true
	data, err := converter.FromConnectData("numbers", &connect.RecordHeaders{}, countSchema, value)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data))

	back, err := converter.ToConnectData("numbers", nil, data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Schema, back.Value, back.Schema.Equal(countSchema))
	// Output:
	// {"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"n"},{"type":"string","optional":true,"field":"note"}],"optional":false,"name":"com.example.Count"},"payload":{"n":42,"note":null}}
	// Schema{com.example.Count:STRUCT} Struct{n=42} true
}
