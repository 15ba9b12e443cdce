// Package worker runs a Kafka Connect worker with the connectors of a
// connect.Registry: `fjord connect` is this package with fjord's built-in
// connectors, and a program that registers its own connectors is its own
// worker binary:
//
//	func main() {
//		reg := connect.NewRegistry()
//		if err := reg.Register(connect.Plugin{Class: "com.example.MySource", New: newMySource}); err != nil {
//			log.Fatal(err)
//		}
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//		defer stop()
//		os.Exit(worker.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, reg))
//	}
//
// The command line is connect-standalone.sh's: a worker properties file
// with Kafka Connect's names, then the properties (or JSON) files of the
// connectors to start. The REST API (Kafka Connect's paths and JSON)
// listens on `listeners`, http://:8083 by default.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/clientconf"
	"github.com/fjordhq/fjord/internal/connect/rest"
	"github.com/fjordhq/fjord/internal/connect/runtime"
)

// ErrUsage is wrapped by the errors of a bad command line.
var ErrUsage = errors.New("usage")

// Usage is the command line's usage text.
const Usage = `usage: connect standalone WORKER.properties [CONNECTOR.properties|CONNECTOR.json ...]
       connect distributed WORKER.properties

standalone runs every connector in this process, with source offsets in
offset.storage.file.filename; distributed joins the workers of group.id.`

// Main runs the worker of args until ctx ends and returns the exit code: 0,
// 1 for a failure, 2 for a bad command line.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, reg *connect.Registry) int {
	err := Run(ctx, args, stderr, reg)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(stderr, "%v\n%s\n", err, Usage)
		return 2
	default:
		fmt.Fprintf(stderr, "connect: %v\n", err)
		return 1
	}
}

// Run parses args, starts the worker and serves until ctx ends. Logs go
// to logOut.
func Run(ctx context.Context, args []string, logOut io.Writer, reg *connect.Registry) error {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	args = fs.Args()
	if len(args) < 2 {
		return fmt.Errorf("%w: a mode and a worker properties file are needed", ErrUsage)
	}
	mode := runtime.ModeStandalone
	switch args[0] {
	case "standalone":
	case "distributed":
		mode = runtime.ModeDistributed
		if len(args) > 2 {
			return fmt.Errorf("%w: distributed mode takes connectors through the REST API, not files", ErrUsage)
		}
	default:
		return fmt.Errorf("%w: unknown mode %q (standalone or distributed)", ErrUsage, args[0])
	}
	props, err := clientconf.LoadProperties(args[1])
	if err != nil {
		return fmt.Errorf("worker properties: %w", err)
	}
	var initial []map[string]string
	for _, path := range args[2:] {
		c, err := loadConnectorConfig(path)
		if err != nil {
			return err
		}
		initial = append(initial, c)
	}
	cfg, err := runtime.ParseWorkerConfig(mode, props)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(logOut, nil))
	if mode == runtime.ModeDistributed {
		herder, err := runtime.NewDistributed(cfg, reg, logger)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, herder, logger, "distributed", herder.Run)
	}
	herder, err := runtime.NewStandalone(cfg, reg, logger)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, herder, logger, "standalone", func(ctx context.Context) error { return herder.Run(ctx, initial) })
}

// serve serves the REST API and runs the herder until ctx ends.
func serve(ctx context.Context, cfg *runtime.WorkerConfig, herder rest.Herder, logger *slog.Logger, mode string,
	run func(context.Context) error) error {
	server, err := rest.New(herder, rest.ServerConfig{Version: "fjord", Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listeners[0])
	if err != nil {
		return fmt.Errorf("REST listener: %w", err)
	}
	logger.Info("worker started", "mode", mode, "rest", ln.Addr().String(), "brokers", strings.Join(cfg.BootstrapServers, ","))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, ln) }()
	runErr := run(ctx)
	cancel()
	if err := <-served; err != nil && runErr == nil && !errors.Is(err, context.Canceled) {
		runErr = err
	}
	return runErr
}

// loadConnectorConfig reads a connector's configuration: a properties
// file, or JSON as the REST API takes it ({"name":...,"config":{...}} or
// the bare config object).
func loadConnectorConfig(path string) (map[string]string, error) {
	if strings.HasSuffix(path, ".json") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("connector configuration: %w", err)
		}
		var req rest.CreateConnectorRequest
		if err := json.Unmarshal(b, &req); err != nil {
			return nil, fmt.Errorf("connector configuration %s: %w", path, err)
		}
		if req.Config == nil {
			// The bare configuration, as PUT /connectors/{name}/config takes it.
			if err := json.Unmarshal(b, &req.Config); err != nil {
				return nil, fmt.Errorf("connector configuration %s: %w", path, err)
			}
		}
		c := map[string]string(req.Config)
		if c["name"] == "" {
			c["name"] = req.Name
		}
		if c["name"] == "" {
			return nil, fmt.Errorf("connector configuration %s: no name", path)
		}
		return c, nil
	}
	c, err := clientconf.LoadProperties(path)
	if err != nil {
		return nil, fmt.Errorf("connector configuration: %w", err)
	}
	if c["name"] == "" {
		return nil, fmt.Errorf("connector configuration %s: no name", path)
	}
	return c, nil
}
