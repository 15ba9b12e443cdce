package streams

import (
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

func TestConfigDefaults(t *testing.T) {
	c, err := ConfigFromProperties(map[string]string{"application.id": "wordcount", "bootstrap.servers": " a:9092 , b:9093,"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ApplicationID: "wordcount", BootstrapServers: []string{"a:9092", "b:9093"}, ProcessingGuarantee: AtLeastOnce,
		NumStreamThreads: 1, CommitInterval: 30 * time.Second, StateDir: filepath.Join(os.TempDir(), "fjord-streams"),
		ReplicationFactor: -1, CacheMaxBytes: 10 << 20, AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2,
		ProbingRebalanceInterval: 10 * time.Minute, WindowStoreChangeLogAdditionalRetention: 24 * time.Hour,
		DefaultDSLStore: PersistentDSLStore, Security: map[string]string{}, Properties: map[string]string{},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%#v\nwant\n%#v", c, want)
	}
	if !reflect.DeepEqual(NewConfig("wordcount", "a:9092", "b:9093"), want) {
		t.Errorf("NewConfig differs from ConfigFromProperties' defaults")
	}
	if got := c.UnknownProperties(); got != nil {
		t.Errorf("UnknownProperties = %q", got)
	}
}

func TestConfigFromProperties(t *testing.T) {
	props := map[string]string{
		"application.id": "app", "bootstrap.servers": "localhost:9092", "processing.guarantee": "exactly_once_v2",
		"num.stream.threads": "4", "state.dir": "/var/lib/app", "num.standby.replicas": "1", "replication.factor": "3",
		"statestore.cache.max.bytes": "0", "cache.max.bytes.buffering": "5", "application.server": "host:7070",
		"acceptable.recovery.lag": "0", "max.warmup.replicas": "5", "probing.rebalance.interval.ms": "60000",
		"windowstore.changelog.additional.retention.ms": "0", "max.task.idle.ms": "-1", "default.dsl.store": "in_memory",
		"client.id": "app-client", "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
		"sasl.username": "u", "sasl.password": "p", "producer.linger.ms": "5", "default.key.serde": "x.Serde",
	}
	c, err := ConfigFromProperties(props)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ApplicationID: "app", BootstrapServers: []string{"localhost:9092"}, ProcessingGuarantee: ExactlyOnceV2,
		NumStreamThreads: 4, CommitInterval: 100 * time.Millisecond, StateDir: "/var/lib/app", NumStandbyReplicas: 1,
		ReplicationFactor: 3, CacheMaxBytes: 0, ApplicationServer: "host:7070", AcceptableRecoveryLag: 0,
		MaxWarmupReplicas: 5, ProbingRebalanceInterval: time.Minute, WindowStoreChangeLogAdditionalRetention: 0,
		MaxTaskIdle: -time.Millisecond, DefaultDSLStore: InMemoryDSLStore, ClientID: "app-client",
		Security: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
			"sasl.username": "u", "sasl.password": "p"},
		Properties: map[string]string{"producer.linger.ms": "5", "default.key.serde": "x.Serde"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%#v\nwant\n%#v", c, want)
	}
	if got := c.UnknownProperties(); !slices.Equal(got, []string{"default.key.serde"}) {
		t.Errorf("UnknownProperties = %q", got)
	}
	// toProperties gives back what ConfigFromProperties reads.
	again, err := ConfigFromProperties(c.toProperties(false))
	if err != nil || !reflect.DeepEqual(again, c) {
		t.Errorf("round trip: %v\n%#v", err, again)
	}
}

func TestConfigPropertyRules(t *testing.T) {
	base := map[string]string{"application.id": "app", "bootstrap.servers": "h:1"}
	with := func(kv ...string) map[string]string {
		props := map[string]string{}
		for k, v := range base {
			props[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			props[kv[i]] = kv[i+1]
		}
		return props
	}
	for _, tt := range []struct {
		name  string
		props map[string]string
		check func(Config) bool
	}{
		{"the deprecated cache name alone", with("cache.max.bytes.buffering", "7"), func(c Config) bool { return c.CacheMaxBytes == 7 }},
		{"the new cache name wins", with("cache.max.bytes.buffering", "7", "statestore.cache.max.bytes", "8"),
			func(c Config) bool { return c.CacheMaxBytes == 8 }},
		{"an explicit commit interval under exactly-once", with("processing.guarantee", "exactly_once_v2", "commit.interval.ms", "2000"),
			func(c Config) bool { return c.CommitInterval == 2*time.Second }},
		{"guarantee in any case", with("processing.guarantee", "EXACTLY_ONCE_V2"), func(c Config) bool { return c.ProcessingGuarantee == ExactlyOnceV2 }},
		{"rocksDB is the persistent store", with("default.dsl.store", "rocksDB"), func(c Config) bool { return c.DefaultDSLStore == PersistentDSLStore }},
		{"values are trimmed", with("num.stream.threads", " 3 "), func(c Config) bool { return c.NumStreamThreads == 3 }},
	} {
		c, err := ConfigFromProperties(tt.props)
		if err != nil || !tt.check(c) {
			t.Errorf("%s: %v, %+v", tt.name, err, c)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"application.id": ""}, "application.id is required"},
		{map[string]string{"bootstrap.servers": " , "}, "bootstrap.servers is required"},
		{map[string]string{"application.id": "a b", "bootstrap.servers": "h:1"}, `application.id "a b" may hold only`},
		{map[string]string{"application.id": strings.Repeat("a", 250), "bootstrap.servers": "h:1"}, "more than 249"},
		{map[string]string{"bootstrap.servers": "h"}, `bootstrap.servers "h" is not host:port`},
		{map[string]string{"bootstrap.servers": "h:0"}, `"h:0" has no port`},
		{map[string]string{"application.server": "nohost"}, `application.server "nohost" is not host:port`},
		{map[string]string{"processing.guarantee": "exactly_once"}, "exactly_once was removed in Kafka 4.0; use exactly_once_v2"},
		{map[string]string{"processing.guarantee": "exactly_once_beta"}, "exactly_once_beta was removed in Kafka 4.0"},
		{map[string]string{"processing.guarantee": "twice"}, `processing.guarantee: "twice" is not at_least_once or exactly_once_v2`},
		{map[string]string{"default.dsl.store": "rocksdb"}, `default.dsl.store: "rocksdb" is not rocksDB or in_memory`},
		{map[string]string{"num.stream.threads": "x"}, `num.stream.threads: "x" is not a whole number`},
		{map[string]string{"num.stream.threads": "3000000000"}, `num.stream.threads: "3000000000" is not a whole number in range`},
		{map[string]string{"num.stream.threads": "0"}, "num.stream.threads is 0; it must be from 1 to 1024 (NewConfig"},
		{map[string]string{"commit.interval.ms": "-1"}, "commit.interval.ms is -1ms; it must be not negative"},
		{map[string]string{"commit.interval.ms": "9223372036854775807"}, "out of range"},
		{map[string]string{"replication.factor": "0"}, "replication.factor is 0; it must be -1 (the broker's default) or from 1"},
		{map[string]string{"statestore.cache.max.bytes": "-1"}, "statestore.cache.max.bytes is -1"},
		{map[string]string{"max.warmup.replicas": "0"}, "max.warmup.replicas is 0; it must be at least 1"},
		{map[string]string{"probing.rebalance.interval.ms": "59999"}, "probing.rebalance.interval.ms is 59.999s; it must be at least 1m0s"},
		{map[string]string{"security.protocol": "TLS"}, `security.protocol "TLS" is not`},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.location": "/nonexistent/ca.pem"}, "ssl.truststore.location"},
		{map[string]string{"consumer.fetch.max.bytes": "-1"}, "consumer.fetch.max.bytes: must not be negative"},
		{map[string]string{"producer.compression.type": "brotli"}, `producer.compression.type: "brotli" is not none`},
		{map[string]string{"socket.connection.setup.timeout.ms": "0"}, "socket.connection.setup.timeout.ms: must be positive"},
	}
	for _, tt := range tests {
		props := map[string]string{"application.id": "app", "bootstrap.servers": "h:1"}
		for k, v := range tt.props {
			props[k] = v
		}
		_, err := ConfigFromProperties(props)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.props, err, tt.want)
		}
	}
}

// TestConfigLiteral: Validate refuses a literal's invalid zeros, saying
// where the defaults are, and the settings put where they have no effect.
func TestConfigLiteral(t *testing.T) {
	c := Config{ApplicationID: "app", BootstrapServers: []string{"h:1"}, StateDir: "/tmp/x"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "num.stream.threads is 0") ||
		!strings.Contains(err.Error(), "NewConfig sets Kafka's defaults") {
		t.Errorf("literal: %v", err)
	}
	if err := (Config{ApplicationID: "app", BootstrapServers: []string{"h:1"}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "state.dir is empty (NewConfig") {
		t.Errorf("no state.dir: %v", err)
	}
	c = NewConfig("app", "h:1")
	c.ProcessingGuarantee, c.DefaultDSLStore = "", ""
	if err := c.Validate(); err != nil {
		t.Errorf("empty guarantee and store are the defaults: %v", err)
	}
	c.Properties["num.stream.threads"] = "2"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "num.stream.threads is set in Config.Properties; set the Config field") {
		t.Errorf("a field in Properties: %v", err)
	}
	c.Properties = map[string]string{"ssl.truststore.location": "/ca.pem"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "security settings go in Config.Security") {
		t.Errorf("security in Properties: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "streams.properties")
	text := "# word count\napplication.id = wordcount\nbootstrap.servers: localhost:9092,\\\n    localhost:9093\n" +
		"sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n" +
		"    username=\"alice\" password=\"alice-secret\";\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.ApplicationID != "wordcount" || !slices.Equal(c.BootstrapServers, []string{"localhost:9092", "localhost:9093"}) ||
		!strings.Contains(c.Security["sasl.jaas.config"], `password="alice-secret"`) {
		t.Fatalf("got %+v", c)
	}
	if s := c.String(); strings.Contains(s, "alice-secret") || !strings.Contains(s, "sasl.jaas.config=[hidden]\n") ||
		!strings.Contains(s, "application.id=wordcount\n") {
		t.Errorf("String:\n%s", s)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestUnknownProperties(t *testing.T) {
	c := NewConfig("app", "h:1")
	for _, name := range []string{
		"metadata.max.age.ms", "fetch.min.bytes", "consumer.fetch.max.bytes", "main.consumer.session.timeout.ms",
		"restore.consumer.max.partition.fetch.bytes", "global.consumer.client.rack", "producer.linger.ms",
		"admin.connections.max.idle.ms", "socket.connection.setup.timeout.ms",
		// not used:
		"num.stream.thread", "producer.fetch.min.bytes", "restore.consumer.session.timeout.ms", "admin.linger.ms",
		"consumer.sasl.jaas.config", "max.poll.records", "topology.optimization",
	} {
		c.Properties[name] = "1"
	}
	c.Security["ssl.keymanager.algorithm"] = "SunX509"
	c.Security["ssl.truststore.location"] = "/ca.pem"
	want := []string{"admin.linger.ms", "consumer.sasl.jaas.config", "max.poll.records", "num.stream.thread",
		"producer.fetch.min.bytes", "restore.consumer.session.timeout.ms", "ssl.keymanager.algorithm", "topology.optimization"}
	if got := c.UnknownProperties(); !slices.Equal(got, want) {
		t.Errorf("UnknownProperties =\n%q\nwant\n%q", got, want)
	}
}

// TestClientOpts: each role gets the passed-through properties at their
// most specific prefix, and kgo accepts the result.
func TestClientOpts(t *testing.T) {
	c := NewConfig("app", "127.0.0.1:1")
	c.ClientID = "prefix"
	c.Properties = map[string]string{
		"fetch.max.wait.ms": "100", "consumer.fetch.max.wait.ms": "200", "restore.consumer.fetch.max.wait.ms": "300",
		"session.timeout.ms": "6000", "linger.ms": "7", "compression.type": "zstd", "metadata.max.age.ms": "10000",
	}
	for _, tt := range []struct {
		role clientRole
		want map[string]string // kgo config name to value, as OptValue reports it
	}{
		{roleMainConsumer, map[string]string{"FetchMaxWait": "200ms", "SessionTimeout": "6s", "MetadataMaxAge": "10s"}},
		{roleRestoreConsumer, map[string]string{"FetchMaxWait": "300ms", "MetadataMaxAge": "10s"}},
		{roleGlobalConsumer, map[string]string{"FetchMaxWait": "200ms", "MetadataMaxAge": "10s"}},
		{roleProducer, map[string]string{"ProducerLinger": "7ms", "MetadataMaxAge": "10s"}},
		{roleAdmin, map[string]string{"MetadataMaxAge": "10s"}},
	} {
		base, err := c.kgoOpts()
		if err != nil {
			t.Fatal(err)
		}
		opts, err := c.clientOpts(tt.role)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(append(base, opts...)...)
		if err != nil {
			t.Fatalf("role %d: %v", tt.role, err)
		}
		got := map[string]string{"ClientID": "prefix", "SeedBrokers": "[127.0.0.1:1]"}
		for name, value := range tt.want {
			got[name] = value
		}
		for name, value := range got {
			if v := fmt.Sprint(cl.OptValue(name)); v != value {
				t.Errorf("role %d: %s = %s, want %s", tt.role, name, v, value)
			}
		}
		cl.Close()
	}
}

// TestKgoOptsSecurity: Security's TLS and SASL reach every client, from
// PEM files made for the test.
func TestKgoOptsSecurity(t *testing.T) {
	pki := fjordtest.NewPKI(t, "streams")
	_, _, keystore := pki.Issue(pkix.Name{CommonName: "app"}, false, time.Now().Add(time.Hour))
	c := NewConfig("app", "127.0.0.1:1")
	c.Security = map[string]string{
		"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
		"sasl.jaas.config":        `org.apache.kafka.common.security.scram.ScramLoginModule required username="app" password="pw";`,
		"ssl.truststore.location": pki.CA, "ssl.keystore.location": keystore,
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	opts, err := c.kgoOpts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if cl.OptValue("Dialer") == nil || cl.OptValue("SASL") == nil || fmt.Sprint(cl.OptValue("ClientID")) != "app" ||
		fmt.Sprint(cl.OptValue("DialTimeout")) != "10s" {
		t.Errorf("dialer %v, SASL %v, client id %v, dial timeout %v", cl.OptValue("Dialer") != nil, cl.OptValue("SASL"),
			cl.OptValue("ClientID"), cl.OptValue("DialTimeout"))
	}
	c.Security["ssl.keystore.location"] = filepath.Join(t.TempDir(), "missing.pem")
	if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "ssl.keystore.location") {
		t.Errorf("missing key store: %v", err)
	}
}

// FuzzConfigFromProperties: any property value is read or refused with
// ErrInvalidConfig, never a panic.
func FuzzConfigFromProperties(f *testing.F) {
	f.Add("num.stream.threads", "4")
	f.Add("commit.interval.ms", "-9223372036854775808")
	f.Add("producer.compression.type", "zstd")
	f.Add("security.protocol", "sasl_ssl")
	f.Fuzz(func(t *testing.T, name, value string) {
		props := map[string]string{"application.id": "app", "bootstrap.servers": "h:1", name: value}
		if _, err := ConfigFromProperties(props); err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("%s=%q: %v", name, value, err)
		}
	})
}
