package server

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// requestHeader is Kafka's request header (v1, or v2 with tagged fields for
// flexible versions). kmsg has no type for it, so it is read here.
type requestHeader struct {
	apiKey        int16
	apiVersion    int16
	correlationID int32
	clientID      string
}

var errShortHeader = errors.New("request header truncated")

// maxTaggedFields bounds tagged fields in a header; Kafka defines none for
// requests today, so any sane client sends zero.
const maxTaggedFields = 64

// parseRequestHeader splits a frame into its header and body. Whether the
// header has tagged fields depends on the API version, which kmsg knows.
func parseRequestHeader(frame []byte) (requestHeader, []byte, error) {
	var h requestHeader
	if len(frame) < 10 {
		return h, nil, errShortHeader
	}
	h.apiKey = int16(binary.BigEndian.Uint16(frame[0:]))
	h.apiVersion = int16(binary.BigEndian.Uint16(frame[2:]))
	h.correlationID = int32(binary.BigEndian.Uint32(frame[4:]))
	idLen := int16(binary.BigEndian.Uint16(frame[8:]))
	rest := frame[10:]
	switch {
	case idLen == -1:
	case idLen < -1 || int(idLen) > len(rest):
		return h, nil, fmt.Errorf("client id length %d with %d bytes left", idLen, len(rest))
	default:
		h.clientID = string(rest[:idLen])
		rest = rest[idLen:]
	}
	if h.apiKey < 0 || h.apiKey > kmsg.MaxKey {
		return h, rest, nil // unknown key: the caller closes the connection
	}
	req := kmsg.RequestForKey(h.apiKey)
	if req == nil {
		return h, rest, nil
	}
	req.SetVersion(h.apiVersion)
	if !req.IsFlexible() || h.apiVersion > req.MaxVersion() {
		return h, rest, nil
	}
	rest, err := skipTaggedFields(rest)
	return h, rest, err
}

// skipTaggedFields reads a tagged-field section and returns what follows.
// Tags must be unique and ascending, as the protocol requires.
func skipTaggedFields(b []byte) ([]byte, error) {
	n, used := binary.Uvarint(b)
	if used <= 0 {
		return nil, errors.New("bad tagged field count")
	}
	if n > maxTaggedFields {
		return nil, fmt.Errorf("%d tagged fields in header", n)
	}
	b = b[used:]
	lastTag := int64(-1)
	for range n {
		tag, used := binary.Uvarint(b)
		if used <= 0 || int64(tag) <= lastTag || tag > 1<<31 {
			return nil, errors.New("bad or unordered tag")
		}
		lastTag = int64(tag)
		b = b[used:]
		size, used := binary.Uvarint(b)
		if used <= 0 || size > uint64(len(b)-used) {
			return nil, errors.New("tagged field size past the end")
		}
		b = b[used+int(size):]
	}
	return b, nil
}
