// Package kwire holds the few pieces of Kafka's wire format that kmsg does
// not expose for frames read by hand: the tagged-field section of request
// and response headers. Message bodies are kmsg's.
package kwire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxHeaderTaggedFields bounds the tagged fields of one header. Kafka
// defines none for request or response headers but a few for KRaft; any
// sane peer sends a handful at most.
const MaxHeaderTaggedFields = 64

// SkipTaggedFields reads a tagged-field section (an unsigned varint count,
// then per field its tag and size as unsigned varints and its bytes) and
// returns what follows it. Tags must be unique and ascending, as the
// protocol requires; no field may reach past b.
func SkipTaggedFields(b []byte) ([]byte, error) {
	n, used := binary.Uvarint(b)
	if used <= 0 {
		return nil, errors.New("bad tagged field count")
	}
	if n > MaxHeaderTaggedFields {
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
