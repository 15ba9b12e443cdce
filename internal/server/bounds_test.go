package server

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestAcksZeroProduceIsBoundedInFlight: acks=0 produce requests, which get
// no response, still take a connection's in-flight slots while their work
// runs, so a flood of them starts at most MaxInFlightPerConnection queued
// for the writer, the one the writer waits on and the one the reader holds,
// instead of a goroutine per request.
func TestAcksZeroProduceIsBoundedInFlight(t *testing.T) {
	const inFlight, sent = 8, 200
	var running, most, done atomic.Int64
	started := make(chan struct{}, sent)
	unblock := make(chan struct{})
	routes := apiVersionsRoutes()
	routes[0] = Route{MinVersion: 3, MaxVersion: 13, Handle: func(context.Context, *RequestContext, kmsg.Request) Result {
		return Result{NoResponse: true, Pending: func(ctx context.Context) kmsg.Response {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			started <- struct{}{}
			select {
			case <-unblock:
			case <-ctx.Done():
			}
			running.Add(-1)
			done.Add(1)
			return kmsg.NewPtrProduceResponse()
		}}
	}}
	limits := DefaultLimits()
	limits.MaxInFlightPerConnection = inFlight
	c := dial(t, testServer(t, routes, limits))
	sending := make(chan struct{})
	go func() {
		defer close(sending)
		for i := range sent {
			produce := kmsg.NewPtrProduceRequest()
			produce.Version = 9
			produce.Acks = 0
			c.send(produce, int32(i))
		}
	}()
	for range inFlight {
		<-started
	}
	// Give the flood time to start more than the bound allows, if it can.
	for range 2 {
		select {
		case <-started:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if m := most.Load(); m > inFlight+2 {
		t.Fatalf("%d acks=0 requests running at once, want at most %d", m, inFlight+2)
	}
	close(unblock)
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	<-sending
	waitFor(t, func() bool { return done.Load() == sent }, "every acks=0 request's work to finish")
	c.send(av, sent)
	if corr, _, err := c.receive(); err != nil || corr != sent {
		t.Fatalf("after the acks=0 flood: correlation %d, err %v; want the ApiVersions answer %d", corr, err, sent)
	}
	if m := most.Load(); m > inFlight+2 {
		t.Fatalf("%d acks=0 requests running at once, want at most %d", m, inFlight+2)
	}
}

// TestSlowClientsHoldLittleMemory: clients that announce large frames and
// send none or little of them hold at most one step of the request pool
// each, and a client with a small request is still answered at once.
func TestSlowClientsHoldLittleMemory(t *testing.T) {
	limits := DefaultLimits()
	limits.QueuedMaxRequestBytes = 4 << 20
	addr, srv := testServerWith(t, apiVersionsRoutes(), limits)
	const silent, partial = 40, 40
	for i := range silent + partial {
		c := dial(t, addr)
		hdr := binary.BigEndian.AppendUint32(nil, 50<<20)
		if i >= silent {
			hdr = append(hdr, make([]byte, 1000)...)
		}
		if _, err := c.nc.Write(hdr); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return srv.pool.held() == partial*frameFirstStep }, "the partial frames to take their first step")
	c := dial(t, addr)
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	c.send(av, 7)
	if corr, _, err := c.receive(); err != nil || corr != 7 {
		t.Fatalf("ApiVersions beside slow clients: correlation %d, err %v", corr, err)
	}
	if held := srv.pool.held(); held > partial*frameFirstStep {
		t.Fatalf("pool holds %d bytes, want at most %d (one step per partial frame, none for silent ones)", held, partial*frameFirstStep)
	}
}

// waitFor polls cond, which reads state other goroutines change, until it
// holds or ten seconds pass.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMuteStopsReadingTheConnection: after a response that asks for a
// throttle, the connection's next request waits that long, while other
// connections are served at once.
func TestMuteStopsReadingTheConnection(t *testing.T) {
	const throttle = time.Second
	routes := apiVersionsRoutes()
	routes[3] = Route{MinVersion: 0, MaxVersion: 12, Handle: func(_ context.Context, _ *RequestContext, req kmsg.Request) Result {
		return Result{Response: req.ResponseKind(), Mute: throttle}
	}}
	addr := testServer(t, routes, DefaultLimits())
	c := dial(t, addr)
	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = 9
	c.send(meta, 1)
	if _, _, err := c.receive(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	c.send(av, 2)
	other := dial(t, addr)
	other.send(av, 9)
	if _, _, err := other.receive(); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited >= throttle {
		t.Fatalf("another connection waited %v behind a muted one", waited)
	}
	if _, _, err := c.receive(); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < throttle {
		t.Fatalf("muted connection answered after %v, before its %v throttle", waited, throttle)
	}
}
