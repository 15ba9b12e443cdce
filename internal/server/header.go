package server

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/kwire"
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
	rest, err := kwire.SkipTaggedFields(rest)
	return h, rest, err
}
