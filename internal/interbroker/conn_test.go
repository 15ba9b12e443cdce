package interbroker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const testMaxResponseBytes = 1 << 20

func dial(t *testing.T, b *fakeBroker) *Conn {
	t.Helper()
	c, err := Dial(t.Context(), b.addr(), "broker-1-test", "fjord-test", testMaxResponseBytes, Security{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestDialNegotiatesVersions: each API gets the highest version both sides
// serve; an API the broker serves only above kmsg's versions, one it does
// not list, and one kmsg does not know get none.
func TestDialNegotiatesVersions(t *testing.T) {
	keys := map[int16][2]int16{
		kmsg.ApiVersions.Int16():     {0, 3},
		kmsg.WriteTxnMarkers.Int16(): {0, 99}, // above kmsg's
		kmsg.Fetch.Int16():           {90, 99},
		9999:                         {0, 5},
	}
	b := startFakeBroker(t, func(r received) reply { return apiVersions(r.version, 0, keys) })
	c := dial(t, b)
	r := <-b.received
	req := r.req.(*kmsg.ApiVersionsRequest)
	if r.version != req.MaxVersion() || r.clientID != "broker-1-test" || req.ClientSoftwareName != "fjord-test" {
		t.Fatalf("ApiVersions v%d from %q, software %q", r.version, r.clientID, req.ClientSoftwareName)
	}
	for _, tc := range []struct {
		key     int16
		version int16
		ok      bool
	}{
		{kmsg.ApiVersions.Int16(), 3, true},
		{kmsg.WriteTxnMarkers.Int16(), new(kmsg.WriteTxnMarkersRequest).MaxVersion(), true},
		{kmsg.Fetch.Int16(), 0, false},
		{kmsg.AddPartitionsToTxn.Int16(), 0, false},
		{9999, 0, false},
	} {
		if v, ok := c.Version(tc.key); v != tc.version || ok != tc.ok {
			t.Errorf("%s: v%d %v, want v%d %v", kmsg.NameForKey(tc.key), v, ok, tc.version, tc.ok)
		}
	}
}

// TestDialReadsRefusedApiVersions: a broker that does not serve the
// ApiVersions version asked answers in the v0 layout with
// UNSUPPORTED_VERSION and its ApiVersions range (KIP-511); the client
// asks again at that version.
func TestDialReadsRefusedApiVersions(t *testing.T) {
	b := startFakeBroker(t, func(r received) reply {
		switch {
		case r.key == kmsg.ApiVersions.Int16() && r.version > 3:
			return apiVersions(0, kerr.UnsupportedVersion.Code, map[int16][2]int16{kmsg.ApiVersions.Int16(): {0, 3}})
		case r.key == kmsg.ApiVersions.Int16():
			return apiVersions(r.version, 0, served)
		}
		return answerMarkers(r)
	})
	c := dial(t, b)
	if v, ok := c.Version(kmsg.WriteTxnMarkers.Int16()); v != 1 || !ok {
		t.Fatalf("WriteTxnMarkers v%d %v, want v1", v, ok)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	if err := c.RoundTrip(t.Context(), kmsg.NewPtrApiVersionsRequest(), resp, time.Minute); err != nil || resp.Version != 3 {
		t.Fatalf("ApiVersions again: v%d, %v", resp.Version, err)
	}
}

// TestDialFailsOnApiVersionsError: any other error refuses the connection.
func TestDialFailsOnApiVersionsError(t *testing.T) {
	b := startFakeBroker(t, func(r received) reply { return apiVersions(r.version, kerr.UnknownServerError.Code, served) })
	if _, err := Dial(t.Context(), b.addr(), "x", "x", testMaxResponseBytes, Security{}); !errors.Is(err, kerr.UnknownServerError) {
		t.Fatalf("dial: %v", err)
	}
}

// TestRoundTrip sends WriteTxnMarkers at the negotiated version twice and
// checks what the broker read and what came back; a request the broker
// does not serve fails without harming the connection.
func TestRoundTrip(t *testing.T) {
	b := startFakeBroker(t, serving(answerMarkers))
	c := dial(t, b)
	<-b.received // ApiVersions
	for range 2 {
		resp := kmsg.NewPtrWriteTxnMarkersResponse()
		if err := c.RoundTrip(t.Context(), markersRequest(), resp, time.Minute); err != nil {
			t.Fatal(err)
		}
		checkMarkersAnswer(t, resp)
		r := <-b.received
		m := r.req.(*kmsg.WriteTxnMarkersRequest).Markers
		if r.version != 1 || len(m) != 1 || m[0].ProducerID != 42 || !m[0].Committed || m[0].CoordinatorEpoch != 7 {
			t.Fatalf("broker read v%d %+v", r.version, m)
		}
	}
	resp := kmsg.NewPtrAddPartitionsToTxnResponse()
	err := c.RoundTrip(t.Context(), kmsg.NewPtrAddPartitionsToTxnRequest(), resp, time.Minute)
	if !errors.Is(err, kerr.UnsupportedVersion) || errors.Is(err, ErrBroken) {
		t.Fatalf("unserved API: %v", err)
	}
	if err := c.RoundTrip(t.Context(), markersRequest(), kmsg.NewPtrWriteTxnMarkersResponse(), time.Minute); err != nil {
		t.Fatalf("after the unserved API: %v", err)
	}
}

// TestBrokenAfterServerClosesMidway: a broker that hangs up in the middle
// of a response fails the request, and every later one, with ErrBroken.
func TestBrokenAfterServerClosesMidway(t *testing.T) {
	b := startFakeBroker(t, serving(halfFrameThenHangUp))
	c := dial(t, b)
	for i := range 2 {
		err := c.RoundTrip(t.Context(), markersRequest(), kmsg.NewPtrWriteTxnMarkersResponse(), time.Minute)
		if !errors.Is(err, ErrBroken) {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := len(b.received); n != 2 {
		t.Fatalf("the broker read %d requests, want ApiVersions and one WriteTxnMarkers", n)
	}
}

// TestCancelUnblocksRoundTrip: a broker that never answers holds a request
// only until its ctx ends, and a caller waiting its turn leaves when its
// own ctx ends; the connection is then broken.
func TestCancelUnblocksRoundTrip(t *testing.T) {
	b := startFakeBroker(t, serving(hang))
	c := dial(t, b)
	<-b.received // ApiVersions
	inFlight, cancelInFlight := context.WithCancel(t.Context())
	waiting, cancelWaiting := context.WithCancel(t.Context())
	errs := make(chan error, 2)
	roundTrip := func(ctx context.Context) {
		errs <- c.RoundTrip(ctx, markersRequest(), kmsg.NewPtrWriteTxnMarkersResponse(), time.Minute)
	}
	go roundTrip(inFlight)
	<-b.received // the first request reached the broker and holds the turn
	go roundTrip(waiting)
	cancelWaiting()
	if err := <-errs; !errors.Is(err, context.Canceled) || errors.Is(err, ErrBroken) {
		t.Fatalf("waiting request: %v", err)
	}
	cancelInFlight()
	if err := <-errs; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrBroken) {
		t.Fatalf("request in flight: %v", err)
	}
	if err := c.RoundTrip(t.Context(), markersRequest(), kmsg.NewPtrWriteTxnMarkersResponse(), time.Minute); !errors.Is(err, ErrBroken) {
		t.Fatalf("request on a broken connection: %v", err)
	}
}

// TestRoundTripTimeout: a broker that never answers holds a request for
// its timeout.
func TestRoundTripTimeout(t *testing.T) {
	b := startFakeBroker(t, serving(hang))
	c := dial(t, b)
	err := c.RoundTrip(t.Context(), markersRequest(), kmsg.NewPtrWriteTxnMarkersResponse(), 20*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrBroken) {
		t.Fatalf("request past its timeout: %v", err)
	}
}

// TestRefusesOversizedResponse: a frame size over the limit, negative, or
// smaller than a header is refused before anything is read or allocated.
func TestRefusesOversizedResponse(t *testing.T) {
	for _, size := range [][]byte{{0, 0x10, 0, 1}, {0x80, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 3}} {
		b := startFakeBroker(t, serving(func(received) reply { return reply{raw: size} }))
		c := dial(t, b)
		err := c.RoundTrip(t.Context(), markersRequest(), kmsg.NewPtrWriteTxnMarkersResponse(), time.Minute)
		if !errors.Is(err, ErrBroken) {
			t.Fatalf("frame size %x: %v", size, err)
		}
	}
}

// TestResponseBuffer: each response has its own buffer until the Conn is
// told to reuse one; then the byte fields of a response alias the last
// one's.
func TestResponseBuffer(t *testing.T) {
	keys := map[int16][2]int16{kmsg.ApiVersions.Int16(): {0, 3}, kmsg.Fetch.Int16(): {0, 16}}
	b := startFakeBroker(t, func(r received) reply {
		if r.key == kmsg.ApiVersions.Int16() {
			return apiVersions(r.version, 0, keys)
		}
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = r.version
		topic := kmsg.NewFetchResponseTopic()
		p := kmsg.NewFetchResponseTopicPartition()
		p.RecordBatches = []byte("records")
		topic.Partitions = append(topic.Partitions, p)
		resp.Topics = append(resp.Topics, topic)
		return reply{resp: resp}
	})
	c := dial(t, b)
	records := func() *byte {
		t.Helper()
		resp := kmsg.NewPtrFetchResponse()
		if err := c.RoundTrip(t.Context(), kmsg.NewPtrFetchRequest(), resp, time.Minute); err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || string(resp.Topics[0].Partitions[0].RecordBatches) != "records" {
			t.Fatalf("answer %+v", resp.Topics)
		}
		return &resp.Topics[0].Partitions[0].RecordBatches[0]
	}
	if records() == records() {
		t.Fatal("two responses share a buffer")
	}
	c.ReuseResponseBuffer()
	if records() != records() {
		t.Fatal("the second response did not reuse the first one's buffer")
	}
}
