package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/interbroker"
)

// wireLeader is a scripted leader on a loopback port: it reads Kafka
// request frames and answers each with what answer returns, framed with
// the request's correlation id (nil: no answer, the request hangs).
type wireLeader struct {
	t        *testing.T
	ln       net.Listener
	answer   func(key, version int16, clientID string) (body []byte, flexibleHeader bool)
	clientID chan string
}

func startWireLeader(t *testing.T, answer func(key, version int16, clientID string) ([]byte, bool)) *wireLeader {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &wireLeader{t: t, ln: ln, answer: answer, clientID: make(chan string, 16)}
	done := make(chan struct{})
	go l.serve(done)
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return l
}

func (l *wireLeader) serve(done chan struct{}) {
	defer close(done)
	conn, err := l.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	// Unblock the reads below when the test ends.
	go func() { <-l.t.Context().Done(); _ = conn.Close() }()
	for {
		var size [4]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(conn, frame); err != nil {
			return
		}
		key, version := int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:]))
		correlation := frame[4:8]
		idLen := int(int16(binary.BigEndian.Uint16(frame[8:])))
		clientID := string(frame[10 : 10+max(idLen, 0)])
		l.clientID <- clientID
		body, flexible := l.answer(key, version, clientID)
		if body == nil {
			continue
		}
		out := append([]byte{0, 0, 0, 0}, correlation...)
		if flexible {
			out = append(out, 0) // no tagged fields
		}
		out = append(out, body...)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// apiVersionsBody answers ApiVersions at version with the given keys.
func apiVersionsBody(version int16, errCode int16, keys map[int16]int16) []byte {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version, resp.ErrorCode = version, errCode
	for k, v := range keys {
		key := kmsg.NewApiVersionsResponseApiKey()
		key.ApiKey, key.MinVersion, key.MaxVersion = k, 0, v
		resp.ApiKeys = append(resp.ApiKeys, key)
	}
	return resp.AppendTo(nil)
}

var leaderVersions = map[int16]int16{kmsg.Fetch.Int16(): 16, kmsg.OffsetForLeaderEpoch.Int16(): 4, kmsg.ApiVersions.Int16(): 3}

// fetchBody answers a Fetch for topic id {1} partition 0 with records.
func fetchBody(version int16, records []byte) []byte {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = version
	topic := kmsg.NewFetchResponseTopic()
	topic.Topic, topic.TopicID = "a", [16]byte{1}
	p := kmsg.NewFetchResponseTopicPartition()
	p.Partition, p.HighWatermark, p.RecordBatches = 0, 10, records
	topic.Partitions = append(topic.Partitions, p)
	resp.Topics = append(resp.Topics, topic)
	return resp.AppendTo(nil)
}

func oneFetch() *FetchRequest {
	return &FetchRequest{ReplicaID: 7, ReplicaEpoch: -1, MaxWait: 10 * time.Millisecond, MinBytes: 1, MaxBytes: 1 << 20,
		Partitions: []FetchPartition{{TopicPartition: TopicPartition{Topic: "a", TopicID: [16]byte{1}}, PartitionMaxBytes: 1 << 20}}}
}

func dialWireLeader(t *testing.T, l *wireLeader, maxRead int64) *wireLeaderClient {
	t.Helper()
	c, err := dialLeader(t.Context(), l.ln.Addr().String(), "broker-7-fetcher", maxRead, interbroker.Security{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestWireClientFetchReusesItsBuffer negotiates versions, fetches twice and
// checks that the records arrive intact, the client names itself, and the
// second response lands in the first one's buffer.
func TestWireClientFetchReusesItsBuffer(t *testing.T) {
	records := bytes.Repeat([]byte("r"), 4096)
	l := startWireLeader(t, func(key, version int16, _ string) ([]byte, bool) {
		switch key {
		case kmsg.ApiVersions.Int16():
			return apiVersionsBody(version, 0, leaderVersions), false
		case kmsg.Fetch.Int16():
			return fetchBody(version, records), version >= 12
		}
		return nil, false
	})
	c := dialWireLeader(t, l, 1<<20)
	if v, _ := c.conn.Version(kmsg.Fetch.Int16()); v != 16 {
		t.Fatalf("negotiated Fetch v%d, want v16", v)
	}
	var first *byte
	for i := range 2 {
		resp, err := c.Fetch(t.Context(), oneFetch())
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Partitions) != 1 || !bytes.Equal(resp.Partitions[0].Records, records) || resp.Partitions[0].HighWatermark != 10 {
			t.Fatalf("fetch %d: %+v", i, resp.Partitions)
		}
		if i == 0 {
			first = &resp.Partitions[0].Records[0]
		} else if &resp.Partitions[0].Records[0] != first {
			t.Fatal("the second response did not reuse the first one's buffer")
		}
	}
	for range 3 {
		if id := <-l.clientID; id != "broker-7-fetcher" {
			t.Fatalf("client id %q", id)
		}
	}
}

// TestWireClientReadsRefusedApiVersions: a leader that does not serve the
// ApiVersions version asked answers in the v0 layout with
// UNSUPPORTED_VERSION and its ApiVersions range (KIP-511); the client asks
// again at that version and uses what it answers.
func TestWireClientReadsRefusedApiVersions(t *testing.T) {
	l := startWireLeader(t, func(key, version int16, _ string) ([]byte, bool) {
		switch {
		case key == kmsg.ApiVersions.Int16() && version > 3:
			return apiVersionsBody(0, kerr.UnsupportedVersion.Code, map[int16]int16{kmsg.ApiVersions.Int16(): 3}), false
		case key == kmsg.ApiVersions.Int16():
			return apiVersionsBody(version, 0, leaderVersions), false
		}
		return nil, false
	})
	c := dialWireLeader(t, l, 1<<20)
	if v, _ := c.conn.Version(kmsg.OffsetForLeaderEpoch.Int16()); v != 4 {
		t.Fatalf("negotiated OffsetForLeaderEpoch v%d, want v4", v)
	}
}

// TestWireClientRefusesLeaderWithoutFetch: a broker that serves no Fetch
// cannot be followed.
func TestWireClientRefusesLeaderWithoutFetch(t *testing.T) {
	l := startWireLeader(t, func(key, version int16, _ string) ([]byte, bool) {
		return apiVersionsBody(version, 0, map[int16]int16{kmsg.ApiVersions.Int16(): 3}), false
	})
	if _, err := dialLeader(t.Context(), l.ln.Addr().String(), "x", 1<<20, interbroker.Security{}); err == nil {
		t.Fatal("dial succeeded against a leader without Fetch")
	}
}

// TestWireClientCancelUnblocksFetch: a leader that never answers holds the
// fetch only until ctx ends; the connection is then broken for good.
func TestWireClientCancelUnblocksFetch(t *testing.T) {
	l := startWireLeader(t, func(key, version int16, _ string) ([]byte, bool) {
		if key == kmsg.ApiVersions.Int16() {
			return apiVersionsBody(version, 0, leaderVersions), false
		}
		return nil, false
	})
	c := dialWireLeader(t, l, 1<<20)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Fetch(ctx, oneFetch())
		errc <- err
	}()
	<-l.clientID // ApiVersions
	<-l.clientID // the fetch reached the leader
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled fetch: %v", err)
	}
	if _, err := c.Fetch(t.Context(), oneFetch()); !errors.Is(err, ErrLeaderConnBroken) {
		t.Fatalf("fetch on a broken connection: %v", err)
	}
}

// TestWireClientRefusesOversizedResponse: a response larger than the read
// limit is refused before it is read.
func TestWireClientRefusesOversizedResponse(t *testing.T) {
	l := startWireLeader(t, func(key, version int16, _ string) ([]byte, bool) {
		if key == kmsg.ApiVersions.Int16() {
			return apiVersionsBody(version, 0, leaderVersions), false
		}
		return fetchBody(version, make([]byte, 8192)), true
	})
	c := dialWireLeader(t, l, 4096)
	if _, err := c.Fetch(t.Context(), oneFetch()); err == nil {
		t.Fatal("an 8 KiB response passed a 4 KiB limit")
	}
}
