package node

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/metrics/metricstest"
	"github.com/fjordhq/fjord/internal/vfs"
)

// addrHandler hands the addr of the "http listener started" record to a
// channel.
type addrHandler struct {
	slog.Handler
	addrs chan string
}

func (h addrHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "http listener started" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "addr" {
				h.addrs <- a.Value.String()
			}
			return true
		})
	}
	return nil
}

func (h addrHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h addrHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h addrHandler) WithGroup(string) slog.Handler { return h }

// runHTTPNode runs a lone node with its HTTP listener on a free port and
// returns the HTTP address, the Kafka address and a stop function that
// waits for the node to end.
func runHTTPNode(t *testing.T, fs vfs.FS) (httpAddr, kafkaAddr string, stop func()) {
	t.Helper()
	addrs := make(chan string, 1)
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	props := map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": t.TempDir(), "http.listener": "127.0.0.1:0"}
	go func() {
		done <- Run(ctx, Options{Props: props, FS: fs, Logger: slog.New(addrHandler{Handler: slog.DiscardHandler, addrs: addrs}),
			Ready: func(addr string) { ready <- addr }})
	}()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	}
	select {
	case kafkaAddr = <-ready:
	case err := <-done:
		t.Fatalf("node stopped: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("node not ready")
	}
	select {
	case httpAddr = <-addrs:
	default:
		stop()
		t.Fatal("ready before the HTTP listener was logged")
	}
	return httpAddr, kafkaAddr, stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestHTTPListener checks the probes and the exposition of a running node,
// and that the listener is gone once the node stopped.
func TestHTTPListener(t *testing.T) {
	httpAddr, kafkaAddr, stop := runHTTPNode(t, nil)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	if code, body := get(t, "http://"+httpAddr+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, "http://"+httpAddr+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	// One Kafka request, so that the request metrics have a series.
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	code, body := get(t, "http://"+httpAddr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	fams := metricstest.Parse(t, strings.NewReader(body))
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "fjord_requests_total",
		"fjord_connections_accepted_total", "fjord_log_flush_duration_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s in /metrics", name)
		}
	}
	if code, _ := get(t, "http://"+httpAddr+"/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d", code)
	}

	stop()
	stopped = true
	if c, err := net.DialTimeout("tcp", httpAddr, time.Second); err == nil {
		c.Close()
		t.Fatal("the HTTP listener still accepts after the node stopped")
	}
}

// TestReadyzAfterLogDirFailure: once the log directory fails, the node is
// alive but not ready, and says why.
func TestReadyzAfterLogDirFailure(t *testing.T) {
	fs := vfs.NewFaultFS(vfs.Default())
	httpAddr, kafkaAddr, stop := runHTTPNode(t, fs)
	defer stop()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr), kgo.DefaultProduceTopic("disk"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fs.SetInjector(func(vfs.Op, string) error { return syscall.EIO })
	failCtx, failCancel := context.WithTimeout(ctx, time.Second)
	defer failCancel()
	if err := cl.ProduceSync(failCtx, &kgo.Record{Value: []byte("fails")}).FirstErr(); err == nil {
		t.Fatal("produce succeeded on a failing disk")
	}
	// The failure is reported by the replica manager on its own
	// goroutine: wait for the probe to see it.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		code, body := get(t, "http://"+httpAddr+"/readyz")
		if code == http.StatusServiceUnavailable && body == "log directory failed\n" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/readyz after the disk failed: %d %q", code, body)
		case <-tick.C:
		}
	}
	if code, _ := get(t, "http://"+httpAddr+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz after the disk failed: %d", code)
	}
	fs.SetInjector(nil) // let the node close its files
}
