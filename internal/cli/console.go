package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/fjordhq/fjord/internal/console"
	"github.com/fjordhq/fjord/internal/controllerwire"
	"github.com/fjordhq/fjord/internal/lag"
)

// ConsoleAuthEnv names the environment variable that supplies
// --basic-auth, so that the password need not appear in ps output.
const ConsoleAuthEnv = "FJORD_CONSOLE_BASIC_AUTH"

// consoleShutdownTimeout bounds how long in-flight page requests may
// finish after SIGTERM.
const consoleShutdownTimeout = 5 * time.Second

// Console runs `fjord console`: the web console of internal/console
// against any Kafka cluster, on its own HTTP listener. The console acts
// with the identity of the client flags (--profile, TLS, SASL): whoever
// can reach --listen acts as that identity.
func Console(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord console", "fjord console [--brokers HOST:PORT,...] [--listen HOST:PORT] [--basic-auth USER:PASSWORD]", stderr)
	var conn connFlags
	conn.register(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "`host:port` the console serves HTTP on (port 0: any free port)")
	auth := fs.String("basic-auth", os.Getenv(ConsoleAuthEnv), "require HTTP basic `user:password` (env "+ConsoleAuthEnv+")")
	controllers := fs.String("bootstrap-controller", os.Getenv(ControllersEnv),
		"comma-separated `host:port` list of fjord controller listeners, to show the quorum (env "+ControllersEnv+")")
	sampleInterval := fs.Duration("sample-interval", console.DefaultSampleInterval, "how often to sample end offsets and log sizes for the throughput charts")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	if *sampleInterval < 100*time.Millisecond {
		return usagef(fs, "--sample-interval must be at least 100ms, got %v", *sampleInterval)
	}
	seeds, err := conn.validate()
	if err != nil {
		return usagef(fs, "%v", err)
	}
	var quorum console.QuorumSource
	if *controllers != "" {
		addrs, err := ParseBrokers(*controllers)
		if err != nil {
			return usagef(fs, "--bootstrap-controller: %v", err)
		}
		quorum = controllerQuorum(addrs)
	}
	security, err := conn.clientSecurity()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	lagClient, err := newClient(conn, seeds)
	if err != nil {
		return err
	}
	defer lagClient.Close()
	monitor := lag.NewMonitor(lag.KafkaSource(lagClient), lag.Options{Interval: *sampleInterval, Now: time.Now, Logger: logger})
	c, err := console.New(console.Options{
		Lag:            console.MonitorLag(monitor),
		Quorum:         quorum,
		Brokers:        seeds,
		ClientOpts:     security.Opts(min(conn.timeout, 10*time.Second)),
		Logger:         logger,
		Now:            time.Now,
		BasicAuth:      *auth,
		RequestTimeout: conn.timeout,
		SampleInterval: *sampleInterval,
	})
	if err != nil {
		return usagef(fs, "%v", err)
	}
	defer c.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("console: listening on %s: %w", *listen, err)
	}
	fmt.Fprintf(stdout, "fjord console listening on http://%s/ (brokers %v)\n", ln.Addr(), seeds)
	return serveConsole(ctx, c, monitor, ln)
}

// serveConsole serves until ctx ends, then shuts the server down and
// waits for the sampler and the lag monitor.
func serveConsole(ctx context.Context, c *console.Console, monitor *lag.Monitor, ln net.Listener) error {
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(runCtx) })
	wg.Go(func() { monitor.Run(runCtx) })
	served := make(chan error, 1)
	wg.Go(func() { served <- srv.Serve(ln) })
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), consoleShutdownTimeout)
		err = srv.Shutdown(shutdownCtx)
		cancel()
		<-served
	}
	stop()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// controllerQuorum describes the quorum through fjord's controller
// listeners (as `fjord cluster status`), which Kafka clients cannot ask:
// the first that answers.
func controllerQuorum(addrs []string) console.QuorumFunc {
	return func(ctx context.Context) (controllerwire.QuorumStatus, error) {
		var errs []error
		for _, addr := range addrs {
			s, err := controllerwire.DescribeQuorum(ctx, addr)
			if err == nil {
				return s, nil
			}
			errs = append(errs, err)
		}
		return controllerwire.QuorumStatus{}, errors.Join(errs...)
	}
}
