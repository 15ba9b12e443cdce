// Command kfake runs franz-go's in-memory fake Kafka cluster (pkg/kfake) as
// a benchmark peer for docs/performance.md: `fjord bench produce --brokers
// ADDR` drives it exactly as it drives fjord, so the two are measured with
// the same client, workload and machine. It is a reference to measure
// against and never part of fjord; it lives in its own module so fjord's
// go.mod does not depend on it.
//
// Three modes are measured: in memory (no flags), with a data directory
// (--data-dir: kfake writes segments through the page cache and syncs only
// on roll and shutdown, as Kafka does by default), and with a data directory
// and --sync (kfake fsyncs every batch before answering).
//
// It prints "kfake: ready on ADDR" once clients can connect, the line the
// bench scripts wait for, and runs until SIGINT or SIGTERM.
//
// Concurrency: kfake owns its goroutines; main only waits for a signal and
// closes the cluster, which stops them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("kfake", flag.ContinueOnError)
	port := fs.Int("port", 9092, "TCP port on 127.0.0.1 to listen on")
	dataDir := fs.String("data-dir", "", "persist segments under this directory (empty: memory only)")
	sync := fs.Bool("sync", false, "fsync every produced batch before answering (needs --data-dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *port < 1 || *port > 65535 {
		return fmt.Errorf("--port must be between 1 and 65535, got %d", *port)
	}
	if *sync && *dataDir == "" {
		return errors.New("--sync needs --data-dir")
	}
	// One broker, as fjord is measured with one node; topics are created
	// by the bench through CreateTopics, so no auto-creation.
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(*port)}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	if *sync {
		opts = append(opts, kfake.SyncWrites())
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("starting cluster: %w", err)
	}
	defer cluster.Close()
	fmt.Printf("kfake: ready on %s\n", cluster.ListenAddrs()[0])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
