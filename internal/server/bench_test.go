package server

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkDecodeProduceRequest measures what the reader does per produce
// frame: the request header and kmsg's decoding of a request carrying 16
// partitions of 64 KiB record batches. Record bytes are not copied.
func BenchmarkDecodeProduceRequest(b *testing.B) {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 11
	req.Acks = -1
	topic := kmsg.NewProduceRequestTopic()
	topic.Topic = "bench"
	for p := int32(0); p < 16; p++ {
		part := kmsg.NewProduceRequestTopicPartition()
		part.Partition = p
		part.Records = make([]byte, 64<<10)
		topic.Partitions = append(topic.Partitions, part)
	}
	req.Topics = append(req.Topics, topic)
	frame := binary.BigEndian.AppendUint16(nil, 0)
	frame = binary.BigEndian.AppendUint16(frame, uint16(req.Version))
	frame = binary.BigEndian.AppendUint32(frame, 1)
	frame = binary.BigEndian.AppendUint16(frame, 0xffff)
	frame = append(frame, 0) // v11 is flexible: empty tagged fields
	frame = req.AppendTo(frame)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		hdr, body, err := parseRequestHeader(frame)
		if err != nil {
			b.Fatal(err)
		}
		decoded := kmsg.RequestForKey(hdr.apiKey)
		decoded.SetVersion(hdr.apiVersion)
		if err := decoded.ReadFrom(body); err != nil {
			b.Fatal(err)
		}
	}
}
