package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestParseBrokerDefaults(t *testing.T) {
	b, err := ParseBroker(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"NodeID", b.NodeID, int32(1)},
		{"Listen", b.Listen, ":9092"},
		{"Advertise", b.Advertise, ":9092"},
		{"AutoCreateTopics", b.AutoCreateTopics, true},
		{"NumPartitions", b.NumPartitions, int32(1)},
		{"DefaultReplicationFactor", b.DefaultReplicationFactor, int16(1)},
		{"MessageMaxBytes", b.MessageMaxBytes, int32(1048588)},
		{"SocketRequestMaxBytes", b.SocketRequestMaxBytes, int32(104857600)},
		{"QueuedMaxRequests", b.QueuedMaxRequests, int32(500)},
		{"LogRetentionCheckInterval", b.LogRetentionCheckInterval, 5 * time.Minute},
		{"ProducerIDExpiration", b.ProducerIDExpiration, 24 * time.Hour},
		{"OffsetsRetention", b.OffsetsRetention, 7 * 24 * time.Hour},
		{"GroupInitialRebalanceDelay", b.GroupInitialRebalanceDelay, 3 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseBroker(t *testing.T) {
	b, err := ParseBroker(map[string]string{
		"node.id": "3", "listeners": "PLAINTEXT://127.0.0.1:19092,ctrl://:9093",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CTRL:SASL_SSL", "inter.broker.listener.name": "ctrl",
		"advertised.listeners": "PLAINTEXT://broker3:9092", "log.dirs": "/data/a,/data/b",
		"num.partitions": " 6 ", "auto.create.topics.enable": "FALSE", "my.custom.key": "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.NodeID != 3 || b.Listen != "127.0.0.1:19092" || b.Advertise != "broker3:9092" ||
		b.DataDir != "/data/a" || b.NumPartitions != 6 || b.AutoCreateTopics {
		t.Fatalf("unexpected %+v", b)
	}
	wantListeners := []Listener{
		{Name: "PLAINTEXT", Addr: "127.0.0.1:19092", Advertise: "broker3:9092", Protocol: Plaintext},
		{Name: "CTRL", Addr: ":9093", Advertise: ":9093", Protocol: SASLSSL},
	}
	if !slices.Equal(b.Listeners, wantListeners) || b.InterBrokerListener != "CTRL" {
		t.Fatalf("listeners %+v (inter-broker %s), want %+v (CTRL)", b.Listeners, b.InterBrokerListener, wantListeners)
	}
	if len(b.Unknown) != 1 || b.Unknown[0] != "my.custom.key" {
		t.Fatalf("Unknown = %v", b.Unknown)
	}
	legacy, err := ParseBroker(map[string]string{"broker.id": "7"})
	if err != nil || legacy.NodeID != 7 {
		t.Fatalf("broker.id fallback: %v %v", legacy.NodeID, err)
	}
}

func TestParseBrokerErrors(t *testing.T) {
	tests := []struct {
		key, value string
	}{
		{"num.partitions", "zero"},
		{"num.partitions", "0"},
		{"message.max.bytes", "99999999999"},
		{"auto.create.topics.enable", "yes"},
		{"listeners", "localhost:9092"},
		{"log.retention.hours", "1.5"},
		{"log.segment.bytes", "100"},
		{"default.replication.factor", "40000"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := ParseBroker(map[string]string{tt.key: tt.value})
			if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, kerr.InvalidConfig) {
				t.Fatalf("err = %v", err)
			}
			for _, want := range []string{tt.key, tt.value} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q does not name %q", err, want)
				}
			}
		})
	}
}

func TestResolveTopicPrecedence(t *testing.T) {
	tests := []struct {
		name      string
		broker    map[string]string
		overrides map[string]string
		get       func(Topic) any
		want      any
	}{
		{"default retention", nil, nil, func(t Topic) any { return t.RetentionMs }, int64(604800000)},
		{"hours", map[string]string{"log.retention.hours": "1"}, nil,
			func(t Topic) any { return t.RetentionMs }, int64(3600000)},
		{"minutes beat hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2"}, nil,
			func(t Topic) any { return t.RetentionMs }, int64(120000)},
		{"ms beat minutes", map[string]string{"log.retention.ms": "5", "log.retention.minutes": "2"}, nil,
			func(t Topic) any { return t.RetentionMs }, int64(5)},
		{"unlimited broker", map[string]string{"log.retention.ms": "-1"}, nil,
			func(t Topic) any { return t.RetentionMs }, int64(-1)},
		{"override beats broker", map[string]string{"log.retention.ms": "5"}, map[string]string{"retention.ms": "7"},
			func(t Topic) any { return t.RetentionMs }, int64(7)},
		{"roll hours", map[string]string{"log.roll.hours": "2"}, nil,
			func(t Topic) any { return t.SegmentMs }, int64(7200000)},
		{"message.max.bytes", map[string]string{"message.max.bytes": "2000"}, nil,
			func(t Topic) any { return t.MaxMessageBytes }, int64(2000)},
		{"flush default is fsync per message", nil, nil, func(t Topic) any { return t.FlushMessages }, int64(1)},
		{"flush relaxed by broker", map[string]string{"log.flush.interval.messages": "1000"}, nil,
			func(t Topic) any { return t.FlushMessages }, int64(1000)},
		{"timestamp type", map[string]string{"log.message.timestamp.type": "LogAppendTime"}, nil,
			func(t Topic) any { return t.LogAppendTime() }, true},
		{"compact", nil, map[string]string{"cleanup.policy": "compact, delete"},
			func(t Topic) any { return t.Compact() && t.Delete() }, true},
		{"min isr", map[string]string{"min.insync.replicas": "2"}, nil,
			func(t Topic) any { return t.MinInsyncReplicas }, int64(2)},
		{"huge hours saturate", map[string]string{"log.retention.hours": "2147483647"}, nil,
			func(t Topic) any { return t.RetentionMs }, int64(2147483647 * 3600000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, err := ResolveTopic(tt.broker, tt.overrides)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(top); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResolveTopicErrors(t *testing.T) {
	for _, overrides := range []map[string]string{
		{"retention.ms": "-2"},
		{"no.such.config": "1"},
		{"cleanup.policy": "compact,compact"},
		{"cleanup.policy": "archive"},
		{"message.timestamp.type": "createtime"},
		{"min.cleanable.dirty.ratio": "1.5"},
	} {
		if _, err := ResolveTopic(nil, overrides); !errors.Is(err, kerr.InvalidConfig) {
			t.Errorf("%v: err = %v", overrides, err)
		}
	}
}

// Every broker synonym's built-in default must give the topic default, or a
// topic's effective value would depend on whether a synonym exists.
func TestSynonymDefaultsAgree(t *testing.T) {
	top, err := ResolveTopic(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range TopicDefs() {
		if got := top.Values[d.Name]; got != d.Default {
			t.Errorf("%s resolves to %q by default, its def says %q", d.Name, got, d.Default)
		}
		for _, s := range d.synonyms() {
			if _, ok := LookupBroker(s.Name); !ok {
				t.Errorf("%s: synonym %s is not a broker config", d.Name, s.Name)
			}
		}
	}
}

func TestDefsAreValid(t *testing.T) {
	for _, defs := range [][]Def{TopicDefs(), BrokerDefs()} {
		seen := map[string]bool{}
		for _, d := range defs {
			if seen[d.Name] {
				t.Errorf("duplicate def %s", d.Name)
			}
			seen[d.Name] = true
			if d.HasDefault {
				if err := d.Check(d.Default); err != nil {
					t.Errorf("default of %s fails its own validation: %v", d.Name, err)
				}
			}
			if d.Doc == "" {
				t.Errorf("%s has no doc", d.Name)
			}
		}
	}
}

func TestDescribeTopic(t *testing.T) {
	entries := DescribeTopic(
		map[string]string{"log.retention.hours": "2", "log.segment.bytes": "2097152"},
		map[string]string{"log.retention.ms": "1000"},
		map[string]string{"segment.bytes": "4194304"})
	byName := map[string]Entry{}
	for i, e := range entries {
		if i > 0 && entries[i-1].Name >= e.Name {
			t.Fatalf("not sorted at %s", e.Name)
		}
		byName[e.Name] = e
	}
	ret := byName["retention.ms"]
	if ret.Value != "1000" || ret.Source != SourceDynamicBroker || len(ret.Synonyms) != 3 ||
		ret.Synonyms[1] != (Synonym{"log.retention.hours", "2", SourceStaticBroker}) ||
		ret.Synonyms[2] != (Synonym{"log.retention.hours", "168", SourceDefault}) {
		t.Fatalf("retention.ms = %+v", ret)
	}
	seg := byName["segment.bytes"]
	if seg.Value != "4194304" || seg.Source != SourceDynamicTopic || len(seg.Synonyms) != 3 {
		t.Fatalf("segment.bytes = %+v", seg)
	}
	if e := byName["flush.ms"]; e.Source != SourceDefault || e.Value != maxLong {
		t.Fatalf("flush.ms = %+v", e)
	}
}

func TestDescribeBroker(t *testing.T) {
	entries := DescribeBroker(
		map[string]string{"ssl.key.password": "secret", "num.partitions": "3"},
		map[string]string{"max.connections": "10"})
	byName := map[string]Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	if e := byName["ssl.key.password"]; !e.Null || e.Value != "" || !e.Sensitive || e.Source != SourceStaticBroker {
		t.Fatalf("sensitive = %+v", e)
	}
	if e := byName["num.partitions"]; e.Value != "3" || e.Source != SourceStaticBroker || !e.ReadOnly {
		t.Fatalf("num.partitions = %+v", e)
	}
	if e := byName["max.connections"]; e.Value != "10" || e.Source != SourceDynamicBroker || e.ReadOnly {
		t.Fatalf("max.connections = %+v", e)
	}
	if e := byName["log.retention.ms"]; !e.Null {
		t.Fatalf("log.retention.ms = %+v", e)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, value string
		broker, dyn bool
		ok          bool
	}{
		{"retention.ms", "1000", false, false, true},
		{"retention.ms", "abc", false, false, false},
		{"retention.bytes", "-1", false, false, true},
		{"compression.type", "zstd", false, false, true},
		{"compression.type", "brotli", false, false, false},
		{"segment.bytes", "1048575", false, false, false},
		{"flush.messages", "0", false, false, false},
		{"log.retention.ms", "1000", true, true, true},
		{"num.partitions", "3", true, true, false},
		{"num.partitions", "3", true, false, true},
		{"max.connections", "-1", true, true, false},
		{"unknown.key", "1", true, false, false},
	}
	for _, tt := range tests {
		var err error
		if tt.broker {
			err = ValidateBrokerConfig(tt.name, tt.value, tt.dyn)
		} else {
			err = ValidateTopicConfig(tt.name, tt.value)
		}
		if (err == nil) != tt.ok {
			t.Errorf("%s=%s: err = %v, want ok %v", tt.name, tt.value, err, tt.ok)
		}
		if err != nil && !errors.Is(err, kerr.InvalidConfig) {
			t.Errorf("%s=%s: %v does not wrap InvalidConfig", tt.name, tt.value, err)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	err := ValidateTopicConfig("retention.ms", "x")
	if err.Error() != `invalid value "x" for configuration retention.ms: expected a value of type LONG` {
		t.Fatalf("message %q", err)
	}
	err = ValidateBrokerConfig("ssl.key.password", "", true)
	if err != nil {
		t.Fatalf("password: %v", err)
	}
	err = ValidateBrokerConfig("num.partitions", "2", true)
	if !errors.Is(err, ErrReadOnlyConfig) || !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("read-only: %v", err)
	}
}

func TestParseListenersRefusesInconsistentOnes(t *testing.T) {
	for _, props := range []map[string]string{
		{"listeners": "INTERNAL://:9092"},
		{"listeners": "PLAINTEXT://:9092,PLAINTEXT://:9093"},
		{"listeners": "PLAINTEXT://:9092,SSL://:9092"},
		{"listeners": "PLAINTEXT://:9092", "advertised.listeners": "SSL://h:9093"},
		{"listeners": "PLAINTEXT://:9092", "inter.broker.listener.name": "SSL"},
		{"listeners": "A://:9092", "listener.security.protocol.map": "A:KERBEROS"},
	} {
		if _, err := ParseBroker(props); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%v: err %v, want ErrInvalidConfig", props, err)
		}
	}
}

// TestDescribeRedactsSecrets: no described value or synonym of a broker
// carries a password, key or JAAS value, whether set as the broker's own
// property or under a listener's prefix (which is not described at all).
func TestDescribeRedactsSecrets(t *testing.T) {
	const secret = "s3cr3t-value"
	props := map[string]string{
		"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_a="` + secret + `";`,
		"listener.name.sasl_ssl.plain.sasl.jaas.config": `x required user_a="` + secret + `";`,
		"ssl.keystore.key":        secret,
		"ssl.key.password":        secret,
		"ssl.keystore.password":   secret,
		"ssl.truststore.password": secret,
	}
	for _, e := range DescribeBrokerLayers(BrokerLayers{Static: props}) {
		if strings.Contains(e.Value, secret) {
			t.Errorf("%s described with the secret", e.Name)
		}
		for _, s := range e.Synonyms {
			if strings.Contains(s.Value, secret) {
				t.Errorf("%s synonym %s carries the secret", e.Name, s.Name)
			}
		}
	}
}
