package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/console"
	"github.com/fjordhq/fjord/internal/metrics"
)

// HTTP listener limits: probes and scrapes are small requests, and a slow
// client must not hold a connection (or a shutdown) for long.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 2 * time.Minute
	httpShutdownTimeout   = 5 * time.Second
	// httpScrapeTimeout bounds one gathering of the metrics.
	httpScrapeTimeout = 10 * time.Second
	// httpMaxScrapesInFlight bounds concurrent /metrics requests: each
	// gathers every metric, so a burst of scrapers must not multiply that
	// work on a busy broker (promhttp answers 503 above it).
	httpMaxScrapesInFlight = 4
)

// listenHTTP binds http.listener, when configured, before the broker is
// built, so that the address DescribeConfigs reports for it (and `fjord
// group describe` reads to find the lag API) is the bound one even for
// port 0. It returns props with http.listener set to that address.
func listenHTTP(cfg *config.Broker, props map[string]string) (net.Listener, map[string]string, error) {
	if cfg.HTTPListener == "" {
		return nil, props, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTPListener)
	if err != nil {
		return nil, nil, fmt.Errorf("http.listener %s: %w", cfg.HTTPListener, err)
	}
	cfg.HTTPListener = ln.Addr().String()
	props = maps.Clone(props)
	props["http.listener"] = cfg.HTTPListener
	return ln, props, nil
}

// startHTTP serves httpMux on the HTTP listener (when there is one) until
// ctx ends; the goroutines are started through spawn, which the node's
// WaitGroup joins. It logs the address it serves (so port 0 can be used
// and found).
func (s *serving) startHTTP(ctx context.Context, reg *prometheus.Registry, spawn func(func())) error {
	ln := s.httpLn
	if ln == nil {
		return nil
	}
	c := s.newConsole()
	if c != nil {
		spawn(func() {
			defer c.Close()
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("web console stopped sampling", "err", err)
			}
		})
	}
	srv := &http.Server{Handler: s.httpMux(reg, c), ReadHeaderTimeout: httpReadHeaderTimeout, IdleTimeout: httpIdleTimeout,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	s.opts.Logger.Info("http listener started", "addr", ln.Addr().String())
	spawn(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Warn("http listener stopped", "err", err)
		}
	})
	spawn(func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
		}
	})
	return nil
}

// httpMux is every HTTP endpoint of the node: metrics and probes, the lag
// API under /api/v1/ and, when c is not nil, the web console at /.
func (s *serving) httpMux(reg *prometheus.Registry, c *console.Console) *http.ServeMux {
	mux := http.NewServeMux()
	if s.lag != nil {
		lagAPI := s.lag.Handler()
		mux.Handle("GET /api/v1/groups/lag", lagAPI)
		mux.Handle("GET /api/v1/groups/{group}/lag", lagAPI)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slogPrinter{s},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: httpMaxScrapesInFlight,
		Timeout:             httpScrapeTimeout,
		// gzip took a quarter of a scrape's CPU on a node of 1,000
		// partitions (docs/performance.md); the exposition is a few
		// hundred kB a scrape, nothing for the network between a
		// Prometheus and its targets.
		DisableCompression: true,
	}))
	if c != nil {
		mux.Handle("/", c.Handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		// The process answers: that is all liveness means. Restarting a
		// node that recovers its logs or waits for its quorum would not help.
		writeProbe(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if reason := s.notReady(); reason != "" {
			writeProbe(w, http.StatusServiceUnavailable, reason)
			return
		}
		writeProbe(w, http.StatusOK, "ready")
	})
	return mux
}

// notReady says why this node should not get client traffic, or "" when
// it should: it is registered and unfenced in the metadata image and its
// log directory is online (its logs were loaded before the listener
// started).
func (s *serving) notReady() string {
	select {
	case <-s.broker.LogDirFailed():
		return "log directory failed"
	default:
	}
	br, ok := s.meta.Image().Broker(s.cfg.NodeID)
	switch {
	case !ok:
		return fmt.Sprintf("broker %d is not registered", s.cfg.NodeID)
	case br.Fenced:
		return fmt.Sprintf("broker %d is fenced", s.cfg.NodeID)
	}
	return ""
}

func writeProbe(w http.ResponseWriter, status int, line string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, line)
}

// slogPrinter sends promhttp's errors (a collector failing) to the node's
// log.
type slogPrinter struct{ s *serving }

func (p slogPrinter) Println(v ...any) {
	p.s.opts.Logger.Warn("metrics: " + fmt.Sprint(v...))
}

// newRegistry makes the node's own registry (never Prometheus' global
// one: in-process clusters run several nodes) with the Go runtime and
// process collectors and the node's traffic metrics.
func newRegistry() (*prometheus.Registry, *metrics.Metrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg, metrics.New(reg)
}
