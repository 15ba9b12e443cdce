package e2e

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/kwire"
)

// wireTimeout bounds one raw read or write; a broker that neither answers
// nor closes within it fails the test instead of hanging it.
const wireTimeout = 20 * time.Second

// maxResponseBytes caps a response frame this harness will read, so a
// broken size prefix cannot make the test allocate gigabytes.
const maxResponseBytes = 64 << 20

// wireConn is one raw Kafka connection: frames written and read by hand,
// bodies encoded and decoded with kmsg.
type wireConn struct {
	t             *testing.T
	conn          net.Conn
	correlationID int32
}

func dialWire(t *testing.T, addr string) *wireConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wireTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wireConn{t: t, conn: conn}
}

// writeFrame writes a size prefix and payload.
func (c *wireConn) writeFrame(payload []byte) error {
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	frame = append(frame, payload...)
	_ = c.conn.SetWriteDeadline(time.Now().Add(wireTimeout))
	_, err := c.conn.Write(frame)
	return err
}

// header is a request header v1, or v2 (with an empty tagged field section)
// when flexible.
func (c *wireConn) header(key, version int16, flexible bool) []byte {
	c.correlationID++
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(c.correlationID))
	const clientID = "fjord-e2e"
	b = binary.BigEndian.AppendUint16(b, uint16(len(clientID)))
	b = append(b, clientID...)
	if flexible {
		b = append(b, 0)
	}
	return b
}

// send writes req at its version with a correct header.
func (c *wireConn) send(req kmsg.Request) {
	c.t.Helper()
	payload := c.header(req.Key(), req.GetVersion(), req.IsFlexible())
	payload = req.AppendTo(payload)
	if err := c.writeFrame(payload); err != nil {
		c.t.Fatalf("write %T v%d: %v", req, req.GetVersion(), err)
	}
}

// readFrame reads one response frame.
func (c *wireConn) readFrame() ([]byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(wireTimeout))
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > maxResponseBytes {
		return nil, fmt.Errorf("response frame of %d bytes", n)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(c.conn, frame); err != nil {
		return nil, err
	}
	return frame, nil
}

// readResponse reads the response to the last request, whose header is v0
// (or v1 with tagged fields when flexible, except for ApiVersions, which
// always answers with v0 so that any client can read it), and decodes it as
// version of resp's kind.
func (c *wireConn) readResponse(key, version int16, flexible bool) kmsg.Response {
	c.t.Helper()
	frame, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read response to key %d v%d: %v", key, version, err)
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != c.correlationID {
		c.t.Fatalf("response correlation id %d, want %d", got, c.correlationID)
	}
	body := frame[4:]
	if flexible && key != 18 {
		body, err = kwire.SkipTaggedFields(body)
		if err != nil {
			c.t.Fatalf("response header to key %d v%d: %v", key, version, err)
		}
	}
	resp := kmsg.ResponseForKey(key)
	resp.SetVersion(version)
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decode %T v%d: %v", resp, version, err)
	}
	return resp
}

// roundTrip sends req and decodes its response.
func (c *wireConn) roundTrip(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	c.send(req)
	return c.readResponse(req.Key(), req.GetVersion(), req.IsFlexible())
}

// expectClosed fails unless the broker closes the connection (EOF or reset)
// without sending a response.
func (c *wireConn) expectClosed(what string) {
	c.t.Helper()
	frame, err := c.readFrame()
	switch {
	case err == nil:
		c.t.Errorf("%s: broker answered (%d bytes) instead of closing the connection", what, len(frame))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
	case isTimeout(err):
		c.t.Errorf("%s: connection still open after %v", what, wireTimeout)
	default:
		// A reset by peer is a close too.
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// batchCodecs fetches partition of topic from offset 0 (Fetch v11, by topic
// name) and returns the compression codec of every stored batch, read from
// its attributes: fjord stores the producer's batches as they arrived.
func batchCodecs(t *testing.T, addr, topic string, partition int32) []int16 {
	t.Helper()
	c := dialWire(t, addr)
	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	req.ReplicaID = -1
	req.MaxWaitMillis = 0
	req.MaxBytes = 32 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.PartitionMaxBytes = 16 << 20
	rp.LogStartOffset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := c.roundTrip(req).(*kmsg.FetchResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch %s/%d: unexpected response shape %+v", topic, partition, resp)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch %s/%d: error code %d", topic, partition, p.ErrorCode)
	}
	var codecs []int16
	for b := p.RecordBatches; len(b) >= 12; {
		size := 12 + int(int32(binary.BigEndian.Uint32(b[8:12])))
		if size > len(b) {
			break // a partial batch at the end of a fetch is allowed
		}
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(b[:size]); err != nil {
			t.Fatalf("fetch %s/%d: stored batch: %v", topic, partition, err)
		}
		codecs = append(codecs, batch.Attributes&0x7)
		b = b[size:]
	}
	if len(codecs) == 0 {
		t.Fatalf("fetch %s/%d: no batches", topic, partition)
	}
	return codecs
}
