package server

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/metrics"
	"github.com/fjordhq/fjord/internal/metrics/metricstest"
)

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
	if got := metricstest.Gather(t, reg).MustValue(t, "fjord_requests_total", "api", "ApiVersions"); got != 1 {
		t.Fatalf("ApiVersions requests %v, want 1", got)
	}
	if got := metricstest.Gather(t, reg).MustValue(t, "fjord_connections", "listener", "PLAINTEXT"); got != 1 {
		t.Fatalf("open connections %v, want 1", got)
	}

	produce := kmsg.NewPtrProduceRequest()
	produce.Version, produce.Acks = 9, -1
	c.send(produce, 2)
	<-entered
	if got := metricstest.Gather(t, reg).MustValue(t, "fjord_requests_waiting", "api", "Produce"); got != 1 {
		t.Fatalf("produce requests waiting %v, want 1", got)
	}
	close(release)
	if _, _, err := c.receive(); err != nil {
		t.Fatal(err)
	}
	if got := metricstest.Gather(t, reg).MustValue(t, "fjord_request_errors_total", "api", "Produce", "error", "NOT_ENOUGH_REPLICAS"); got != 1 {
		t.Fatalf("NOT_ENOUGH_REPLICAS errors %v, want 1", got)
	}
	if got := metricstest.Gather(t, reg).MustValue(t, "fjord_requests_waiting", "api", "Produce"); got != 0 {
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
	if got := metricstest.Gather(t, reg).MustValue(t, "fjord_connections", "listener", "PLAINTEXT"); got != 0 {
		t.Fatalf("open connections %v after close, want 0", got)
	}
	if got := metricstest.Gather(t, reg).MustValue(t, "fjord_connections_closed_total", "listener", "PLAINTEXT"); got != 1 {
		t.Fatalf("closed connections %v, want 1", got)
	}
	if got := metricstest.Gather(t, reg).MustValue(t, "fjord_request_remote_time_seconds", "api", "Produce"); got != 1 {
		t.Fatalf("produce remote time samples %v, want 1", got)
	}
}
