package runtime

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/clientconf"
)

// Mode is how a worker keeps its state: standalone (one process, offsets
// in a local file, connectors from the command line or REST) or
// distributed (a group of workers, configs, offsets and status in topics).
type Mode int8

// The modes.
const (
	ModeStandalone Mode = iota + 1
	ModeDistributed
)

// Worker configuration keys, with Kafka Connect's names.
const (
	keyBootstrapServers   = "bootstrap.servers"
	keyGroupID            = "group.id"
	keyListeners          = "listeners"
	keyAdvertisedHost     = "rest.advertised.host.name"
	keyAdvertisedPort     = "rest.advertised.port"
	keyAdvertisedListener = "rest.advertised.listener"
	keyKeyConverter       = "key.converter"
	keyValueConverter     = "value.converter"
	keyHeaderConverter    = "header.converter"
	keyOffsetFile         = "offset.storage.file.filename"
	keyOffsetTopic        = "offset.storage.topic"
	keyOffsetPartitions   = "offset.storage.partitions"
	keyOffsetRF           = "offset.storage.replication.factor"
	keyConfigTopic        = "config.storage.topic"
	keyConfigRF           = "config.storage.replication.factor"
	keyStatusTopic        = "status.storage.topic"
	keyStatusPartitions   = "status.storage.partitions"
	keyStatusRF           = "status.storage.replication.factor"
	keyFlushInterval      = "offset.flush.interval.ms"
	keyFlushTimeout       = "offset.flush.timeout.ms"
	keyRebalanceDelay     = "scheduled.rebalance.max.delay.ms"
	keySessionTimeout     = "session.timeout.ms"
	keyHeartbeatInterval  = "heartbeat.interval.ms"
	keyRebalanceTimeout   = "rebalance.timeout.ms"
	keyExactlyOnceSource  = "exactly.once.source.support"
	keyShutdownTimeout    = "task.shutdown.graceful.timeout.ms"
	keyOverridePolicy     = "connector.client.config.override.policy"
	keyClientID           = "client.id"
	keyConnectProtocol    = "connect.protocol"
)

// Exactly-once source support levels (KIP-618).
const (
	ExactlyOnceDisabled  = "disabled"
	ExactlyOncePreparing = "preparing"
	ExactlyOnceEnabled   = "enabled"
)

const jsonConverterClass = "org.apache.kafka.connect.json.JsonConverter"

// workerConfigDef is the definition of a worker's configuration, for both
// modes; keys of the other mode are accepted and ignored, as Kafka does
// with unknown keys.
func workerConfigDef() *connect.ConfigDef {
	d := connect.NewConfigDef()
	str := func(name string, def any, doc string) {
		d.Define(connect.ConfigKey{Name: name, Type: connect.ConfigString, Default: def, Importance: connect.High, Documentation: doc})
	}
	num := func(name string, t connect.ConfigType, def any, min float64, doc string) {
		d.Define(connect.ConfigKey{Name: name, Type: t, Default: def, Validator: connect.AtLeast(min), Importance: connect.Medium, Documentation: doc})
	}
	d.Define(connect.ConfigKey{Name: keyBootstrapServers, Type: connect.ConfigList, Default: "localhost:9092", Importance: connect.High,
		Documentation: "The Kafka brokers to connect to, host:port, comma-separated."})
	d.Define(connect.ConfigKey{Name: keyListeners, Type: connect.ConfigList, Default: "http://:8083", Importance: connect.Low,
		Documentation: "The REST API's listeners, http://host:port, comma-separated."})
	str(keyGroupID, nil, "The distributed workers' group.")
	str(keyAdvertisedHost, nil, "The host name other workers use to reach this one's REST API.")
	// No validator: Kafka runs validators on a missing value too.
	d.Define(connect.ConfigKey{Name: keyAdvertisedPort, Type: connect.ConfigInt, Importance: connect.Low,
		Documentation: "The port other workers use to reach this one's REST API."})
	str(keyAdvertisedListener, nil, "http or https: the scheme other workers use.")
	str(keyKeyConverter, jsonConverterClass, "The converter of record keys.")
	str(keyValueConverter, jsonConverterClass, "The converter of record values.")
	str(keyHeaderConverter, nil, "The converter of header values.")
	str(keyOffsetFile, nil, "Standalone: the file that keeps source offsets.")
	str(keyOffsetTopic, nil, "Distributed: the compacted topic of source offsets.")
	str(keyConfigTopic, nil, "Distributed: the compacted topic of connector configurations.")
	str(keyStatusTopic, nil, "Distributed: the compacted topic of connector and task status.")
	num(keyOffsetPartitions, connect.ConfigInt, 25, 1, "Partitions of the offsets topic when the worker creates it.")
	num(keyStatusPartitions, connect.ConfigInt, 5, 1, "Partitions of the status topic when the worker creates it.")
	for _, k := range []string{keyOffsetRF, keyConfigRF, keyStatusRF} {
		num(k, connect.ConfigShort, 3, -1, "Replication factor of the topic when the worker creates it (-1: the broker's default).")
	}
	num(keyFlushInterval, connect.ConfigLong, 60000, 0, "How often source offsets are committed, in milliseconds.")
	num(keyFlushTimeout, connect.ConfigLong, 5000, 0, "How long an offset commit may wait for records to be written.")
	num(keyRebalanceDelay, connect.ConfigInt, 300000, 0, "How long the work of a departed worker waits for it to come back.")
	num(keySessionTimeout, connect.ConfigInt, 10000, 1, "The worker group's session timeout.")
	num(keyHeartbeatInterval, connect.ConfigInt, 3000, 1, "The worker group's heartbeat interval.")
	num(keyRebalanceTimeout, connect.ConfigInt, 60000, 1, "How long a rebalance waits for workers to rejoin.")
	num(keyShutdownTimeout, connect.ConfigLong, 5000, 0, "How long a task may take to stop.")
	d.Define(connect.ConfigKey{Name: keyExactlyOnceSource, Type: connect.ConfigString, Default: ExactlyOnceDisabled,
		Validator: connect.OneOfIgnoreCase(ExactlyOnceDisabled, ExactlyOncePreparing, ExactlyOnceEnabled), Importance: connect.High,
		Documentation: "Exactly-once source support (KIP-618): disabled, preparing or enabled."})
	d.Define(connect.ConfigKey{Name: keyOverridePolicy, Type: connect.ConfigString, Default: "All",
		Validator: connect.OneOfIgnoreCase("All", "None", "Principal"), Importance: connect.Medium,
		Documentation: "Which client settings connectors may override with producer.override. and the like."})
	str(keyClientID, nil, "The client id of the worker's clients.")
	str(keyConfigProviders, nil, "Names of the config providers that resolve ${name:path:key} in connector configurations.")
	d.Define(connect.ConfigKey{Name: keyConnectProtocol, Type: connect.ConfigString, Default: "sessioned",
		Validator: connect.OneOfIgnoreCase("eager", "compatible", "sessioned"), Importance: connect.Low,
		Documentation: "Distributed: the newest worker group protocol to offer: eager, compatible or sessioned."})
	return d
}

// WorkerConfig is a parsed worker configuration.
type WorkerConfig struct {
	Mode             Mode
	BootstrapServers []string
	GroupID          string
	// Listeners are the REST API's addresses, host:port ("" host: all).
	Listeners []string
	// AdvertisedURL is how other workers reach this one's REST API.
	AdvertisedURL string

	KeyConverter, ValueConverter, HeaderConverter string

	OffsetFile                            string
	OffsetTopic, ConfigTopic, StatusTopic string
	OffsetPartitions, StatusPartitions    int32
	OffsetRF, ConfigRF, StatusRF          int16

	OffsetFlushInterval, OffsetFlushTimeout time.Duration
	ScheduledRebalanceMaxDelay              time.Duration
	SessionTimeout, HeartbeatInterval       time.Duration
	RebalanceTimeout, TaskShutdownTimeout   time.Duration
	ExactlyOnceSource                       string
	ClientOverridePolicy                    string
	ClientID                                string
	// ConnectProtocol is connect.protocol: eager, compatible or sessioned.
	ConnectProtocol string
	// ConfigProviders resolve ${provider:path:key} in connectors'
	// configurations (config.providers).
	ConfigProviders configProviders

	// Security is the clients' TLS and SASL (security.protocol, ssl.*,
	// sasl.*).
	Security *clientconf.Security
	// Props are all the properties as given, for the prefixed client
	// settings (producer., consumer., admin.) and the converters'.
	Props map[string]string
}

// ParseWorkerConfig checks a worker's properties for mode.
func ParseWorkerConfig(mode Mode, props map[string]string) (*WorkerConfig, error) {
	c, err := workerConfigDef().Parse(props)
	if err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}
	ms := func(k string) time.Duration {
		if v, ok := c.Get(k).(int32); ok {
			return time.Duration(v) * time.Millisecond
		}
		return time.Duration(c.GetLong(k)) * time.Millisecond
	}
	w := &WorkerConfig{
		Mode: mode, BootstrapServers: c.GetList(keyBootstrapServers), GroupID: c.GetString(keyGroupID),
		KeyConverter: c.GetString(keyKeyConverter), ValueConverter: c.GetString(keyValueConverter),
		HeaderConverter: c.GetString(keyHeaderConverter),
		OffsetFile:      c.GetString(keyOffsetFile), OffsetTopic: c.GetString(keyOffsetTopic),
		ConfigTopic: c.GetString(keyConfigTopic), StatusTopic: c.GetString(keyStatusTopic),
		OffsetPartitions: c.GetInt(keyOffsetPartitions), StatusPartitions: c.GetInt(keyStatusPartitions),
		OffsetRF: c.GetShort(keyOffsetRF), ConfigRF: c.GetShort(keyConfigRF), StatusRF: c.GetShort(keyStatusRF),
		OffsetFlushInterval: ms(keyFlushInterval), OffsetFlushTimeout: ms(keyFlushTimeout),
		ScheduledRebalanceMaxDelay: ms(keyRebalanceDelay), SessionTimeout: ms(keySessionTimeout),
		HeartbeatInterval: ms(keyHeartbeatInterval), RebalanceTimeout: ms(keyRebalanceTimeout),
		TaskShutdownTimeout: ms(keyShutdownTimeout), ExactlyOnceSource: strings.ToLower(c.GetString(keyExactlyOnceSource)),
		ClientOverridePolicy: c.GetString(keyOverridePolicy), ClientID: c.GetString(keyClientID),
		ConnectProtocol: strings.ToLower(c.GetString(keyConnectProtocol)), Props: c.Originals(),
	}
	if err := w.checkMode(); err != nil {
		return nil, err
	}
	if w.Listeners, err = parseListeners(c.GetList(keyListeners)); err != nil {
		return nil, err
	}
	w.AdvertisedURL = advertisedURL(w.Listeners[0], c)
	if w.Security, err = clientconf.NewSecurity(props, clientconf.Options{}); err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}
	if w.ConfigProviders, err = parseConfigProviders(props); err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}
	return w, nil
}

// checkMode requires the keys a mode cannot do without, as Kafka does.
func (w *WorkerConfig) checkMode() error {
	var missing []string
	if w.Mode == ModeStandalone && w.OffsetFile == "" {
		missing = append(missing, keyOffsetFile)
	}
	if w.Mode == ModeDistributed {
		for k, v := range map[string]string{keyGroupID: w.GroupID, keyOffsetTopic: w.OffsetTopic,
			keyConfigTopic: w.ConfigTopic, keyStatusTopic: w.StatusTopic} {
			if v == "" {
				missing = append(missing, k)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("worker configuration: %w: missing required configuration %s which has no default value",
			connect.ErrInvalidConfig, strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	return nil
}

// parseListeners turns http://host:port listeners into host:port
// addresses. https needs the listeners.https.* TLS keys, not read yet.
func parseListeners(listeners []string) ([]string, error) {
	if len(listeners) == 0 {
		return nil, fmt.Errorf("worker configuration: %w: %s is empty", connect.ErrInvalidConfig, keyListeners)
	}
	var out []string
	for _, l := range listeners {
		u, err := url.Parse(l)
		if err != nil || u.Scheme != "http" || u.Port() == "" {
			return nil, fmt.Errorf("worker configuration: %w: %s: %q is not http://host:port", connect.ErrInvalidConfig, keyListeners, l)
		}
		out = append(out, u.Host)
	}
	return out, nil
}

// advertisedURL is the URL other workers reach this one at: the
// rest.advertised.* keys, else the first listener's host (the machine's
// name when the listener has none) and port.
func advertisedURL(listener string, c connect.Config) string {
	host, port, _ := net.SplitHostPort(listener)
	if h := c.GetString(keyAdvertisedHost); h != "" {
		host = h
	}
	if host == "" {
		host = "localhost"
	}
	if p, ok := c.Get(keyAdvertisedPort).(int32); ok {
		port = strconv.Itoa(int(p))
	}
	scheme := "http"
	if s := c.GetString(keyAdvertisedListener); s != "" {
		scheme = strings.ToLower(s)
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
