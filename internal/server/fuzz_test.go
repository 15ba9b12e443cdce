package server

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzRequestDecode feeds arbitrary frames through header parsing and kmsg
// decoding of every API the protocol defines, as the reader does. Neither
// may panic, whatever the bytes.
func FuzzRequestDecode(f *testing.F) {
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil {
			continue
		}
		for _, v := range []int16{0, req.MaxVersion()} {
			req.SetVersion(v)
			frame := binary.BigEndian.AppendUint16(nil, uint16(key))
			frame = binary.BigEndian.AppendUint16(frame, uint16(v))
			frame = binary.BigEndian.AppendUint32(frame, 1)
			frame = binary.BigEndian.AppendUint16(frame, 0xffff)
			if req.IsFlexible() {
				frame = append(frame, 0)
			}
			f.Add(req.AppendTo(frame))
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		hdr, body, err := parseRequestHeader(frame)
		if err != nil {
			return
		}
		req := kmsg.RequestForKey(hdr.apiKey)
		if req == nil || hdr.apiVersion < 0 || hdr.apiVersion > req.MaxVersion() {
			return
		}
		req.SetVersion(hdr.apiVersion)
		_ = req.ReadFrom(body)
	})
}
