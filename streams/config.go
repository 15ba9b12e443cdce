package streams

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fjordhq/fjord/internal/clientconf"
)

// ErrInvalidConfig marks a Config that cannot be used. The message names
// the Kafka property at fault and never contains a password, token or key.
var ErrInvalidConfig = errors.New("invalid streams configuration")

// Guarantee is processing.guarantee: what happens to records being
// processed when an instance fails.
type Guarantee string

const (
	// AtLeastOnce, Kafka's default, commits input offsets after the
	// results are written, so a failure can process some records again.
	AtLeastOnce Guarantee = "at_least_once"
	// ExactlyOnceV2 writes each task's results, state changes and input
	// offsets in one transaction, so that consumers reading committed
	// records see each input's effect once (KIP-447).
	ExactlyOnceV2 Guarantee = "exactly_once_v2"
)

// DSLStore is default.dsl.store: the kind of state store the DSL makes for
// an operator not given one (see InMemory).
type DSLStore string

const (
	// PersistentDSLStore keeps state on disk under StateDir. Its value is
	// Kafka's name for its persistent store; fjord's is not RocksDB but
	// plays its part.
	PersistentDSLStore DSLStore = "rocksDB"
	// InMemoryDSLStore keeps state in memory, rebuilt from the changelog
	// topic when a task starts.
	InMemoryDSLStore DSLStore = "in_memory"
)

// Config is a Streams application's configuration, with Kafka Streams'
// property names. Start from NewConfig, which sets Kafka's defaults, or
// from ConfigFromProperties or LoadConfig; in a Config literal a zero is
// taken as it is (no cache, commits as often as possible), and Validate
// refuses the zeros that are invalid.
type Config struct {
	// ApplicationID is application.id (required): the consumer group id,
	// and the prefix of internal topics and of the state directory. It
	// is made of ASCII letters, digits, '.', '_' and '-'.
	ApplicationID string
	// BootstrapServers is bootstrap.servers (required): host:port seeds.
	BootstrapServers []string
	// ProcessingGuarantee is processing.guarantee, AtLeastOnce by default
	// (and when empty). Kafka 4 removed exactly_once and exactly_once_beta;
	// use ExactlyOnceV2.
	ProcessingGuarantee Guarantee
	// NumStreamThreads is num.stream.threads, default 1: the goroutines
	// that process tasks, each with its own consumer.
	NumStreamThreads int
	// CommitInterval is commit.interval.ms: how often tasks commit.
	// Kafka's default is 30s, or 100ms under ExactlyOnceV2, where a commit
	// ends a transaction and so makes results visible. NewConfig sets 30s;
	// ConfigFromProperties picks by the guarantee when the property is
	// absent. Set it too when changing ProcessingGuarantee in code.
	CommitInterval time.Duration
	// StateDir is state.dir, default filepath.Join(os.TempDir(),
	// "fjord-streams"): the directory of the persistent stores.
	StateDir string
	// NumStandbyReplicas is num.standby.replicas, default 0: copies of
	// each task's stores kept warm on other instances.
	NumStandbyReplicas int
	// ReplicationFactor is replication.factor of the internal topics,
	// default -1: the broker's default.replication.factor.
	ReplicationFactor int
	// CacheMaxBytes is statestore.cache.max.bytes (or the deprecated
	// cache.max.bytes.buffering), default 10 MiB: the record cache shared
	// by the stores of an instance. 0 turns caching off, so that every
	// update is forwarded.
	CacheMaxBytes int64
	// ApplicationServer is application.server, host:port: where this
	// instance answers interactive queries, told to the others. Empty by
	// default.
	ApplicationServer string
	// AcceptableRecoveryLag is acceptable.recovery.lag, default 10000: the
	// records an instance may lag behind a task's changelog and still be
	// given the task as caught up.
	AcceptableRecoveryLag int64
	// MaxWarmupReplicas is max.warmup.replicas, default 2: the extra task
	// copies being caught up at once before a task moves.
	MaxWarmupReplicas int
	// ProbingRebalanceInterval is probing.rebalance.interval.ms, default
	// 10m (at least 1m): how often to check whether warm-ups caught up.
	ProbingRebalanceInterval time.Duration
	// WindowStoreChangeLogAdditionalRetention is
	// windowstore.changelog.additional.retention.ms, default 24h: kept in
	// window changelogs beyond the windows' retention, for clock drift.
	WindowStoreChangeLogAdditionalRetention time.Duration
	// MaxTaskIdle is max.task.idle.ms, default 0: how long a task with
	// several inputs waits for an empty one before processing the others
	// out of timestamp order. -1 ms (any negative) does not wait even
	// for data already on the broker.
	MaxTaskIdle time.Duration
	// DefaultDSLStore is default.dsl.store, PersistentDSLStore by default
	// (and when empty).
	DefaultDSLStore DSLStore
	// ClientID is client.id: the prefix of the client ids of the
	// application's clients. Empty by default: ApplicationID.
	ClientID string
	// Security holds the client security properties, by Kafka's names, for
	// every client of the application: security.protocol (PLAINTEXT by
	// default), sasl.mechanism, sasl.jaas.config (PlainLoginModule and
	// ScramLoginModule username and password; OAuthBearerLoginModule token),
	// ssl.truststore.*, ssl.keystore.* (PEM only), ssl.key.password,
	// ssl.endpoint.identification.algorithm, and librdkafka's
	// sasl.username, sasl.password, ssl.ca.location,
	// ssl.certificate.location and ssl.key.location.
	// ConfigFromProperties puts every security.protocol, sasl.* and ssl.*
	// property here.
	Security map[string]string
	// Properties holds every other property. Client properties that
	// franz-go has an equivalent for apply to all clients unprefixed, or
	// to one kind of client with Kafka Streams' prefixes consumer.,
	// main.consumer., restore.consumer., global.consumer., producer. and
	// admin. (the more specific wins):
	//
	//	every client:  metadata.max.age.ms, connections.max.idle.ms,
	//	               socket.connection.setup.timeout.ms (unprefixed only)
	//	consumers:     fetch.min.bytes, fetch.max.bytes, fetch.max.wait.ms,
	//	               max.partition.fetch.bytes, client.rack
	//	main consumer: session.timeout.ms, heartbeat.interval.ms,
	//	               max.poll.interval.ms (franz-go's rebalance timeout)
	//	producer:      linger.ms, compression.type, delivery.timeout.ms,
	//	               request.timeout.ms, transaction.timeout.ms,
	//	               max.request.size (franz-go bounds each batch)
	//
	// Anything else here has no effect: see UnknownProperties.
	Properties map[string]string
}

// Kafka Streams' property names.
const (
	propApplicationID           = "application.id"
	propBootstrapServers        = "bootstrap.servers"
	propProcessingGuarantee     = "processing.guarantee"
	propNumStreamThreads        = "num.stream.threads"
	propCommitInterval          = "commit.interval.ms"
	propStateDir                = "state.dir"
	propNumStandbyReplicas      = "num.standby.replicas"
	propReplicationFactor       = "replication.factor"
	propCacheMaxBytes           = "statestore.cache.max.bytes"
	propCacheMaxBytesDeprecated = "cache.max.bytes.buffering"
	propApplicationServer       = "application.server"
	propAcceptableRecoveryLag   = "acceptable.recovery.lag"
	propMaxWarmupReplicas       = "max.warmup.replicas"
	propProbingInterval         = "probing.rebalance.interval.ms"
	propWindowRetention         = "windowstore.changelog.additional.retention.ms"
	propMaxTaskIdle             = "max.task.idle.ms"
	propDefaultDSLStore         = "default.dsl.store"
	propClientID                = "client.id"
	propDialTimeout             = "socket.connection.setup.timeout.ms"
)

// Kafka's defaults, and the limits Validate applies.
const (
	defaultCommitInterval            = 30 * time.Second
	defaultExactlyOnceCommitInterval = 100 * time.Millisecond
	defaultCacheMaxBytes             = 10 << 20
	defaultAcceptableRecoveryLag     = 10000
	defaultMaxWarmupReplicas         = 2
	defaultProbingInterval           = 10 * time.Minute
	minProbingInterval               = time.Minute
	defaultWindowRetention           = 24 * time.Hour
	defaultDialTimeout               = 10 * time.Second // socket.connection.setup.timeout.ms
	// maxNumStreamThreads bounds num.stream.threads: each thread has its
	// own consumer and, under exactly-once, producer; more than this on one
	// instance is a typo, not a plan.
	maxNumStreamThreads = 1024
	// maxApplicationIDLength is Kafka's longest topic name: internal
	// topic names start with the application id.
	maxApplicationIDLength = 249
)

// NewConfig returns a Config with Kafka's defaults for everything but the
// two required properties.
func NewConfig(applicationID string, bootstrapServers ...string) Config {
	return Config{
		ApplicationID:                           applicationID,
		BootstrapServers:                        bootstrapServers,
		ProcessingGuarantee:                     AtLeastOnce,
		NumStreamThreads:                        1,
		CommitInterval:                          defaultCommitInterval,
		StateDir:                                filepath.Join(os.TempDir(), "fjord-streams"),
		ReplicationFactor:                       -1,
		CacheMaxBytes:                           defaultCacheMaxBytes,
		AcceptableRecoveryLag:                   defaultAcceptableRecoveryLag,
		MaxWarmupReplicas:                       defaultMaxWarmupReplicas,
		ProbingRebalanceInterval:                defaultProbingInterval,
		WindowStoreChangeLogAdditionalRetention: defaultWindowRetention,
		DefaultDSLStore:                         PersistentDSLStore,
		Security:                                map[string]string{},
		Properties:                              map[string]string{},
	}
}

// LoadConfig reads a Kafka Streams properties file (Java's .properties
// format) and returns ConfigFromProperties of it.
func LoadConfig(path string) (Config, error) {
	props, err := clientconf.LoadProperties(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return ConfigFromProperties(props)
}

// ConfigFromProperties reads Kafka Streams properties over NewConfig's
// defaults and validates the result. Security properties go to Security,
// others it does not know to Properties.
func ConfigFromProperties(props map[string]string) (Config, error) {
	c := NewConfig("")
	for _, name := range slices.Sorted(maps.Keys(props)) { // the first error in name order, every time
		value := props[name]
		parse, known := streamsProperties[name]
		switch {
		case known:
			if name == propCacheMaxBytesDeprecated && hasProperty(props, propCacheMaxBytes) {
				continue // the new name wins, as in Kafka
			}
			if err := parse(&c, strings.TrimSpace(value)); err != nil {
				return Config{}, fmt.Errorf("%w: %s: %w", ErrInvalidConfig, name, err)
			}
		case isSecurityName(name):
			c.Security[name] = value
		default:
			c.Properties[name] = value
		}
	}
	if c.ProcessingGuarantee == ExactlyOnceV2 && !hasProperty(props, propCommitInterval) {
		c.CommitInterval = defaultExactlyOnceCommitInterval
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func hasProperty(props map[string]string, name string) bool {
	_, ok := props[name]
	return ok
}

// isSecurityName reports whether a property belongs in Config.Security.
func isSecurityName(name string) bool {
	return name == clientconf.PropSecurityProtocol || strings.HasPrefix(name, "sasl.") || strings.HasPrefix(name, "ssl.")
}

// streamsProperties parse each property Config has a field for; values
// come trimmed.
var streamsProperties = map[string]func(c *Config, value string) error{
	propApplicationID:           func(c *Config, v string) error { c.ApplicationID = v; return nil },
	propBootstrapServers:        func(c *Config, v string) error { c.BootstrapServers = splitList(v); return nil },
	propProcessingGuarantee:     parseGuarantee,
	propNumStreamThreads:        intField(func(c *Config) *int { return &c.NumStreamThreads }),
	propCommitInterval:          msField(func(c *Config) *time.Duration { return &c.CommitInterval }),
	propStateDir:                func(c *Config, v string) error { c.StateDir = v; return nil },
	propNumStandbyReplicas:      intField(func(c *Config) *int { return &c.NumStandbyReplicas }),
	propReplicationFactor:       intField(func(c *Config) *int { return &c.ReplicationFactor }),
	propCacheMaxBytes:           longField(func(c *Config) *int64 { return &c.CacheMaxBytes }),
	propCacheMaxBytesDeprecated: longField(func(c *Config) *int64 { return &c.CacheMaxBytes }),
	propApplicationServer:       func(c *Config, v string) error { c.ApplicationServer = v; return nil },
	propAcceptableRecoveryLag:   longField(func(c *Config) *int64 { return &c.AcceptableRecoveryLag }),
	propMaxWarmupReplicas:       intField(func(c *Config) *int { return &c.MaxWarmupReplicas }),
	propProbingInterval:         msField(func(c *Config) *time.Duration { return &c.ProbingRebalanceInterval }),
	propWindowRetention:         msField(func(c *Config) *time.Duration { return &c.WindowStoreChangeLogAdditionalRetention }),
	propMaxTaskIdle:             msField(func(c *Config) *time.Duration { return &c.MaxTaskIdle }),
	propDefaultDSLStore:         parseDSLStore,
	propClientID:                func(c *Config, v string) error { c.ClientID = v; return nil },
}

func parseGuarantee(c *Config, v string) error {
	switch g := Guarantee(strings.ToLower(v)); g {
	case AtLeastOnce, ExactlyOnceV2:
		c.ProcessingGuarantee = g
		return nil
	case "exactly_once", "exactly_once_beta":
		return fmt.Errorf("%s was removed in Kafka 4.0; use %s", g, ExactlyOnceV2)
	}
	return fmt.Errorf("%q is not %s or %s", v, AtLeastOnce, ExactlyOnceV2)
}

func parseDSLStore(c *Config, v string) error {
	switch DSLStore(v) {
	case PersistentDSLStore, InMemoryDSLStore:
		c.DefaultDSLStore = DSLStore(v)
		return nil
	}
	return fmt.Errorf("%q is not %s or %s", v, PersistentDSLStore, InMemoryDSLStore)
}

// splitList splits a Kafka LIST value: comma separated, items trimmed,
// empty items dropped.
func splitList(v string) []string {
	var items []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func intField(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 32) // Kafka's INT
		*field(c) = int(n)
		return numberError(v, err)
	}
}

func longField(field func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		*field(c) = n
		return numberError(v, err)
	}
}

func msField(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseMillis(v)
		*field(c) = d
		return err
	}
}

// parseMillis reads a Kafka duration in milliseconds.
func parseMillis(v string) (time.Duration, error) {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, numberError(v, err)
	}
	if ms > math.MaxInt64/int64(time.Millisecond) || ms < math.MinInt64/int64(time.Millisecond) {
		return 0, fmt.Errorf("%d ms is out of range", ms)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func numberError(v string, err error) error {
	if err != nil {
		return fmt.Errorf("%q is not a whole number in range", v)
	}
	return nil
}

// Validate checks c as Kafka Streams checks its configuration at start-up,
// and reads the files Security names. Errors wrap ErrInvalidConfig and
// name the property.
func (c Config) Validate() error {
	if err := c.validateNames(); err != nil {
		return err
	}
	if err := c.validateNumbers(); err != nil {
		return err
	}
	if err := c.validateProperties(); err != nil {
		return err
	}
	for _, role := range clientRoles {
		if _, err := c.clientOpts(role); err != nil {
			return err
		}
	}
	_, err := c.kgoOpts()
	return err
}

func invalidf(property, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, property, fmt.Sprintf(format, args...))
}

// validateNames checks the settings that are names and addresses.
func (c Config) validateNames() error {
	switch {
	case c.ApplicationID == "":
		return invalidf(propApplicationID, "is required")
	case len(c.ApplicationID) > maxApplicationIDLength:
		return invalidf(propApplicationID, "has %d characters, more than %d", len(c.ApplicationID), maxApplicationIDLength)
	case strings.IndexFunc(c.ApplicationID, notTopicCharacter) >= 0:
		return invalidf(propApplicationID, "%q may hold only ASCII letters, digits, '.', '_' and '-': it starts topic names",
			c.ApplicationID)
	case len(c.BootstrapServers) == 0:
		return invalidf(propBootstrapServers, "is required")
	case c.StateDir == "":
		return invalidf(propStateDir, "is empty (NewConfig sets Kafka's defaults)")
	}
	for _, addr := range c.BootstrapServers {
		if err := checkHostPort(addr); err != nil {
			return invalidf(propBootstrapServers, "%v", err)
		}
	}
	if c.ApplicationServer != "" {
		if err := checkHostPort(c.ApplicationServer); err != nil {
			return invalidf(propApplicationServer, "%v", err)
		}
	}
	if err := parseGuarantee(&Config{}, string(c.ProcessingGuarantee)); err != nil && c.ProcessingGuarantee != "" {
		return invalidf(propProcessingGuarantee, "%v", err)
	}
	if err := parseDSLStore(&Config{}, string(c.DefaultDSLStore)); err != nil && c.DefaultDSLStore != "" {
		return invalidf(propDefaultDSLStore, "%v", err)
	}
	return nil
}

// notTopicCharacter is true for a character Kafka refuses in topic names.
func notTopicCharacter(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q has no port from 1 to 65535", addr)
	}
	return nil
}

// validateNumbers checks the ranges Kafka's validators allow.
func (c Config) validateNumbers() error {
	for _, check := range []struct {
		property string
		value    any
		ok       bool
		rule     string
	}{
		{propNumStreamThreads, c.NumStreamThreads, c.NumStreamThreads >= 1 && c.NumStreamThreads <= maxNumStreamThreads,
			fmt.Sprintf("from 1 to %d", maxNumStreamThreads)},
		{propCommitInterval, c.CommitInterval, c.CommitInterval >= 0, "not negative"},
		{propNumStandbyReplicas, c.NumStandbyReplicas, c.NumStandbyReplicas >= 0, "not negative"},
		{propReplicationFactor, c.ReplicationFactor, c.ReplicationFactor == -1 || c.ReplicationFactor >= 1 && c.ReplicationFactor <= math.MaxInt16,
			"-1 (the broker's default) or from 1 to 32767"},
		{propCacheMaxBytes, c.CacheMaxBytes, c.CacheMaxBytes >= 0, "not negative (0 turns caching off)"},
		{propAcceptableRecoveryLag, c.AcceptableRecoveryLag, c.AcceptableRecoveryLag >= 0, "not negative"},
		{propMaxWarmupReplicas, c.MaxWarmupReplicas, c.MaxWarmupReplicas >= 1, "at least 1"},
		{propProbingInterval, c.ProbingRebalanceInterval, c.ProbingRebalanceInterval >= minProbingInterval, "at least 1m0s"},
		{propWindowRetention, c.WindowStoreChangeLogAdditionalRetention, c.WindowStoreChangeLogAdditionalRetention >= 0, "not negative"},
	} {
		if !check.ok {
			hint := ""
			if reflect.ValueOf(check.value).IsZero() {
				hint = " (NewConfig sets Kafka's defaults)"
			}
			return invalidf(check.property, "is %v; it must be %s%s", check.value, check.rule, hint)
		}
	}
	return nil
}

// validateProperties refuses, in Properties, a setting that has its own
// field: it would be silently ignored there.
func (c Config) validateProperties() error {
	for _, name := range slices.Sorted(maps.Keys(c.Properties)) {
		switch {
		case streamsProperties[name] != nil:
			return invalidf(name, "is set in Config.Properties; set the Config field for it")
		case isSecurityName(name):
			return invalidf(name, "is set in Config.Properties; security settings go in Config.Security")
		}
	}
	return nil
}

// UnknownProperties returns, sorted, the names in Properties and Security
// that have no effect: misspellings, settings of Java clients franz-go has
// no equivalent for, and Kafka Streams settings fjord does not have (Java
// classes such as default.key.serde are given in code). Kafka warns of
// these and carries on; so should the caller.
func (c Config) UnknownProperties() []string {
	var unknown []string
	for name := range c.Properties {
		if !passedThrough(name) {
			unknown = append(unknown, name)
		}
	}
	for name := range c.Security {
		if !clientconf.IsSecurityProperty(name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	return unknown
}

// String lists c as Kafka properties, one a line in name order, with
// passwords, keys and JAAS configurations shown as [hidden].
func (c Config) String() string {
	props := c.toProperties(true)
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(props)) {
		fmt.Fprintf(&b, "%s=%s\n", name, props[name])
	}
	return b.String()
}

// toProperties is c by Kafka's names, as ConfigFromProperties reads them.
func (c Config) toProperties(hideSecrets bool) map[string]string {
	props := maps.Clone(c.Properties)
	if props == nil {
		props = map[string]string{}
	}
	maps.Copy(props, c.Security)
	if hideSecrets {
		for name := range props {
			if isSecret(name) {
				props[name] = "[hidden]"
			}
		}
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	maps.Copy(props, map[string]string{
		propApplicationID: c.ApplicationID, propBootstrapServers: strings.Join(c.BootstrapServers, ","),
		propProcessingGuarantee: string(c.ProcessingGuarantee), propNumStreamThreads: strconv.Itoa(c.NumStreamThreads),
		propCommitInterval: ms(c.CommitInterval), propStateDir: c.StateDir,
		propNumStandbyReplicas: strconv.Itoa(c.NumStandbyReplicas), propReplicationFactor: strconv.Itoa(c.ReplicationFactor),
		propCacheMaxBytes: strconv.FormatInt(c.CacheMaxBytes, 10), propApplicationServer: c.ApplicationServer,
		propAcceptableRecoveryLag: strconv.FormatInt(c.AcceptableRecoveryLag, 10),
		propMaxWarmupReplicas:     strconv.Itoa(c.MaxWarmupReplicas), propProbingInterval: ms(c.ProbingRebalanceInterval),
		propWindowRetention: ms(c.WindowStoreChangeLogAdditionalRetention), propMaxTaskIdle: ms(c.MaxTaskIdle),
		propDefaultDSLStore: string(c.DefaultDSLStore), propClientID: c.ClientID,
	})
	return props
}

// isSecret reports whether a property holds a password, key or token:
// Kafka's PASSWORD-type settings, with or without a client prefix.
func isSecret(name string) bool {
	return strings.HasSuffix(name, "password") || strings.HasSuffix(name, "jaas.config") ||
		strings.HasSuffix(name, "keystore.key") || strings.Contains(name, "secret") || strings.HasSuffix(name, "user.info")
}
