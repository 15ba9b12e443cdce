// Package controllerwire is what a client of a controller listener needs
// without linking the metadata quorum itself: how a connection names its
// protocol, the forwarding protocol's frames, the quorum's status as the
// leader reports it, and DescribeQuorum, which `fjord cluster status` calls.
// Package metadata serves the same protocol and uses this package for it.
//
// A connection to a controller listener starts with one byte naming its
// stream: StreamRaft carries hashicorp/raft's transport, StreamForward the
// forwarding protocol, one request per connection:
//
//	request:  uint32 length (big endian) | JSON request
//	response: uint32 length (big endian) | JSON response
//
// Frames are bounded by MaxFrameBytes; a reader grows its buffer with the
// bytes that arrive, never from the length field alone, and decodes
// strictly (no unknown fields, nothing after the value).
package controllerwire

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Stream kinds, the first byte a dialer writes.
const (
	StreamRaft    byte = 'R'
	StreamForward byte = 'F'
)

// MaxFrameBytes bounds one frame: the largest metadata batch (a topic with
// the most partitions and explicit assignments) fits.
const MaxFrameBytes = 64 << 20

// ErrFrameTooLarge is returned for a frame whose length exceeds
// MaxFrameBytes.
var ErrFrameTooLarge = errors.New("controllerwire: frame exceeds the limit")

// Dial connects to a controller listener at addr and names the stream.
func Dial(addr string, stream byte, timeout time.Duration) (net.Conn, error) {
	return DialTLS(addr, stream, timeout, nil)
}

// DialTLS is Dial over TLS when tlsConfig is not nil: the stream byte is
// the first thing written inside the TLS session, and the handshake counts
// against timeout.
func DialTLS(addr string, stream byte, timeout time.Duration, tlsConfig *tls.Config) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if tlsConfig != nil {
		tc := tls.Client(c, tlsConfig)
		_ = c.SetDeadline(time.Now().Add(timeout))
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake with controller %s: %w", addr, err)
		}
		_ = c.SetDeadline(time.Time{})
		c = tc
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{stream}); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}

// WriteFrame writes v as one JSON frame.
func WriteFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > MaxFrameBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(b), MaxFrameBytes)
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// ReadFrame reads one JSON frame into v.
func ReadFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size > MaxFrameBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, size, MaxFrameBytes)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return err
	}
	if len(b) != int(size) {
		return io.ErrUnexpectedEOF
	}
	return StrictUnmarshal(b, v)
}

// StrictUnmarshal decodes one JSON value that must use only v's fields and
// be all of b.
func StrictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// QuorumStatus describes the metadata quorum as its leader sees it, the
// content of Kafka's DescribeQuorum plus the brokers, for `fjord cluster
// status`.
type QuorumStatus struct {
	ClusterID string `json:"clusterId"`
	LeaderID  int32  `json:"leaderId"`
	Term      uint64 `json:"term"` // Kafka's leader epoch
	// HighWatermark is the leader's commit index.
	HighWatermark uint64          `json:"highWatermark"`
	Voters        []ReplicaStatus `json:"voters"`
	Observers     []ReplicaStatus `json:"observers"`
	Brokers       []BrokerStatus  `json:"brokers"`
}

// ReplicaStatus is one member of the Raft configuration.
type ReplicaStatus struct {
	NodeID int32  `json:"nodeId"`
	Addr   string `json:"addr"`
	// Reachable: the node answered the leader's status request.
	Reachable    bool   `json:"reachable"`
	LastLogIndex uint64 `json:"lastLogIndex"`
	// Lag is the leader's last log index minus this node's; -1 if unknown.
	Lag int64 `json:"lag"`
}

// BrokerStatus is one registered broker.
type BrokerStatus struct {
	NodeID        int32  `json:"nodeId"`
	Host          string `json:"host"`
	Port          int32  `json:"port"`
	Rack          string `json:"rack,omitempty"`
	Fenced        bool   `json:"fenced"`
	PartitionsLed int    `json:"partitionsLed"`
}

// OpDescribeQuorum names the forwarding protocol's quorum status request.
const OpDescribeQuorum = "describeQuorum"

// MaxHops bounds how many NOT_CONTROLLER redirections DescribeQuorum
// follows: more than the largest quorum means the leader keeps moving.
const MaxHops = 16

// describeQuorumRequest and describeQuorumResponse are the fields of the
// forwarding protocol's request and response that DescribeQuorum uses.
type describeQuorumRequest struct {
	Op        string `json:"op"`
	TimeoutMs int64  `json:"timeoutMs"`
}

type describeQuorumResponse struct {
	ErrorCode    int16         `json:"errorCode,omitempty"`
	ErrorMessage string        `json:"errorMessage,omitempty"`
	LeaderAddr   string        `json:"leaderAddr,omitempty"`
	Offset       uint64        `json:"offset"`
	Quorum       *QuorumStatus `json:"quorum,omitempty"`
}

// DescribeQuorum asks the controller listener at addr (any node of the
// quorum: a follower points to the leader) for the quorum's status.
func DescribeQuorum(ctx context.Context, addr string) (QuorumStatus, error) {
	for range MaxHops {
		resp, err := describeQuorumAt(ctx, addr)
		if err != nil {
			return QuorumStatus{}, fmt.Errorf("asking %s for the quorum: %w", addr, err)
		}
		if resp.ErrorCode == kerr.NotController.Code && resp.LeaderAddr != "" {
			addr = resp.LeaderAddr
			continue
		}
		if resp.ErrorCode != 0 {
			return QuorumStatus{}, fmt.Errorf("%s: %w: %s", addr, kerr.ErrorForCode(resp.ErrorCode), resp.ErrorMessage)
		}
		if resp.Quorum == nil {
			return QuorumStatus{}, fmt.Errorf("%s returned no quorum", addr)
		}
		return *resp.Quorum, nil
	}
	return QuorumStatus{}, fmt.Errorf("no controller leader found from %s", addr)
}

// defaultTimeout bounds a request made without a deadline.
const defaultTimeout = 10 * time.Second

func describeQuorumAt(ctx context.Context, addr string) (describeQuorumResponse, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultTimeout)
	}
	c, err := Dial(addr, StreamForward, time.Until(deadline))
	if err != nil {
		return describeQuorumResponse{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	_ = c.SetDeadline(deadline)
	req := describeQuorumRequest{Op: OpDescribeQuorum, TimeoutMs: max(time.Until(deadline).Milliseconds(), 1)}
	if err := WriteFrame(c, req); err != nil {
		return describeQuorumResponse{}, err
	}
	var resp describeQuorumResponse
	if err := ReadFrame(c, &resp); err != nil {
		return describeQuorumResponse{}, err
	}
	return resp, nil
}
