package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/node"
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
	pprofAddr, httpAddr                              string
	nodeID                                           int
	addScram                                         []node.ScramBootstrap
}

func parseServerFlags(args []string, stderr io.Writer) (serverFlags, error) {
	var f serverFlags
	fs := flag.NewFlagSet("fjord server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "listen", "",
		"HOST:PORT of the first listener in listeners, keeping its name and protocol; without listeners, PLAINTEXT://HOST:PORT (default 127.0.0.1:9092)")
	fs.StringVar(&f.advertise, "advertise", "",
		"HOST:PORT clients of the first listener are told to connect to, in advertised.listeners (default: its listen address)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory for logs and metadata (default ./fjord-data)")
	fs.IntVar(&f.nodeID, "node-id", -1, "this node's id (default 1)")
	fs.StringVar(&f.configFile, "config", "", "Kafka-style properties file with broker and topic-default settings")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.httpAddr, "http", "",
		"HOST:PORT of the HTTP listener for /metrics, /healthz, /readyz and the web console (http.listener; off by default)")
	fs.StringVar(&f.pprofAddr, "pprof", "", "HOST:PORT to serve Go profiling endpoints on (off by default)")
	fs.StringVar(&f.controllers, "controllers", "", "the metadata quorum's voters, ID@HOST:PORT,... (controller.quorum.voters); empty: a lone node")
	fs.StringVar(&f.controllerListen, "controller-listen", "", "HOST:PORT of this node's controller listener (default: its entry in --controllers)")
	fs.StringVar(&f.processRoles, "process-roles", "", "broker,controller (default) or broker: a broker-only node joins the quorum as an observer")
	fs.Func("add-scram", "SCRAM credential to create if missing, as kafka-storage format: SCRAM-SHA-512=[name=NAME,password=PASSWORD] (repeatable)",
		func(v string) error {
			u, err := node.ParseAddScram(v)
			if err == nil {
				f.addScram = append(f.addScram, u)
			}
			return err
		})
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
	if len(listenerEntries(props["listeners"])) == 0 {
		props["listeners"] = "PLAINTEXT://127.0.0.1:9092"
	}
	if f.listen != "" {
		props["listeners"] = withListenerAddr(props["listeners"], "", f.listen)
	}
	if f.advertise != "" {
		first, _, _ := strings.Cut(listenerEntries(props["listeners"])[0], "://")
		props["advertised.listeners"] = withListenerAddr(props["advertised.listeners"], first, f.advertise)
	}
	set("log.dirs", f.dataDir, "fjord-data")
	nodeID := ""
	if f.nodeID >= 0 {
		nodeID = strconv.Itoa(f.nodeID)
	}
	set("node.id", nodeID, "1")
	set("http.listener", f.httpAddr, "")
	set(node.PropVoters, f.controllers, "")
	set(node.PropControllerListen, f.controllerListen, "")
	set(node.PropProcessRoles, f.processRoles, "")
	return props, nil
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseServerFlags(args, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	props, err := brokerProps(f)
	if err != nil {
		return err
	}
	if f.pprofAddr != "" {
		stopPprof, err := servePprof(f.pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	return node.Run(ctx, node.Options{Props: props, FS: vfs.Default(), Logger: logger, AddScram: f.addScram,
		Ready: func(addr string) { fmt.Fprintln(stdout, readyPrefix+addr) }})
}

// listenerEntries splits a listeners or advertised.listeners value into
// its NAME://HOST:PORT entries.
func listenerEntries(list string) []string {
	var out []string
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// withListenerAddr returns list with the address of its entry called name
// (case-insensitive, as Kafka's listener names) set to addr, the others
// kept: --listen and --advertise are shorthands for one listener of a file
// that may name several. An empty name means the first entry; an entry
// missing is added in front, PLAINTEXT when list is empty. An entry that is
// not NAME://HOST:PORT is left for the config parser to report.
func withListenerAddr(list, name, addr string) string {
	entries := listenerEntries(list)
	for i, e := range entries {
		n, _, ok := strings.Cut(e, "://")
		if ok && (name == "" || strings.EqualFold(n, name)) {
			entries[i] = n + "://" + addr
			return strings.Join(entries, ",")
		}
	}
	if name == "" {
		name = "PLAINTEXT"
	}
	return strings.Join(append([]string{name + "://" + addr}, entries...), ",")
}
