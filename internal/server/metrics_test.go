package server

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/metrics"
)

// gathered is the value of the sample of family with the given label
// value (a histogram's count), or -1 when missing.
func gathered(t *testing.T, reg *prometheus.Registry, family, labelValue string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != family {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() != labelValue {
					continue
				}
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount())
				}
			}
		}
	}
	return -1
}

// TestRequestAndConnectionMetrics follows one connection through the
// metrics: an immediate answer, a produce whose answer waits (counted as
// waiting until it is released), its error code, and the connection's
// open and close.
func TestRequestAndConnectionMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	routes := apiVersionsRoutes()
	entered, release := make(chan struct{}), make(chan struct{})
	routes[0] = Route{MinVersion: 3, MaxVersion: 13, Handle: func(_ context.Context, _ *RequestContext, req kmsg.Request) Result {
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		resp.Topics = []kmsg.ProduceResponseTopic{{Topic: "t",
			Partitions: []kmsg.ProduceResponseTopicPartition{{ErrorCode: kerr.NotEnoughReplicas.Code}}}}
		return Result{Pending: func(context.Context) kmsg.Response {
			close(entered)
			<-release
			return resp
		}}
	}}
	srv := NewListener(ListenerConfig{Name: "PLAINTEXT", Metrics: m}, routes, DefaultLimits(), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()

	c := dial(t, ln.Addr().String())
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	c.send(av, 1)
	if _, _, err := c.receive(); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, reg, "fjord_requests_total", "ApiVersions"); got != 1 {
		t.Fatalf("ApiVersions requests %v, want 1", got)
	}
	if got := gathered(t, reg, "fjord_connections", "PLAINTEXT"); got != 1 {
		t.Fatalf("open connections %v, want 1", got)
	}

	produce := kmsg.NewPtrProduceRequest()
	produce.Version, produce.Acks = 9, -1
	c.send(produce, 2)
	<-entered
	if got := gathered(t, reg, "fjord_requests_waiting", "Produce"); got != 1 {
		t.Fatalf("produce requests waiting %v, want 1", got)
	}
	close(release)
	if _, _, err := c.receive(); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, reg, "fjord_request_errors_total", "NOT_ENOUGH_REPLICAS"); got != 1 {
		t.Fatalf("NOT_ENOUGH_REPLICAS errors %v, want 1", got)
	}
	if got := gathered(t, reg, "fjord_requests_waiting", "Produce"); got != 0 {
		t.Fatalf("produce requests waiting %v after the answer, want 0", got)
	}

	c.nc.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the deferred wait
	// Serve joined the connection: its close is counted, and both
	// latencies of both requests are in.
	if got := gathered(t, reg, "fjord_connections", "PLAINTEXT"); got != 0 {
		t.Fatalf("open connections %v after close, want 0", got)
	}
	if got := gathered(t, reg, "fjord_connections_closed_total", "PLAINTEXT"); got != 1 {
		t.Fatalf("closed connections %v, want 1", got)
	}
	if got := gathered(t, reg, "fjord_request_remote_time_seconds", "Produce"); got != 1 {
		t.Fatalf("produce remote time samples %v, want 1", got)
	}
}
