// Command wordcount is Kafka Streams' word count on fjord: it reads lines
// from text-input, counts the words, and writes each word's running count
// to word-counts, exactly once.
//
//	fjord server --data-dir /tmp/fjord &
//	fjord topic create text-input --partitions 3
//	fjord topic create word-counts --partitions 3
//	go run ./examples/wordcount --brokers localhost:9092 &
//	echo "the quick brown fox jumps over the lazy dog" | fjord produce text-input
//	fjord consume word-counts --from beginning --format '%k %v\n'
//
// Start it more than once (with different --state-dir) to share the work;
// stop one and its tasks move to the others.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fjordhq/fjord/streams"
)

func main() {
	brokers := flag.String("brokers", "localhost:9092", "bootstrap servers, comma-separated")
	stateDir := flag.String("state-dir", "/tmp/fjord-streams", "state.dir: where the counts are kept")
	config := flag.String("config", "", "a Kafka Streams properties file; overrides the flags")
	flag.Parse()
	if err := run(*brokers, *stateDir, *config); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

func run(brokers, stateDir, configPath string) error {
	cfg := streams.NewConfig("wordcount", strings.Split(brokers, ",")...)
	cfg.ProcessingGuarantee = streams.ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.StateDir = stateDir
	if configPath != "" {
		var err error
		if cfg, err = streams.LoadConfig(configPath); err != nil {
			return err
		}
	}

	topology, err := Topology()
	if err != nil {
		return err
	}
	fmt.Print(topology.Describe())

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

// Topology builds the word count; it is separate from main so that tests
// can run it in a streams.TestDriver.
func Topology() (*streams.Topology, error) {
	b := streams.NewBuilder()
	lines := streams.StreamFrom(b, streams.String, streams.String, []string{"text-input"})
	words := streams.FlatMapValues(lines, func(_, line string) []string {
		return strings.Fields(strings.ToLower(line))
	})
	byWord := streams.GroupBy(words, func(_, word string) string { return word }, streams.String, streams.String)
	counts := streams.Count(byWord, streams.As("counts"))
	// Counts are written as decimal text so that any consumer can print them.
	asText := streams.TableMapValues(counts, func(_ string, n int64) string { return strconv.FormatInt(n, 10) })
	asText.ToStream().To("word-counts", streams.String, streams.String)
	return b.Build()
}
