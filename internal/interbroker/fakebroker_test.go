package interbroker

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/kwire"
)

// fakeBroker is a broker on a loopback port speaking Kafka framing: it
// reads request frames, decodes them with kmsg and answers each with what
// handle returns. It serves any number of connections, one goroutine each;
// the test's cleanup closes them all and waits for every goroutine.
type fakeBroker struct {
	t        *testing.T
	ln       net.Listener
	handle   func(received) reply
	received chan received // every request decoded, in arrival order
	accepted atomic.Int32
	done     chan struct{}
	wg       sync.WaitGroup

	mu struct {
		sync.Mutex
		conns []net.Conn
	}
}

// received is one request as the broker read it.
type received struct {
	conn         int32 // the connection it came on, from 1
	key, version int16
	clientID     string
	req          kmsg.Request
}

// reply is how the broker answers a request. The zero reply is no answer:
// the request waits.
type reply struct {
	resp   kmsg.Response // sent at its own version with the request's correlation id
	raw    []byte        // written as is instead: a frame, or part of one
	hangUp bool          // close the connection after writing
}

func startFakeBroker(t *testing.T, handle func(received) reply) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBroker{t: t, ln: ln, handle: handle, received: make(chan received, 256), done: make(chan struct{})}
	b.wg.Go(b.accept)
	t.Cleanup(b.stop)
	return b
}

func (b *fakeBroker) addr() string { return b.ln.Addr().String() }

func (b *fakeBroker) stop() {
	close(b.done)
	_ = b.ln.Close()
	b.mu.Lock()
	for _, c := range b.mu.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *fakeBroker) accept() {
	for {
		conn, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		select {
		case <-b.done:
			_ = conn.Close()
		default:
			b.mu.conns = append(b.mu.conns, conn)
			n := b.accepted.Add(1)
			b.wg.Go(func() { b.serve(n, conn) })
		}
		b.mu.Unlock()
	}
}

// serve answers the requests of one connection until it closes.
func (b *fakeBroker) serve(n int32, conn net.Conn) {
	defer conn.Close()
	for {
		r, correlation, err := readRequest(conn)
		if err != nil {
			return
		}
		r.conn = n
		select {
		case b.received <- r:
		case <-b.done:
			return
		}
		rep := b.handle(r)
		out := rep.raw
		if rep.resp != nil {
			out = responseFrame(r.key, correlation, rep.resp)
		}
		if _, err := conn.Write(out); err != nil || rep.hangUp {
			return
		}
	}
}

// readRequest reads one request frame and decodes its header and body.
func readRequest(conn net.Conn) (received, []byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return received{}, nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 10 || n > 1<<20 {
		return received{}, nil, fmt.Errorf("request of %d bytes", n)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(conn, frame); err != nil {
		return received{}, nil, err
	}
	r := received{key: int16(binary.BigEndian.Uint16(frame)), version: int16(binary.BigEndian.Uint16(frame[2:]))}
	correlation := frame[4:8]
	idLen := max(int(int16(binary.BigEndian.Uint16(frame[8:]))), 0)
	if 10+idLen > len(frame) {
		return received{}, nil, fmt.Errorf("client id of %d bytes", idLen)
	}
	r.clientID = string(frame[10 : 10+idLen])
	body := frame[10+idLen:]
	if r.req = kmsg.RequestForKey(r.key); r.req == nil {
		return received{}, nil, fmt.Errorf("unknown key %d", r.key)
	}
	r.req.SetVersion(r.version)
	if r.req.IsFlexible() {
		var err error
		if body, err = kwire.SkipTaggedFields(body); err != nil {
			return received{}, nil, err
		}
	}
	return r, correlation, r.req.ReadFrom(body)
}

// responseFrame frames resp with its header: v1 (tagged fields) when the
// response is flexible, except ApiVersions, which always has v0.
func responseFrame(key int16, correlation []byte, resp kmsg.Response) []byte {
	out := append([]byte{0, 0, 0, 0}, correlation...)
	if resp.IsFlexible() && key != kmsg.ApiVersions.Int16() {
		out = append(out, 0) // no tagged fields
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

// served is what the fake brokers serve unless a test says otherwise:
// key to {min, max} version.
var served = map[int16][2]int16{
	kmsg.ApiVersions.Int16():     {0, 3},
	kmsg.WriteTxnMarkers.Int16(): {0, 1},
}

// apiVersions answers ApiVersions at version with the given keys.
func apiVersions(version, errCode int16, keys map[int16][2]int16) reply {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version, resp.ErrorCode = version, errCode
	for k, v := range keys {
		key := kmsg.NewApiVersionsResponseApiKey()
		key.ApiKey, key.MinVersion, key.MaxVersion = k, v[0], v[1]
		resp.ApiKeys = append(resp.ApiKeys, key)
	}
	return reply{resp: resp}
}

// markersRequest asks for a commit marker of producer 42 on one partition.
func markersRequest() *kmsg.WriteTxnMarkersRequest {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = 42, 3, true, 7
	topic := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	topic.Topic, topic.Partitions = "orders", []int32{2}
	m.Topics = append(m.Topics, topic)
	req.Markers = append(req.Markers, m)
	return req
}

// markersAnswer answers a WriteTxnMarkers request for every partition it
// names, with errCode.
func markersAnswer(r received, errCode int16) reply {
	req := r.req.(*kmsg.WriteTxnMarkersRequest)
	resp := kmsg.NewPtrWriteTxnMarkersResponse()
	resp.Version = r.version
	for _, m := range req.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition, rp.ErrorCode = p, errCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return reply{resp: resp}
}

// serving answers ApiVersions with served and WriteTxnMarkers with other.
func serving(other func(received) reply) func(received) reply {
	return func(r received) reply {
		if r.key == kmsg.ApiVersions.Int16() {
			return apiVersions(r.version, 0, served)
		}
		return other(r)
	}
}

func answerMarkers(r received) reply { return markersAnswer(r, 0) }

func hang(received) reply { return reply{} }

// halfFrameThenHangUp announces a 100-byte response, sends 10 bytes of it
// and closes the connection.
func halfFrameThenHangUp(received) reply {
	return reply{raw: append([]byte{0, 0, 0, 100}, make([]byte, 10)...), hangUp: true}
}

// checkMarkersAnswer checks an answer to markersRequest.
func checkMarkersAnswer(t *testing.T, resp kmsg.Response) {
	t.Helper()
	m, ok := resp.(*kmsg.WriteTxnMarkersResponse)
	if !ok || len(m.Markers) != 1 || m.Markers[0].ProducerID != 42 || len(m.Markers[0].Topics) != 1 {
		t.Fatalf("answer %+v", resp)
	}
	topic := m.Markers[0].Topics[0]
	if topic.Topic != "orders" || len(topic.Partitions) != 1 || topic.Partitions[0].Partition != 2 {
		t.Fatalf("answer topic %+v", topic)
	}
	if err := kerr.ErrorForCode(topic.Partitions[0].ErrorCode); err != nil {
		t.Fatalf("answer error %v", err)
	}
}
