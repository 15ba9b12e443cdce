package recordbatch

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// BuildSpec describes a batch for Build. Without Idempotent the batch
// carries no producer (id, epoch and sequence -1) whatever the producer
// fields say.
type BuildSpec struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	Codec                Codec
	// SnappyXerial frames snappy output as the Java client does instead of
	// writing a raw block as librdkafka and franz-go do.
	SnappyXerial  bool
	LogAppendTime bool
	Transactional bool
	Control       bool
	BaseTimestamp int64
	// MaxTimestamp overrides the computed max timestamp when non-zero (a
	// LogAppendTime batch carries the broker's time here).
	MaxTimestamp  int64
	Idempotent    bool
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32
	// Records are written with offset deltas 0..n-1, whatever their
	// OffsetDelta says; timestamps are BaseTimestamp + TimestampDelta.
	Records []Record
}

// Build encodes a correct v2 batch: the tool for tests, benchmarks and the
// CLI's producer. Its input is trusted, so it has no error to return.
func Build(spec BuildSpec) []byte {
	var payload []byte
	maxTimestamp := spec.BaseTimestamp
	for i := range spec.Records {
		rec := spec.Records[i]
		rec.OffsetDelta = int32(i)
		payload = appendRecord(payload, &rec)
		maxTimestamp = max(maxTimestamp, spec.BaseTimestamp+rec.TimestampDelta)
	}
	if spec.MaxTimestamp != 0 {
		maxTimestamp = spec.MaxTimestamp
	}
	payload = compress(spec.Codec, spec.SnappyXerial, payload)

	b := make([]byte, HeaderSize, HeaderSize+len(payload))
	binary.BigEndian.PutUint64(b[0:], uint64(spec.BaseOffset))
	binary.BigEndian.PutUint32(b[8:], uint32(HeaderSize-LengthFieldEnd+len(payload)))
	binary.BigEndian.PutUint32(b[12:], uint32(spec.PartitionLeaderEpoch))
	b[16] = 2
	binary.BigEndian.PutUint16(b[21:], uint16(spec.attributes()))
	binary.BigEndian.PutUint32(b[23:], uint32(max(len(spec.Records)-1, 0)))
	binary.BigEndian.PutUint64(b[27:], uint64(spec.BaseTimestamp))
	binary.BigEndian.PutUint64(b[35:], uint64(maxTimestamp))
	producerID, epoch, sequence := int64(-1), int16(-1), int32(-1)
	if spec.Idempotent {
		producerID, epoch, sequence = spec.ProducerID, spec.ProducerEpoch, spec.BaseSequence
	}
	binary.BigEndian.PutUint64(b[43:], uint64(producerID))
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(sequence))
	binary.BigEndian.PutUint32(b[57:], uint32(len(spec.Records)))
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[crcPos:], Checksum(b[crcCoveredFrom:]))
	return b
}

func (spec BuildSpec) attributes() int16 {
	a := int16(spec.Codec) & attrCodecMask
	if spec.LogAppendTime {
		a |= attrLogAppendTime
	}
	if spec.Transactional {
		a |= attrTransactional
	}
	if spec.Control {
		a |= attrControl
	}
	return a
}

// appendRecord appends one record with its length prefix.
func appendRecord(dst []byte, rec *Record) []byte {
	body := []byte{byte(rec.Attributes)}
	body = appendVarint(body, rec.TimestampDelta)
	body = appendVarint(body, int64(rec.OffsetDelta))
	body = appendNullableBytes(body, rec.Key)
	body = appendNullableBytes(body, rec.Value)
	body = appendVarint(body, int64(len(rec.Headers)))
	for _, h := range rec.Headers {
		body = appendNullableBytes(body, []byte(h.Key))
		body = appendNullableBytes(body, h.Value)
	}
	dst = appendVarint(dst, int64(len(body)))
	return append(dst, body...)
}

func appendNullableBytes(dst, field []byte) []byte {
	if field == nil {
		return appendVarint(dst, -1)
	}
	dst = appendVarint(dst, int64(len(field)))
	return append(dst, field...)
}

// compress encodes a payload with codec. The writers work on memory, so an
// error from them is a broken invariant, not bad input.
func compress(codec Codec, xerialFraming bool, payload []byte) []byte {
	var buf bytes.Buffer
	switch codec {
	case CodecNone:
		return payload
	case CodecGzip:
		w := gzip.NewWriter(&buf)
		mustWrite(w.Write(payload))
		must(w.Close())
	case CodecSnappy:
		if xerialFraming {
			return xerial.Encode(nil, payload)
		}
		return snappy.Encode(nil, payload)
	case CodecLZ4:
		w := lz4.NewWriter(&buf)
		mustWrite(w.Write(payload))
		must(w.Close())
	case CodecZstd:
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		must(err)
		defer enc.Close()
		return enc.EncodeAll(payload, nil)
	default:
		panic(fmt.Sprintf("recordbatch: Build with unknown codec %d", codec))
	}
	return buf.Bytes()
}

func mustWrite(_ int, err error) { must(err) }

func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("recordbatch: in-memory compression failed: %v", err))
	}
}
