package node

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
)

// Cluster properties, read here because they configure the wiring rather
// than the broker: Kafka's names where Kafka has one.
const (
	PropVoters            = "controller.quorum.voters"
	PropControllerListen  = "controller.listener" // fjord's: HOST:PORT of the controller listener
	PropProcessRoles      = "process.roles"
	propHeartbeatInterval = "broker.heartbeat.interval.ms"
	propSessionTimeout    = "broker.session.timeout.ms"
	propClusterID         = "cluster.id"
)

// quorumProps are the properties quorumConfig consumes; they are not
// reported as unknown.
var quorumProps = map[string]bool{PropVoters: true, PropControllerListen: true, PropProcessRoles: true,
	propHeartbeatInterval: true, propSessionTimeout: true, propClusterID: true}

// quorumConfig is how this node takes part in the metadata quorum.
type quorumConfig struct {
	voters []metadata.Voter // empty: a lone node on the in-memory transport
	// controller: this node is a voter (process.roles contains controller).
	controller bool
	listen     string // controller listener bind address
	advertise  string // the address other nodes dial: this node's voter entry
	heartbeat  time.Duration
	session    time.Duration
	clusterID  string
}

func parseQuorumConfig(props map[string]string, nodeID int32) (quorumConfig, error) {
	var q quorumConfig
	var err error
	if q.voters, err = metadata.ParseVoters(props[PropVoters]); err != nil {
		return q, fmt.Errorf("%s: %w", PropVoters, err)
	}
	if q.heartbeat, err = propDuration(props, propHeartbeatInterval); err != nil {
		return q, err
	}
	if q.session, err = propDuration(props, propSessionTimeout); err != nil {
		return q, err
	}
	q.clusterID = props[propClusterID]
	roles := strings.TrimSpace(props[PropProcessRoles])
	switch roles {
	case "", "broker,controller", "controller,broker":
		q.controller = true
	case "broker":
	default:
		return q, fmt.Errorf("%s=%q: fjord runs broker,controller (combined) or broker", PropProcessRoles, roles)
	}
	if len(q.voters) == 0 {
		if !q.controller {
			return q, fmt.Errorf("%s=broker needs --controllers to find the quorum", PropProcessRoles)
		}
		return q, nil
	}
	own, listed := metadata.VoterAddr(q.voters, nodeID)
	switch {
	case q.controller && !listed:
		return q, fmt.Errorf("node %d is a controller but not in %s %s", nodeID, PropVoters, metadata.FormatVoters(q.voters))
	case !q.controller && listed:
		return q, fmt.Errorf("node %d is listed in %s but %s=broker", nodeID, PropVoters, PropProcessRoles)
	}
	q.listen, q.advertise = props[PropControllerListen], own
	if q.listen == "" {
		q.listen = own
	}
	if !q.controller && q.listen == "" {
		return q, fmt.Errorf("a broker-only node needs --controller-listen (%s) for the quorum to reach it", PropControllerListen)
	}
	if q.advertise == "" {
		q.advertise = q.listen
	}
	if host, _, err := net.SplitHostPort(q.advertise); err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return q, fmt.Errorf("controller address %q: need HOST:PORT with a host other nodes can reach", q.advertise)
	}
	return q, nil
}

func propDuration(props map[string]string, key string) (time.Duration, error) {
	v := props[key]
	if v == "" {
		return 0, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 || ms > int64(time.Hour/time.Millisecond) {
		return 0, fmt.Errorf("%s=%q: want milliseconds in 1..3600000", key, v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// metadataOptions opens the Raft transport for q: in memory for a lone node
// (instant start, as before clusters), else the controller listener. The
// returned close function releases it after the metadata node is closed.
func metadataOptions(q quorumConfig, cfg config.Broker, logger *slog.Logger) (metadata.Options, func(), error) {
	opts := metadata.Options{Dir: cfg.DataDir, NodeID: cfg.NodeID, Logger: logger, Broker: cfg,
		HeartbeatInterval: q.heartbeat, SessionTimeout: q.session, ClusterID: q.clusterID}
	if len(q.voters) == 0 {
		addr, transport := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("node-%d", cfg.NodeID)))
		opts.Transport, opts.LocalAddr = transport, addr
		return opts, func() { transport.Close() }, nil
	}
	sec, err := controllerTLS(cfg, logger)
	if err != nil {
		return opts, nil, err
	}
	nw, err := metadata.Listen(q.listen, q.advertise, logger, sec)
	if err != nil {
		return opts, nil, err
	}
	opts.Network, opts.Voters = nw, q.voters
	return opts, func() { nw.Close() }, nil
}
