package rest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// blockingHerder returns a herder whose KafkaClusterID signals entered
// and then waits for release or for its context to end, reporting the
// context's error on ended.
func blockingHerder() (h *memHerder, entered, release chan struct{}, ended chan error) {
	h = newMemHerder()
	entered, release, ended = make(chan struct{}, 4), make(chan struct{}), make(chan error, 4)
	h.before = func(ctx context.Context, op string) error {
		if op != "KafkaClusterID" {
			return nil
		}
		entered <- struct{}{}
		select {
		case <-release:
			ended <- nil
			return nil
		case <-ctx.Done():
			ended <- ctx.Err()
			return ctx.Err()
		}
	}
	return h, entered, release, ended
}

// startServe runs s.Serve on a loopback listener; the returned channel
// gives Serve's result.
func startServe(t *testing.T, s *Server, ctx context.Context) (string, chan error) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, listener) }()
	return "http://" + listener.Addr().String(), done
}

// get sends GET url and reports the status, or the error, on a channel.
func get(client *http.Client, url string) chan any {
	out := make(chan any, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			out <- err
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		out <- resp.StatusCode
	}()
	return out
}

// waitGoroutines fails unless the goroutine count falls back to before.
// A goroutine that has finished its work needs a moment to exit, long
// under -race on two busy cores: poll the count, bounded, rather than
// sleep a guess.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before {
		select {
		case <-deadline:
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		case <-tick.C:
		}
	}
}

// TestServeGracefulShutdown checks that cancelling Serve's context lets a
// request in flight finish, then returns with no goroutine left.
func TestServeGracefulShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	h, entered, release, ended := blockingHerder()
	s, err := New(h, ServerConfig{ShutdownTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	url, served := startServe(t, s, ctx)
	client := &http.Client{Transport: &http.Transport{}}
	answer := get(client, url+"/")
	<-entered
	cancel()
	close(release)
	if got := <-answer; got != http.StatusOK {
		t.Fatalf("request in flight at shutdown: %v", got)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := <-ended; err != nil {
		t.Fatalf("herder call ended with %v", err)
	}
	client.CloseIdleConnections()
	waitGoroutines(t, before)
}

// TestShutdownCancelsStuckRequests checks that a request outliving the
// shutdown grace period sees its context cancelled, and that Shutdown
// returns only once its handler has.
func TestShutdownCancelsStuckRequests(t *testing.T) {
	before := runtime.NumGoroutine()
	h, entered, _, ended := blockingHerder()
	s, err := New(h, ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	url, served := startServe(t, s, context.Background())
	client := &http.Client{Transport: &http.Transport{}}
	answer := get(client, url+"/")
	<-entered
	shutdownCtx, cancel := context.WithCancel(context.Background())
	cancel() // no grace at all
	if err := s.Shutdown(shutdownCtx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v, want the grace period's end", err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("herder call ended with %v", err)
		}
	default:
		t.Fatal("Shutdown returned before the request's handler")
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	<-answer // an error or a 500: the connection was closed under it
	client.CloseIdleConnections()
	waitGoroutines(t, before)
}

// TestShutdownRefusesNewRequests checks the handler's answer once shut
// down, when used without Serve.
func TestShutdownRefusesNewRequests(t *testing.T) {
	s, err := New(newMemHerder(), ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	rec := serve(t, s, "GET", "/connectors", "")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", rec.Code)
	}
	checkError(t, checkBody(t, rec), 503, "The worker is shutting down")
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(context.Background(), listener); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// TestRequestTimeout checks that a herder call outliving the request
// timeout answers Kafka's 500 "Request timed out".
func TestRequestTimeout(t *testing.T) {
	h := newMemHerder()
	h.before = func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	}
	s, err := New(h, ServerConfig{RequestTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(t, s, "GET", "/connectors", "")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	checkError(t, checkBody(t, rec), 500, "Request timed out")
}
