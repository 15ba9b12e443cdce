package streams

// The options of the application's Kafka clients: the common ones from
// Config, and what Properties set per client role with Kafka Streams'
// prefixes (consumer., producer., admin., main.consumer., ...).

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clientconf"
)

// kgoOpts returns the options every client of the application starts
// from: the seed brokers, the client id (ClientID, else ApplicationID),
// the dial timeout (socket.connection.setup.timeout.ms, default 10s) and
// the TLS and SASL of Security. A client appends clientOpts of its role
// and its own options after these; a later kgo.ClientID replaces this one.
// Each call reads the files Security names.
func (c Config) kgoOpts() ([]kgo.Opt, error) {
	dialTimeout := defaultDialTimeout
	if v, ok := c.Properties[propDialTimeout]; ok {
		d, err := parseMillis(strings.TrimSpace(v))
		if err == nil && d <= 0 {
			err = errors.New("must be positive")
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidConfig, propDialTimeout, err)
		}
		dialTimeout = d
	}
	security, err := clientconf.NewSecurity(c.Security, clientconf.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	clientID := c.ClientID
	if clientID == "" {
		clientID = c.ApplicationID
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.BootstrapServers...), kgo.ClientID(clientID), kgo.DialTimeout(dialTimeout)}
	return append(opts, security.Opts(dialTimeout)...), nil
}

// clientRole is a kind of client of the application, for Kafka Streams'
// client property prefixes.
type clientRole int

const (
	roleMainConsumer    clientRole = iota // a stream thread's group member
	roleRestoreConsumer                   // reads changelogs into stores
	roleGlobalConsumer                    // reads the topics of global tables
	roleProducer
	roleAdmin
)

var clientRoles = []clientRole{roleMainConsumer, roleRestoreConsumer, roleGlobalConsumer, roleProducer, roleAdmin}

// prefixes are the property prefixes that reach role, weakest first.
func (r clientRole) prefixes() []string {
	switch r {
	case roleMainConsumer:
		return []string{"", "consumer.", "main.consumer."}
	case roleRestoreConsumer:
		return []string{"", "consumer.", "restore.consumer."}
	case roleGlobalConsumer:
		return []string{"", "consumer.", "global.consumer."}
	case roleProducer:
		return []string{"", "producer."}
	}
	return []string{"", "admin."}
}

// roleSet is a set of client roles.
type roleSet uint8

func rolesOf(roles ...clientRole) roleSet {
	var s roleSet
	for _, r := range roles {
		s |= 1 << r
	}
	return s
}

func (s roleSet) has(r clientRole) bool { return s&(1<<r) != 0 }

// passThrough is a client property franz-go has an equivalent for.
type passThrough struct {
	roles roleSet
	opt   func(value string) (kgo.Opt, error)
}

var (
	everyClient = rolesOf(clientRoles...)
	consumers   = rolesOf(roleMainConsumer, roleRestoreConsumer, roleGlobalConsumer)
	groupMember = rolesOf(roleMainConsumer)
	producers   = rolesOf(roleProducer)
)

// passThroughs are the client properties of Properties that reach
// franz-go, by their unprefixed names. Config.Properties documents them.
var passThroughs = map[string]passThrough{
	"metadata.max.age.ms":       {everyClient, msOpt(kgo.MetadataMaxAge)},
	"connections.max.idle.ms":   {everyClient, msOpt(kgo.ConnIdleTimeout)},
	"fetch.min.bytes":           {consumers, bytesOpt(kgo.FetchMinBytes)},
	"fetch.max.bytes":           {consumers, bytesOpt(kgo.FetchMaxBytes)},
	"fetch.max.wait.ms":         {consumers, msOpt(kgo.FetchMaxWait)},
	"max.partition.fetch.bytes": {consumers, bytesOpt(kgo.FetchMaxPartitionBytes)},
	"client.rack":               {consumers, func(v string) (kgo.Opt, error) { return kgo.Rack(v), nil }},
	"session.timeout.ms":        {groupMember, msOpt(kgo.SessionTimeout)},
	"heartbeat.interval.ms":     {groupMember, msOpt(kgo.HeartbeatInterval)},
	"max.poll.interval.ms":      {groupMember, msOpt(kgo.RebalanceTimeout)},
	"linger.ms":                 {producers, msOpt(kgo.ProducerLinger)},
	"compression.type":          {producers, compressionOpt},
	"delivery.timeout.ms":       {producers, msOpt(kgo.RecordDeliveryTimeout)},
	"request.timeout.ms":        {producers, msOpt(kgo.ProduceRequestTimeout)},
	"transaction.timeout.ms":    {producers, msOpt(kgo.TransactionTimeout)},
	"max.request.size":          {producers, bytesOpt(kgo.ProducerBatchMaxBytes)},
}

func msOpt[O kgo.Opt](opt func(time.Duration) O) func(string) (kgo.Opt, error) {
	return func(v string) (kgo.Opt, error) {
		d, err := parseMillis(v)
		if err == nil && d < 0 {
			err = errors.New("must not be negative")
		}
		return opt(d), err
	}
}

func bytesOpt[O kgo.Opt](opt func(int32) O) func(string) (kgo.Opt, error) {
	return func(v string) (kgo.Opt, error) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err == nil && n < 0 {
			return nil, errors.New("must not be negative")
		}
		return opt(int32(n)), numberError(v, err)
	}
}

func compressionOpt(v string) (kgo.Opt, error) {
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	codec, ok := codecs[strings.ToLower(v)]
	if !ok {
		return nil, fmt.Errorf("%q is not none, gzip, snappy, lz4 or zstd", v)
	}
	return kgo.ProducerBatchCompression(codec), nil
}

// passedThrough reports whether a name of Properties reaches a client.
func passedThrough(name string) bool {
	if name == propDialTimeout {
		return true
	}
	for _, role := range clientRoles {
		for _, prefix := range role.prefixes() {
			if base, ok := strings.CutPrefix(name, prefix); ok && passThroughs[base].roles.has(role) {
				return true
			}
		}
	}
	return false
}

// clientOpts returns the options Properties set for a client of role:
// each passed-through property at its most specific prefix, in name
// order. Only what the properties say: the library's own settings for the
// role (Kafka Streams' linger.ms of 100ms, read_committed under
// exactly-once) are the caller's, and go before these unless they must win.
func (c Config) clientOpts(role clientRole) ([]kgo.Opt, error) {
	source := map[string]string{} // unprefixed name to the property that sets it
	for _, prefix := range role.prefixes() {
		for name, p := range passThroughs {
			if _, ok := c.Properties[prefix+name]; ok && p.roles.has(role) {
				source[name] = prefix + name
			}
		}
	}
	var opts []kgo.Opt
	for _, name := range slices.Sorted(maps.Keys(source)) {
		opt, err := passThroughs[name].opt(strings.TrimSpace(c.Properties[source[name]]))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidConfig, source[name], err)
		}
		opts = append(opts, opt)
	}
	return opts, nil
}
