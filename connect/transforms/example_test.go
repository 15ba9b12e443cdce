package transforms_test

import (
	"fmt"
	"log"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/transforms"
)

// A worker registers Kafka's transforms and builds a connector's chain
// from its configuration; here the chain runs on records by hand.
func Example() {
	plugins := connect.NewRegistry()
	if err := transforms.Register(plugins); err != nil {
		log.Fatal(err)
	}
	chain, err := plugins.NewChain(map[string]string{
		"transforms":                    "route,insert,cast,drop",
		"transforms.route.type":         "RegexRouter",
		"transforms.route.regex":        "(.*)-raw",
		"transforms.route.replacement":  "$1",
		"transforms.insert.type":        "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.insert.topic.field": "topic",
		"transforms.cast.type":          "org.apache.kafka.connect.transforms.Cast$Value",
		"transforms.cast.spec":          "age:int64",
		"transforms.drop.type":          "Filter",
		"transforms.drop.predicate":     "tombstone",
		"predicates":                    "tombstone",
		"predicates.tombstone.type":     "RecordIsTombstone",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer chain.Close()

	user := map[any]any{"name": "Ada", "age": "36"} // schemaless, as from JSON without schemas
	out, keep, err := chain.ApplySource(connect.SourceRecord{Topic: "users-raw", Value: user})
	fmt.Println(out.Topic, out.Value, keep, err)
	_, keep, err = chain.ApplySource(connect.SourceRecord{Topic: "users-raw", Key: "ada"})
	fmt.Println("tombstone kept:", keep, err)
	// Output:
	// users map[age:36 name:Ada topic:users] true <nil>
	// tombstone kept: false <nil>
}

// TimestampConverter turns a Unix time in a struct into Kafka's Timestamp
// type, and TimestampRouter names topics by day with Java's date patterns.
func ExampleTimestampConverter() {
	schema := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("id", connect.Int32Schema).
		Field("created", connect.Int64Schema).
		MustBuild()
	value := connect.NewStruct(schema)
	_ = value.Put("id", int32(1))
	_ = value.Put("created", int64(1483425001864))

	convert := transforms.NewTimestampConverter(transforms.Value)
	if err := convert.Configure(map[string]string{"field": "created", "target.type": "Timestamp"}); err != nil {
		log.Fatal(err)
	}
	out, _, err := convert.Apply(connect.Record{Topic: "events", ValueSchema: schema, Value: value})
	if err != nil {
		log.Fatal(err)
	}
	created := out.Value.(*connect.Struct).Get("created").(time.Time)
	fmt.Println(created.Format(time.RFC3339Nano))

	route := transforms.NewTimestampRouter()
	if err := route.Configure(map[string]string{"timestamp.format": "yyyy-MM-dd"}); err != nil {
		log.Fatal(err)
	}
	out.Timestamp = created
	routed, _, _ := route.Apply(out)
	fmt.Println(routed.Topic)
	// Output:
	// 2017-01-03T06:30:01.864Z
	// events-2017-01-03
}
