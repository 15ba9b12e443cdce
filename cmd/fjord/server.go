package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/fjordhq/fjord/internal/broker"
	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/serverproc"
	"github.com/fjordhq/fjord/internal/vfs"
)

// readyPrefix starts the line printed once clients can connect; the
// harnesses and scripts wait for it (internal/serverproc).
const readyPrefix = serverproc.ReadyPrefix

// serverFlags are `fjord server`'s flags; each overrides the matching
// property of --config.
type serverFlags struct {
	listen, advertise, dataDir, configFile, logLevel string
	controllers, controllerListen, processRoles      string
	pprofAddr                                        string
	nodeID                                           int
}

func parseServerFlags(args []string, stderr io.Writer) (serverFlags, error) {
	var f serverFlags
	fs := flag.NewFlagSet("fjord server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "listen", "", "HOST:PORT to serve Kafka clients on (default 127.0.0.1:9092)")
	fs.StringVar(&f.advertise, "advertise", "", "HOST:PORT clients are told to connect to (default: the listen address)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory for logs and metadata (default ./fjord-data)")
	fs.IntVar(&f.nodeID, "node-id", -1, "this node's id (default 1)")
	fs.StringVar(&f.configFile, "config", "", "Kafka-style properties file with broker and topic-default settings")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.pprofAddr, "pprof", "", "HOST:PORT to serve Go profiling endpoints on (off by default)")
	fs.StringVar(&f.controllers, "controllers", "", "the metadata quorum's voters, ID@HOST:PORT,... (controller.quorum.voters); empty: a lone node")
	fs.StringVar(&f.controllerListen, "controller-listen", "", "HOST:PORT of this node's controller listener (default: its entry in --controllers)")
	fs.StringVar(&f.processRoles, "process-roles", "", "broker,controller (default) or broker: a broker-only node joins the quorum as an observer")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// brokerProps merges the properties file with the flags and fjord's
// defaults for the listener, data directory and node id.
func brokerProps(f serverFlags) (map[string]string, error) {
	props := map[string]string{}
	if f.configFile != "" {
		file, err := os.Open(f.configFile)
		if err != nil {
			return nil, fmt.Errorf("reading --config: %w", err)
		}
		defer file.Close()
		if props, err = config.LoadProperties(file); err != nil {
			return nil, fmt.Errorf("reading --config %s: %w", f.configFile, err)
		}
	}
	set := func(key, value, fallback string) {
		switch {
		case value != "":
			props[key] = value
		case props[key] == "" && fallback != "":
			props[key] = fallback
		}
	}
	listen := ""
	if f.listen != "" {
		listen = "PLAINTEXT://" + f.listen
	}
	advertise := ""
	if f.advertise != "" {
		advertise = "PLAINTEXT://" + f.advertise
	}
	set("listeners", listen, "PLAINTEXT://127.0.0.1:9092")
	set("advertised.listeners", advertise, "")
	set("log.dirs", f.dataDir, "fjord-data")
	nodeID := ""
	if f.nodeID >= 0 {
		nodeID = strconv.Itoa(f.nodeID)
	}
	set("node.id", nodeID, "1")
	set(propVoters, f.controllers, "")
	set(propControllerListen, f.controllerListen, "")
	set(propProcessRoles, f.processRoles, "")
	return props, nil
}

// serverSetup is what the command line and the config file decide before
// anything starts.
type serverSetup struct {
	flags  serverFlags
	logger *slog.Logger
	props  map[string]string
	cfg    config.Broker
	quorum quorumConfig
}

func loadServerSetup(args []string, stderr io.Writer) (serverSetup, error) {
	f, err := parseServerFlags(args, stderr)
	if err != nil {
		return serverSetup{}, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return serverSetup{}, fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	props, err := brokerProps(f)
	if err != nil {
		return serverSetup{}, err
	}
	cfg, err := config.ParseBroker(props)
	if err != nil {
		return serverSetup{}, err
	}
	for _, key := range cfg.Unknown {
		if !quorumProps[key] {
			logger.Warn("unknown config ignored", "name", key)
		}
	}
	quorum, err := parseQuorumConfig(props, cfg.NodeID)
	if err != nil {
		return serverSetup{}, err
	}
	return serverSetup{flags: f, logger: logger, props: props, cfg: cfg, quorum: quorum}, nil
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	setup, err := loadServerSetup(args, stderr)
	if err != nil {
		return err
	}
	f, logger, props, cfg, quorum := setup.flags, setup.logger, setup.props, setup.cfg, setup.quorum
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	advHost, advPort, err := advertisedAddr(cfg, ln.Addr())
	if err != nil {
		return err
	}

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
	if err := registerBroker(ctx, meta, cfg, advHost, advPort, len(quorum.voters) > 0); err != nil {
		return err
	}

	b := broker.New(broker.Options{
		NodeID: cfg.NodeID, AdvertiseHost: advHost, AdvertisePort: advPort, DataDir: cfg.DataDir,
		Config: cfg, StaticProps: props, FS: vfs.Default(), Meta: meta, Logger: logger,
	})
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
	if err := b.Start(runCtx); err != nil {
		return err
	}
	defer b.Close()
	srv := server.New(b.Routes(), serverLimits(cfg), logger.With("component", "server"))

	if f.pprofAddr != "" {
		stopPprof, err := servePprof(f.pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- srv.Serve(runCtx, ln) })
	wg.Go(func() { b.Run(runCtx) })

	addr := net.JoinHostPort(advHost, strconv.Itoa(int(advPort)))
	logger.Info("broker started", "node_id", cfg.NodeID, "listen", ln.Addr().String(), "advertise", addr,
		"data_dir", cfg.DataDir, "startup", time.Since(start).Round(time.Millisecond))
	fmt.Fprintln(stdout, readyPrefix+addr)

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-serveErr:
	}
	if len(quorum.voters) > 0 {
		stopHeartbeats()
		controlledShutdown(meta, cfg.NodeID, logger)
	}
	cancel()
	wg.Wait()
	return err
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

// advertisedAddr is the address clients are told to use: the configured
// advertised listener, else the bound address (so --listen HOST:0 works).
func advertisedAddr(cfg config.Broker, bound net.Addr) (string, int32, error) {
	adv := cfg.Advertise
	if adv == "" || adv == cfg.Listen {
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
		return "", 0, errors.New("listening on all interfaces needs --advertise with a host clients can reach")
	}
	return host, int32(port), nil
}

// registerBroker registers this broker and waits until the local image
// holds the registration, so the partitions it opens carry the leader
// epochs decided after it. A cluster node registers with a new incarnation
// at every start, which moves leadership away from its previous process
// (metadata.registerBrokerLocal); a lone node whose registration is
// unchanged writes nothing.
func registerBroker(ctx context.Context, meta *metadata.Node, cfg config.Broker, host string, port int32, clustered bool) error {
	rack := cfg.Props["broker.rack"]
	if br, ok := meta.Image().Broker(cfg.NodeID); ok && !clustered && br.Host == host && br.Port == port && br.Rack == rack && !br.Fenced {
		return nil
	}
	reg := metadata.BrokerRegistration{NodeID: cfg.NodeID, Host: host, Port: port, Rack: rack}
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
	return limits
}
