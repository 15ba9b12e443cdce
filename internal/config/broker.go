package config

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Broker is the typed view of a broker's configuration. Durations are
// time.Duration; the Kafka name of each field's config is in its comment.
type Broker struct {
	NodeID    int32  // node.id (broker.id when node.id is unset)
	Listen    string // host:port of the first entry of listeners
	Advertise string // host:port of the first entry of advertised.listeners, else Listen
	DataDir   string // log.dirs, else log.dir

	// Listeners are listeners with advertised.listeners and
	// listener.security.protocol.map applied, in the order given.
	Listeners []Listener
	// InterBrokerListener is inter.broker.listener.name, else the first
	// listener's name: the address other brokers reach this one at.
	InterBrokerListener string
	// HTTPListener is http.listener: HOST:PORT of the HTTP listener
	// (metrics, probes, console), empty for none.
	HTTPListener string
	// HTTPConsole is http.console.enable; HTTPConsoleBasicAuth is
	// http.console.basic.auth, USER:PASSWORD or empty.
	HTTPConsole          bool
	HTTPConsoleBasicAuth string

	AutoCreateTopics         bool  // auto.create.topics.enable
	DeleteTopicEnable        bool  // delete.topic.enable
	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int16 // default.replication.factor
	MinInsyncReplicas        int32 // min.insync.replicas

	MessageMaxBytes       int32         // message.max.bytes
	SocketRequestMaxBytes int32         // socket.request.max.bytes
	FetchMaxBytes         int32         // fetch.max.bytes
	MaxConnections        int32         // max.connections
	MaxConnectionsPerIP   int32         // max.connections.per.ip
	QueuedMaxRequests     int32         // queued.max.requests
	QueuedMaxRequestBytes int64         // queued.max.request.bytes (-1: none)
	ConnectionsMaxIdle    time.Duration // connections.max.idle.ms

	LogRetentionCheckInterval time.Duration // log.retention.check.interval.ms

	LogCleanerEnable            bool          // log.cleaner.enable
	LogCleanerBackoff           time.Duration // log.cleaner.backoff.ms
	LogCleanerDedupeBufferBytes int64         // log.cleaner.dedupe.buffer.size

	ProducerIDExpiration      time.Duration // producer.id.expiration.ms
	TransactionalIDExpiration time.Duration // transactional.id.expiration.ms
	TransactionMaxTimeout     time.Duration // transaction.max.timeout.ms

	TransactionStateLogNumPartitions     int32         // transaction.state.log.num.partitions
	TransactionStateLogReplicationFactor int16         // transaction.state.log.replication.factor
	TransactionStateLogMinISR            int32         // transaction.state.log.min.isr
	TransactionPartitionVerification     bool          // transaction.partition.verification.enable
	TransactionVersion                   int16         // transaction.version (the finalized feature level)
	OffsetsTopicNumPartitions            int32         // offsets.topic.num.partitions
	OffsetsTopicReplicationFactor        int16         // offsets.topic.replication.factor
	OffsetsRetention                     time.Duration // offsets.retention.minutes
	OffsetMetadataMaxBytes               int32         // offset.metadata.max.bytes
	GroupInitialRebalanceDelay           time.Duration // group.initial.rebalance.delay.ms
	GroupMinSessionTimeout               time.Duration // group.min.session.timeout.ms
	GroupMaxSessionTimeout               time.Duration // group.max.session.timeout.ms
	GroupMaxSize                         int32         // group.max.size

	ReplicaLagTimeMax            time.Duration // replica.lag.time.max.ms
	HighWatermarkCheckpointEvery time.Duration // replica.high.watermark.checkpoint.interval.ms
	ReplicaFetchMaxBytes         int32         // replica.fetch.max.bytes
	ReplicaFetchResponseMaxBytes int32         // replica.fetch.response.max.bytes
	ReplicaFetchWaitMax          time.Duration // replica.fetch.wait.max.ms
	ReplicaFetchBackoff          time.Duration // replica.fetch.backoff.ms
	ReplicaFetchMinBytes         int32         // replica.fetch.min.bytes
	NumReplicaFetchers           int32         // num.replica.fetchers

	// Props are all properties as given, for ResolveTopic and DescribeBroker.
	Props map[string]string
	// Unknown lists, sorted, the given keys fjord does not know; they are kept
	// in Props so a caller may warn about them.
	Unknown []string
}

// ParseBroker builds the typed broker view from properties. Unknown keys are
// kept and listed in Unknown; every bad value is reported in one error that
// names the key and the value and wraps ErrInvalidConfig.
func ParseBroker(props map[string]string) (Broker, error) {
	p := brokerParser{props: props, defs: index(BrokerDefs())}
	b := Broker{Props: props}
	b.NodeID = p.int32("node.id")
	if _, set := props["node.id"]; !set {
		if id := p.int32("broker.id"); id >= 0 {
			b.NodeID = id
		}
	}
	b.Listeners, b.InterBrokerListener = p.parseListeners()
	if len(b.Listeners) > 0 {
		b.Listen, b.Advertise = b.Listeners[0].Addr, b.Listeners[0].Advertise
	}
	b.HTTPListener = p.str("http.listener")
	b.HTTPConsole = p.bool("http.console.enable")
	b.HTTPConsoleBasicAuth = p.str("http.console.basic.auth")
	b.DataDir = p.str("log.dir")
	if dirs := splitList(p.str("log.dirs")); len(dirs) > 0 {
		b.DataDir = dirs[0]
	}
	b.AutoCreateTopics = p.bool("auto.create.topics.enable")
	b.DeleteTopicEnable = p.bool("delete.topic.enable")
	b.NumPartitions = p.int32("num.partitions")
	b.DefaultReplicationFactor = int16(p.int32("default.replication.factor"))
	b.MinInsyncReplicas = p.int32("min.insync.replicas")
	b.MessageMaxBytes = p.int32("message.max.bytes")
	b.SocketRequestMaxBytes = p.int32("socket.request.max.bytes")
	b.FetchMaxBytes = p.int32("fetch.max.bytes")
	b.MaxConnections = p.int32("max.connections")
	b.MaxConnectionsPerIP = p.int32("max.connections.per.ip")
	b.QueuedMaxRequests = p.int32("queued.max.requests")
	b.QueuedMaxRequestBytes = p.int64("queued.max.request.bytes")
	b.ConnectionsMaxIdle = p.ms("connections.max.idle.ms")
	b.LogRetentionCheckInterval = p.ms("log.retention.check.interval.ms")
	b.LogCleanerEnable = p.bool("log.cleaner.enable")
	b.LogCleanerBackoff = p.ms("log.cleaner.backoff.ms")
	b.LogCleanerDedupeBufferBytes = p.int64("log.cleaner.dedupe.buffer.size")
	b.ProducerIDExpiration = p.ms("producer.id.expiration.ms")
	b.TransactionalIDExpiration = p.ms("transactional.id.expiration.ms")
	b.TransactionMaxTimeout = p.ms("transaction.max.timeout.ms")
	b.TransactionStateLogNumPartitions = p.int32("transaction.state.log.num.partitions")
	b.TransactionStateLogReplicationFactor = int16(p.int32("transaction.state.log.replication.factor"))
	b.TransactionStateLogMinISR = p.int32("transaction.state.log.min.isr")
	b.TransactionPartitionVerification = p.bool("transaction.partition.verification.enable")
	b.TransactionVersion = int16(p.int32("transaction.version"))
	b.OffsetsTopicNumPartitions = p.int32("offsets.topic.num.partitions")
	b.OffsetsTopicReplicationFactor = int16(p.int32("offsets.topic.replication.factor"))
	b.OffsetsRetention = time.Duration(p.int64("offsets.retention.minutes")) * time.Minute
	b.OffsetMetadataMaxBytes = p.int32("offset.metadata.max.bytes")
	b.GroupInitialRebalanceDelay = p.ms("group.initial.rebalance.delay.ms")
	b.GroupMinSessionTimeout = p.ms("group.min.session.timeout.ms")
	b.GroupMaxSessionTimeout = p.ms("group.max.session.timeout.ms")
	b.GroupMaxSize = p.int32("group.max.size")
	b.ReplicaLagTimeMax = p.ms("replica.lag.time.max.ms")
	b.HighWatermarkCheckpointEvery = p.ms("replica.high.watermark.checkpoint.interval.ms")
	b.ReplicaFetchMaxBytes = p.int32("replica.fetch.max.bytes")
	b.ReplicaFetchResponseMaxBytes = p.int32("replica.fetch.response.max.bytes")
	b.ReplicaFetchWaitMax = p.ms("replica.fetch.wait.max.ms")
	b.ReplicaFetchBackoff = p.ms("replica.fetch.backoff.ms")
	b.ReplicaFetchMinBytes = p.int32("replica.fetch.min.bytes")
	b.NumReplicaFetchers = p.int32("num.replica.fetchers")
	p.checkRest()
	b.Unknown = p.unknown
	return b, errors.Join(p.errs...)
}

// brokerParser reads typed values, collecting every error instead of
// stopping at the first, so an operator sees all mistakes at once.
type brokerParser struct {
	props   map[string]string
	defs    map[string]Def
	errs    []error
	checked map[string]bool
	unknown []string
}

// raw returns the validated value of name, its default when unset.
func (p *brokerParser) raw(name string) string {
	d, ok := p.defs[name]
	if !ok {
		panic("config: parser asked for undefined broker config " + name) // programming error
	}
	if p.checked == nil {
		p.checked = make(map[string]bool)
	}
	p.checked[name] = true
	v, set := p.props[name]
	if !set {
		return d.Default
	}
	if err := d.Check(v); err != nil {
		p.errs = append(p.errs, err)
		return d.Default
	}
	return strings.TrimSpace(v)
}

// checkRest validates the known keys no typed field reads (the topic
// synonyms) and lists the unknown ones.
func (p *brokerParser) checkRest() {
	keys := make([]string, 0, len(p.props))
	for k := range p.props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d, ok := p.defs[k]
		if !ok {
			d, ok = p.listenerDef(k)
		}
		switch {
		case !ok:
			p.unknown = append(p.unknown, k)
		case !p.checked[k]:
			if err := d.Check(p.props[k]); err != nil {
				p.errs = append(p.errs, err)
			}
		}
	}
}

func (p *brokerParser) str(name string) string { return p.raw(name) }

func (p *brokerParser) bool(name string) bool {
	b, _ := parseBool(p.raw(name))
	return b
}

func (p *brokerParser) int64(name string) int64 {
	n, _ := strconv.ParseInt(p.raw(name), 10, 64)
	return n
}

func (p *brokerParser) int32(name string) int32 { return int32(p.int64(name)) }

func (p *brokerParser) ms(name string) time.Duration {
	return time.Duration(p.int64(name)) * time.Millisecond
}

// splitListener splits "NAME://host:port" into the listener name and host:port.
func splitListener(l string) (name, addr string, err error) {
	name, addr, ok := strings.Cut(l, "://")
	if !ok || name == "" {
		return "", "", fmt.Errorf("listener %q is not NAME://host:port", l)
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return "", "", fmt.Errorf("listener %q is not NAME://host:port", l)
	}
	return name, addr, nil
}
