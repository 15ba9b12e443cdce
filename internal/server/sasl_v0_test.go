package server

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handshakeV0 sends a v0 SaslHandshake and reads its answer.
func (c *client) handshakeV0(mechanism string, corr int32) *kmsg.SASLHandshakeResponse {
	c.t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version, req.Mechanism = 0, mechanism
	c.send(req, corr)
	resp := kmsg.NewPtrSASLHandshakeResponse()
	c.read(resp, 0, corr)
	return resp
}

// rawToken writes a bare size-prefixed SASL token, as clients did after a
// v0 handshake, and returns the bare reply, or an error when the
// connection ends instead.
func (c *client) rawToken(token string) ([]byte, error) {
	c.t.Helper()
	if _, err := c.nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(token))), token...)); err != nil {
		c.t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c.br, size[:]); err != nil {
		return nil, err
	}
	reply := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.br, reply)
	return reply, err
}

// TestSASLHandshakeV0RawTokens: after a v0 handshake the PLAIN token comes
// as a bare frame and is answered with an empty bare frame; the connection
// is then authenticated. A wrong password closes the connection, and a v0
// handshake on an authenticated connection (re-authentication, which v0
// cannot do) answers ILLEGAL_SASL_STATE.
func TestSASLHandshakeV0RawTokens(t *testing.T) {
	addr, _, principals := saslServer(t, 0)

	c := dial(t, addr)
	if resp := c.handshakeV0("PLAIN", 1); resp.ErrorCode != 0 {
		t.Fatalf("v0 handshake: error %d", resp.ErrorCode)
	}
	reply, err := c.rawToken("\x00alice\x00alice-secret")
	if err != nil || len(reply) != 0 {
		t.Fatalf("PLAIN token: reply %q, %v; want an empty reply", reply, err)
	}
	if err := c.metadata(2); err != nil {
		t.Fatalf("Metadata after a v0 exchange: %v", err)
	}
	if p := <-principals; p != "User:alice" {
		t.Fatalf("principal %q, want User:alice", p)
	}
	if resp := c.handshakeV0("PLAIN", 3); resp.ErrorCode == 0 {
		t.Fatal("a second v0 handshake was accepted")
	}

	c = dial(t, addr)
	if resp := c.handshakeV0("PLAIN", 1); resp.ErrorCode != 0 {
		t.Fatalf("v0 handshake: error %d", resp.ErrorCode)
	}
	if reply, err := c.rawToken("\x00alice\x00wrong"); err == nil {
		t.Fatalf("a wrong password got the reply %q", reply)
	}
	select {
	case p := <-principals:
		t.Fatalf("a request reached a handler as %s", p)
	default:
	}
}
