package interbroker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fjordhq/fjord/internal/kwire"
)

// responseHeaderBytes is the smallest response frame: its correlation id.
const responseHeaderBytes = 4

// exchange writes the encoded request and reads one response frame, into
// the reused buffer when the Conn keeps one. The frame's size is checked
// against the limit before anything is allocated.
func (c *Conn) exchange() ([]byte, error) {
	if _, err := c.conn.Write(c.held.request); err != nil {
		return nil, fmt.Errorf("writing to broker at %s: %w", c.addr, err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return nil, fmt.Errorf("reading from broker at %s: %w", c.addr, err)
	}
	n := int64(int32(binary.BigEndian.Uint32(size[:])))
	if n < responseHeaderBytes || n > c.maxResponseBytes {
		return nil, fmt.Errorf("broker at %s sent a %d byte response, outside %d..%d",
			c.addr, n, responseHeaderBytes, c.maxResponseBytes)
	}
	var frame []byte
	if c.held.reuse {
		if int64(cap(c.held.response)) < n {
			c.held.response = make([]byte, n)
		}
		frame = c.held.response[:n]
	} else {
		frame = make([]byte, n)
	}
	if _, err := io.ReadFull(c.conn, frame); err != nil {
		return nil, fmt.Errorf("reading from broker at %s: %w", c.addr, err)
	}
	return frame, nil
}

// parseResponseHeader checks a response's correlation id and returns the
// body after the header (v1 when flexible: tagged fields follow the id).
func parseResponseHeader(frame []byte, correlation int32, flexible bool) ([]byte, error) {
	if len(frame) < responseHeaderBytes {
		return nil, errors.New("response shorter than its header")
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != correlation {
		return nil, fmt.Errorf("response to request %d arrived for request %d", got, correlation)
	}
	rest := frame[responseHeaderBytes:]
	if !flexible {
		return rest, nil
	}
	rest, err := kwire.SkipTaggedFields(rest)
	if err != nil {
		return nil, fmt.Errorf("response header: %w", err)
	}
	return rest, nil
}
