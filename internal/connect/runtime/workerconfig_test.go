package runtime

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

func TestParseWorkerConfig(t *testing.T) {
	w, err := ParseWorkerConfig(ModeDistributed, map[string]string{
		"bootstrap.servers": "a:9092, b:9092", "group.id": "connect-cluster",
		"offset.storage.topic": "connect-offsets", "config.storage.topic": "connect-configs",
		"status.storage.topic": "connect-status", "listeners": "http://0.0.0.0:18083",
		"rest.advertised.host.name": "worker-1", "offset.flush.interval.ms": "1000",
		"scheduled.rebalance.max.delay.ms": "5000", "exactly.once.source.support": "ENABLED",
		"producer.linger.ms": "5",
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(w.BootstrapServers, ",") != "a:9092,b:9092" || w.GroupID != "connect-cluster" ||
		w.Listeners[0] != "0.0.0.0:18083" || w.AdvertisedURL != "http://worker-1:18083" ||
		w.OffsetFlushInterval != time.Second || w.ScheduledRebalanceMaxDelay != 5*time.Second ||
		w.ExactlyOnceSource != ExactlyOnceEnabled || w.OffsetPartitions != 25 || w.StatusPartitions != 5 ||
		w.OffsetRF != 3 || w.SessionTimeout != 10*time.Second || w.KeyConverter != jsonConverterClass ||
		w.Props["producer.linger.ms"] != "5" {
		t.Fatalf("parsed %+v", w)
	}
}

func TestParseWorkerConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		mode  Mode
		props map[string]string
		want  string
	}{
		{"standalone without offsets file", ModeStandalone, map[string]string{}, "offset.storage.file.filename"},
		{"distributed without topics", ModeDistributed, map[string]string{"group.id": "g"}, "config.storage.topic, offset.storage.topic, status.storage.topic"},
		{"bad listener", ModeStandalone, map[string]string{"offset.storage.file.filename": "f", "listeners": "ftp://x:1"}, `"ftp://x:1" is not http://host:port`},
		{"bad number", ModeStandalone, map[string]string{"offset.storage.file.filename": "f", "offset.flush.interval.ms": "soon"}, "offset.flush.interval.ms"},
		{"bad exactly-once level", ModeStandalone, map[string]string{"offset.storage.file.filename": "f", "exactly.once.source.support": "always"}, "exactly.once.source.support"},
		{"bad security", ModeStandalone, map[string]string{"offset.storage.file.filename": "f", "security.protocol": "TLS"}, "security.protocol"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWorkerConfig(tt.mode, tt.props)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
			if tt.name != "bad security" && !errors.Is(err, connect.ErrInvalidConfig) {
				t.Errorf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}
