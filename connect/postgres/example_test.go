package postgres_test

import (
	"fmt"
	"log"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/postgres"
)

// A worker finds the connectors by class or alias once they are
// registered, and checks a configuration before it starts one: here an
// upserting sink that deletes rows on tombstones, then the same without a
// primary key, which upserts and deletes need.
func Example() {
	plugins := connect.NewRegistry()
	if err := postgres.Register(plugins); err != nil {
		log.Fatal(err)
	}
	fmt.Println(plugins.Plugins())

	sink, err := plugins.Lookup("PostgresSink")
	if err != nil {
		log.Fatal(err)
	}
	config := map[string]string{
		"connection.url":      "postgres://app@db.example.com:5432/shop?sslmode=require",
		"connection.password": "secret",
		"table.name.format":   "kafka_${topic}",
		"insert.mode":         "upsert",
		"pk.mode":             "record_key",
		"delete.enabled":      "true",
		"auto.create":         "true",
	}
	printProblems(sink.New().(connect.ConnectorValidator).Validate(config))
	config["pk.mode"] = "none"
	printProblems(sink.New().(connect.ConnectorValidator).Validate(config))
	// Output:
	// [{io.fjord.connect.postgres.PostgresCdcSourceConnector source 0.1.0} {io.fjord.connect.postgres.PostgresSinkConnector sink 0.1.0} {io.fjord.connect.postgres.PostgresSourceConnector source 0.1.0}]
	// no problems
	// insert.mode: insert.mode=upsert needs a primary key: set pk.mode to record_key or record_value
	// delete.enabled: delete.enabled=true needs pk.mode=record_key: a tombstone carries only its key
}

func printProblems(values []connect.ConfigValue) {
	problems := 0
	for _, v := range values {
		for _, e := range v.Errors {
			fmt.Printf("%s: %s\n", v.Name, e)
			problems++
		}
	}
	if problems == 0 {
		fmt.Println("no problems")
	}
}
