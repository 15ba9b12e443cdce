// Command enrichment joins a stream with a table, the way an order stream
// picks up its customer's details: orders keyed by customer id are joined
// with the latest profile of that customer (a table read from a compacted
// topic), and each order leaves enriched, exactly once.
//
//	fjord server --data-dir /tmp/fjord &
//	fjord topic create customers --partitions 3 --config cleanup.policy=compact
//	fjord topic create orders --partitions 3
//	fjord topic create enriched-orders --partitions 3
//	go run ./examples/enrichment --brokers localhost:9092 &
//	echo 'c1:{"name":"Ada","tier":"gold"}' | fjord produce customers --key-separator :
//	echo 'c1:{"item":"book","cents":1250}' | fjord produce orders --key-separator :
//	fjord consume enriched-orders --from beginning --format '%k %v\n'
//
// An order whose customer is not known yet is passed on with an empty
// profile (a left join); with JoinStreamTable it would be dropped.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// Customer is a customer's profile, the value of the customers topic.
type Customer struct {
	Name string `json:"name"`
	Tier string `json:"tier"`
}

// Order is an order, the value of the orders topic, keyed by customer id.
type Order struct {
	Item  string `json:"item"`
	Cents int64  `json:"cents"`
}

// EnrichedOrder is an order with its customer's profile.
type EnrichedOrder struct {
	Order
	Customer *Customer `json:"customer,omitempty"`
}

func main() {
	brokers := flag.String("brokers", "localhost:9092", "bootstrap servers, comma-separated")
	stateDir := flag.String("state-dir", "/tmp/fjord-streams", "state.dir: where the customer table is kept")
	flag.Parse()
	if err := run(*brokers, *stateDir); err != nil {
		fmt.Fprintln(os.Stderr, "enrichment:", err)
		os.Exit(1)
	}
}

// Topology builds the enrichment; it is separate from main so that tests
// can run it in a streams.TestDriver.
func Topology() (*streams.Topology, error) {
	b := streams.NewBuilder()
	customers := streams.TableFrom(b, "customers", streams.String, streams.JSON[Customer](), streams.As("customers"))
	orders := streams.StreamFrom(b, streams.String, streams.JSON[Order](), []string{"orders"})
	enriched := streams.LeftJoinStreamTable(orders, customers, func(_ string, o Order, c *Customer) EnrichedOrder {
		return EnrichedOrder{Order: o, Customer: c}
	})
	enriched.To("enriched-orders", streams.String, streams.JSON[EnrichedOrder]())
	return b.Build()
}

func run(brokers, stateDir string) error {
	topology, err := Topology()
	if err != nil {
		return err
	}
	cfg := streams.NewConfig("enrichment", strings.Split(brokers, ",")...)
	cfg.ProcessingGuarantee = streams.ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.StateDir = stateDir
	app, err := streams.NewApp(topology, cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return app.Close(closeCtx)
}
