// Package node runs one fjord node as `fjord server` does: its member of
// the metadata quorum, its broker and the Kafka listener, started in that
// order and stopped in reverse, with a cluster node's controlled shutdown.
// The binary and the in-process cluster tests (internal/clustertest) run
// this same wiring.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjordhq/fjord/internal/broker"
	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/interbroker"
	"github.com/fjordhq/fjord/internal/lag"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/metrics"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/vfs"
)

// Options configure one node.
type Options struct {
	// Props are the broker properties: a server.properties file with the
	// command line applied, the quorum's properties included.
	Props map[string]string
	// FS holds the partitions' files; nil means the operating system's.
	FS     vfs.FS
	Logger *slog.Logger
	// Ready, if set, is called once clients can connect, with the
	// advertised address.
	Ready func(addr string)
	// AddScram are SCRAM credentials to create if missing (--add-scram).
	AddScram []ScramBootstrap
}

// Run runs the node until ctx ends (then it shuts down in order) or the
// listener fails.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FS == nil {
		opts.FS = vfs.Default()
	}
	logger := opts.Logger
	cfg, err := config.ParseBroker(opts.Props)
	if err != nil {
		return err
	}
	for _, key := range cfg.Unknown {
		if !quorumProps[key] {
			logger.Warn("unknown config ignored", "name", key)
		}
	}
	quorum, err := parseQuorumConfig(opts.Props, cfg.NodeID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	listeners, err := listen(cfg)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range listeners {
			l.ln.Close()
		}
	}()
	httpLn, props, err := listenHTTP(&cfg, opts.Props)
	if err != nil {
		return err
	}
	if httpLn != nil {
		defer httpLn.Close()
	}
	inter := listeners[0]
	for _, l := range listeners {
		if l.cfg.Name == cfg.InterBrokerListener {
			inter = l
		}
	}
	advHost, advPort := inter.host, inter.port

	start := time.Now()
	metaOpts, closeTransport, err := metadataOptions(quorum, cfg, logger.With("component", "metadata"))
	if err != nil {
		return err
	}
	defer closeTransport()
	meta, err := metadata.Start(ctx, metaOpts)
	if err != nil {
		return err
	}
	defer meta.Close()
	if err := meta.WaitReady(ctx); err != nil {
		return fmt.Errorf("waiting for the metadata quorum: %w", err)
	}
	if err := registerBroker(ctx, meta, cfg, listeners, inter, len(quorum.voters) > 0); err != nil {
		return err
	}
	if err := bootstrapScram(ctx, meta, opts.AddScram); err != nil {
		return err
	}
	interSec, err := interBrokerSecurity(cfg, logger, len(quorum.voters) > 0)
	if err != nil {
		return err
	}
	registry, m := newRegistry()
	b := broker.New(broker.Options{
		NodeID: cfg.NodeID, AdvertiseHost: advHost, AdvertisePort: advPort, DataDir: cfg.DataDir,
		Config: cfg, StaticProps: props, FS: opts.FS, Meta: meta, Logger: logger, InterBroker: interSec, Metrics: m,
	})
	registry.MustRegister(b.StateCollector())
	first := listeners[0]
	s := &serving{opts: opts, cfg: cfg, clustered: len(quorum.voters) > 0, meta: meta, broker: b, listeners: listeners,
		addr: net.JoinHostPort(first.host, strconv.Itoa(int(first.port))), start: start, registry: registry, metrics: m,
		httpLn: httpLn, interSec: interSec}
	return s.run(ctx)
}

// serving is a node whose quorum member is up and whose broker registered.
type serving struct {
	opts      Options
	cfg       config.Broker
	clustered bool
	meta      *metadata.Node
	broker    *broker.Broker
	listeners []boundListener
	addr      string // the first listener's advertised address
	start     time.Time
	registry  *prometheus.Registry // what /metrics serves
	httpLn    net.Listener         // http.listener's, nil when off
	interSec  interbroker.Security // how this broker connects to the others
	lag       *lag.Monitor         // consumer lag of the groups this node coordinates
	metrics   *metrics.Metrics
}

func (s *serving) run(ctx context.Context) error {
	logger, cfg, meta := s.opts.Logger, s.cfg, s.meta
	// Serving outlives the signal: a cluster node keeps answering (with
	// NOT_LEADER_OR_FOLLOWER once fenced) through its controlled shutdown,
	// so clients learn where leadership went instead of meeting a closed
	// port while the rest of the cluster still names this node.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	// Heartbeats start before the logs are opened: recovering many logs,
	// or a slow disk, must not get the broker fenced (and its leaderships
	// moved) for failing to heartbeat while it starts.
	heartbeatCtx, stopHeartbeats := context.WithCancel(runCtx)
	defer stopHeartbeats()
	wg.Go(func() { meta.RunBrokerHeartbeats(heartbeatCtx, cfg.NodeID) })
	if err := s.broker.Start(runCtx); err != nil {
		return err
	}
	defer s.broker.Close()
	servers := make([]*server.Server, 0, len(s.listeners))
	routes := s.broker.Routes()
	conns, err := newConnectionQuotas(cfg, s.broker.QuotaStore())
	if err != nil {
		return err
	}
	wg.Go(func() { conns.run(runCtx) })
	for _, l := range s.listeners {
		lc, err := listenerSecurity(runCtx, cfg, l.cfg, meta, logger, func(f func()) { wg.Go(f) })
		if err != nil {
			return err
		}
		lc.Connections = conns
		lc.Metrics = s.metrics
		servers = append(servers, server.NewListener(lc, routes, serverLimits(cfg),
			logger.With("component", "server", "listener", l.cfg.Name)))
	}
	serveErr := make(chan error, len(s.listeners))
	for i, l := range s.listeners {
		wg.Go(func() { serveErr <- servers[i].Serve(runCtx, l.ln) })
	}
	wg.Go(func() { s.broker.Run(runCtx) })
	s.lag = s.broker.NewLagMonitor(lag.Options{Logger: logger.With("component", "lag")})
	wg.Go(func() { s.lag.Run(runCtx) })
	s.registry.MustRegister(s.lag.Collector())
	if s.clustered {
		wg.Go(func() { s.reportLogDirFailure(runCtx, stopHeartbeats) })
	}

	logger.Info("broker started", "node_id", cfg.NodeID, "listen", s.listeners[0].ln.Addr().String(), "advertise", s.addr,
		"data_dir", cfg.DataDir, "startup", time.Since(s.start).Round(time.Millisecond))
	if err := s.startHTTP(runCtx, s.registry, func(f func()) { wg.Go(f) }); err != nil {
		return err
	}
	if s.opts.Ready != nil {
		s.opts.Ready(s.addr)
	}

	err = nil
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-serveErr:
	}
	if s.clustered {
		stopHeartbeats()
		controlledShutdown(meta, cfg.NodeID, logger)
	}
	cancel()
	wg.Wait()
	return err
}

// reportLogDirFailure tells the controller when the log directory fails,
// by fencing this broker and stopping its heartbeats so that it stays
// fenced until it restarts: the controller removes it from every ISR and
// elects new leaders for what it led, as Kafka's controller does for the
// replicas of an offline directory. The broker goes on serving: its
// replicas answer KAFKA_STORAGE_ERROR, its metadata sends clients to the
// new leaders. (A lone node has no one to hand over to; its replicas
// answer KAFKA_STORAGE_ERROR until it restarts.)
func (s *serving) reportLogDirFailure(ctx context.Context, stopHeartbeats func()) {
	select {
	case <-ctx.Done():
		return
	case <-s.broker.LogDirFailed():
	}
	stopHeartbeats()
	backoff := 50 * time.Millisecond
	for {
		err := s.meta.FenceBroker(ctx, s.cfg.NodeID)
		if err == nil {
			s.opts.Logger.Warn("log directory failed: this broker is fenced until it restarts; leadership moved to the other replicas",
				"node_id", s.cfg.NodeID)
			return
		}
		s.opts.Logger.Warn("log directory failed: reporting it to the controller", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// controlledShutdownTimeout bounds the fencing at shutdown: a node whose
// quorum is gone must still exit.
const controlledShutdownTimeout = 5 * time.Second

// controlledShutdown fences this broker before it stops, so clients and the
// controller stop using it at once rather than after the session timeout.
// A lone node skips it: there is no one else to send clients to.
func controlledShutdown(meta *metadata.Node, nodeID int32, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
	defer cancel()
	if err := meta.FenceBroker(ctx, nodeID); err != nil {
		logger.Warn("controlled shutdown: fencing this broker failed", "err", err)
	}
}

// boundListener is one listener, bound, with the address it advertises.
type boundListener struct {
	cfg  config.Listener
	ln   net.Listener
	host string
	port int32
}

// listen binds every listener; on an error it closes those it bound.
func listen(cfg config.Broker) ([]boundListener, error) {
	if len(cfg.Listeners) == 0 {
		return nil, errors.New("no listeners configured")
	}
	var out []boundListener
	for _, l := range cfg.Listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err == nil {
			var host string
			var port int32
			host, port, err = advertisedAddr(l, ln.Addr())
			out = append(out, boundListener{cfg: l, ln: ln, host: host, port: port})
		}
		if err != nil {
			for _, b := range out {
				b.ln.Close()
			}
			return nil, fmt.Errorf("listener %s: %w", l.Name, err)
		}
	}
	return out, nil
}

// advertisedAddr is the address clients of a listener are told to use: its
// advertised address, else the bound one (so --listen HOST:0 works).
func advertisedAddr(l config.Listener, bound net.Addr) (string, int32, error) {
	adv := l.Advertise
	if adv == "" || adv == l.Addr {
		adv = bound.String()
	}
	host, portText, err := net.SplitHostPort(adv)
	if err != nil {
		return "", 0, fmt.Errorf("advertised address %q: %w", adv, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("advertised address %q: bad port", adv)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		return "", 0, errors.New("listening on all interfaces needs --advertise (advertised.listeners) with a host clients can reach")
	}
	return host, int32(port), nil
}

// registerBroker registers this broker and waits until the local image
// holds the registration, so the partitions it opens carry the leader
// epochs decided after it. A cluster node registers with a new incarnation
// at every start, which moves leadership away from its previous process
// (metadata.registerBrokerLocal); a lone node whose registration is
// unchanged writes nothing.
func registerBroker(ctx context.Context, meta *metadata.Node, cfg config.Broker, listeners []boundListener, inter boundListener, clustered bool) error {
	rack := cfg.Props["broker.rack"]
	var endpoints []metadata.BrokerEndpoint
	for _, l := range listeners {
		endpoints = append(endpoints, metadata.BrokerEndpoint{Name: l.cfg.Name, Host: l.host, Port: l.port,
			SecurityProtocol: l.cfg.Protocol.WireID()})
	}
	if br, ok := meta.Image().Broker(cfg.NodeID); ok && !clustered && br.Host == inter.host && br.Port == inter.port && br.Rack == rack && !br.Fenced &&
		slices.Equal(br.Endpoints, endpoints) {
		return nil
	}
	reg := metadata.BrokerRegistration{NodeID: cfg.NodeID, Host: inter.host, Port: inter.port, Rack: rack, Endpoints: endpoints}
	if _, err := rand.Read(reg.Incarnation[:]); err != nil {
		return fmt.Errorf("choosing an incarnation id: %w", err)
	}
	if err := meta.RegisterBroker(ctx, reg); err != nil {
		return fmt.Errorf("registering broker %d: %w", cfg.NodeID, err)
	}
	registered := func() bool {
		br, ok := meta.Image().Broker(cfg.NodeID)
		return ok && br.Incarnation == reg.Incarnation
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !registered() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for broker %d's registration: %w", cfg.NodeID, ctx.Err())
		}
	}
	return nil
}

func serverLimits(cfg config.Broker) server.Limits {
	limits := server.DefaultLimits()
	if cfg.SocketRequestMaxBytes > 0 {
		limits.MaxRequestBytes = cfg.SocketRequestMaxBytes
	}
	if cfg.ConnectionsMaxIdle > 0 {
		limits.IdleTimeout = cfg.ConnectionsMaxIdle
	}
	if cfg.MaxConnections > 0 {
		limits.MaxConnections = int(cfg.MaxConnections)
	}
	limits.QueuedMaxRequestBytes = cfg.QueuedMaxRequestBytes
	if cfg.QueuedMaxRequests > 0 {
		limits.QueuedMaxRequests = int(cfg.QueuedMaxRequests)
	}
	return limits
}
