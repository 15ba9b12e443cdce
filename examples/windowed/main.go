// Command windowed counts page views per user in one-minute windows and
// writes one final count per user and window once the window has closed
// (Suppress until the window closes): a record arriving up to ten seconds
// late still counts, one later than that is dropped.
//
//	fjord server --data-dir /tmp/fjord &
//	fjord topic create page-views --partitions 3
//	fjord topic create views-per-minute --partitions 3
//	go run ./examples/windowed --brokers localhost:9092 &
//	printf 'ada:/home\nada:/cart\nbob:/home\n' | fjord produce page-views --key-separator :
//	fjord consume views-per-minute --from beginning --format '%k %v\n'
//
// A window's count appears once stream time (the newest record's time)
// passes the window's end plus the grace period, so keep producing to see
// the earlier windows close.
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
	stateDir := flag.String("state-dir", "/tmp/fjord-streams", "state.dir: where the window counts are kept")
	flag.Parse()
	if err := run(*brokers, *stateDir); err != nil {
		fmt.Fprintln(os.Stderr, "windowed:", err)
		os.Exit(1)
	}
}

// Topology builds the windowed count; it is separate from main so that
// tests can run it in a streams.TestDriver.
func Topology() (*streams.Topology, error) {
	b := streams.NewBuilder()
	views := streams.StreamFrom(b, streams.String, streams.String, []string{"page-views"})
	perUser := streams.GroupByKey(views, streams.String, streams.String)
	windows := streams.TimeWindowsOf(time.Minute).WithGrace(10 * time.Second)
	counts := streams.WindowedBy(perUser, windows).Count(streams.As("views-per-minute"))
	final := streams.SuppressUntilWindowCloses(counts)
	// "ada@12:03:00 4": the user, the window's start, the final count.
	out := streams.Map(final.ToStream(), func(w streams.Windowed[string], n int64) (string, string) {
		return w.Key + "@" + w.Start.UTC().Format("15:04:05"), strconv.FormatInt(n, 10)
	})
	out.To("views-per-minute", streams.String, streams.String)
	return b.Build()
}

func run(brokers, stateDir string) error {
	topology, err := Topology()
	if err != nil {
		return err
	}
	cfg := streams.NewConfig("windowed", strings.Split(brokers, ",")...)
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
