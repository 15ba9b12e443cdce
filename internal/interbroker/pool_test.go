package interbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// resolver maps broker ids to addresses that a test may change.
type resolver struct {
	mu    sync.Mutex
	addrs map[int32]string
	calls int
}

func (r *resolver) set(id int32, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs[id] = addr
}

func (r *resolver) addressOf(id int32) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	addr, ok := r.addrs[id]
	if !ok {
		return "", fmt.Errorf("broker %d is not registered", id)
	}
	return addr, nil
}

func newTestPool(t *testing.T, addrs map[int32]string, opts ...PoolOption) (*Pool, *resolver) {
	t.Helper()
	r := &resolver{addrs: addrs}
	p := NewPool(r.addressOf, "broker-0-test", testMaxResponseBytes, opts...)
	t.Cleanup(func() { _ = p.Close() })
	return p, r
}

// TestPoolRedialsAfterBreak: a broker that hangs up midway breaks the
// request; the next one asks the resolver again, dials the broker's new
// address, and the one after reuses that connection.
func TestPoolRedialsAfterBreak(t *testing.T) {
	before := startFakeBroker(t, serving(halfFrameThenHangUp))
	after := startFakeBroker(t, serving(answerMarkers))
	p, r := newTestPool(t, map[int32]string{1: before.addr()})
	if _, err := p.Request(t.Context(), 1, markersRequest()); !errors.Is(err, ErrBroken) {
		t.Fatalf("request cut midway: %v", err)
	}
	r.set(1, after.addr())
	for range 2 {
		resp, err := p.Request(t.Context(), 1, markersRequest())
		if err != nil {
			t.Fatal(err)
		}
		checkMarkersAnswer(t, resp)
	}
	if n := after.accepted.Load(); n != 1 {
		t.Fatalf("%d connections to the new address, want 1", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls != 2 {
		t.Fatalf("%d address lookups, want one per dial", r.calls)
	}
}

// TestPoolWaitingRequestLeavesOnCancel: a request queued behind one the
// broker never answers leaves when its ctx ends, never reaching the
// broker; Close then ends the one in flight, and later requests fail.
func TestPoolWaitingRequestLeavesOnCancel(t *testing.T) {
	b := startFakeBroker(t, serving(hang))
	p, _ := newTestPool(t, map[int32]string{1: b.addr()})
	errs := make(chan error, 2)
	request := func(ctx context.Context) {
		_, err := p.Request(ctx, 1, markersRequest())
		errs <- err
	}
	go request(t.Context())
	<-b.received // ApiVersions
	<-b.received // the first request reached the broker
	waiting, cancel := context.WithCancel(t.Context())
	go request(waiting)
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting request: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, ErrBroken) {
		t.Fatalf("request in flight at Close: %v", err)
	}
	if _, err := p.Request(t.Context(), 1, markersRequest()); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("request after Close: %v", err)
	}
	if n := len(b.received); n != 0 {
		t.Fatalf("the broker read %d more requests", n)
	}
}

// TestPoolRequestTimeout: WithRequestTimeout bounds the wait for an answer.
func TestPoolRequestTimeout(t *testing.T) {
	b := startFakeBroker(t, serving(hang))
	p, _ := newTestPool(t, map[int32]string{1: b.addr()}, WithRequestTimeout(20*time.Millisecond))
	if _, err := p.Request(t.Context(), 1, markersRequest()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered request: %v", err)
	}
}

// TestPoolUnknownBroker: a broker the resolver does not know fails the
// request, with the resolver's error.
func TestPoolUnknownBroker(t *testing.T) {
	p, _ := newTestPool(t, map[int32]string{})
	if _, err := p.Request(t.Context(), 7, markersRequest()); err == nil {
		t.Fatal("request to an unknown broker succeeded")
	}
}

// TestPoolConcurrentRequests: many goroutines share the Pool; each broker
// gets one connection and every request its own answer.
func TestPoolConcurrentRequests(t *testing.T) {
	brokers := []*fakeBroker{startFakeBroker(t, serving(answerMarkers)), startFakeBroker(t, serving(answerMarkers))}
	p, _ := newTestPool(t, map[int32]string{0: brokers[0].addr(), 1: brokers[1].addr()})
	var wg sync.WaitGroup
	errs := make(chan error, 8*10)
	for g := range 8 {
		wg.Go(func() {
			for range 10 {
				resp, err := p.Request(t.Context(), int32(g%2), markersRequest())
				if err == nil && len(resp.(*kmsg.WriteTxnMarkersResponse).Markers) != 1 {
					err = fmt.Errorf("answer %+v", resp)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, b := range brokers {
		if n := b.accepted.Load(); n != 1 {
			t.Errorf("broker %d: %d connections, want 1", i, n)
		}
	}
}
