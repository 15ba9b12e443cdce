package recordbatch

import (
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/snappy"
)

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// testRecords makes n records of valueBytes each, with keys, null keys and
// headers mixed in so every field shape is exercised.
func testRecords(n, valueBytes int) []Record {
	records := make([]Record, n)
	for i := range records {
		value := make([]byte, valueBytes)
		for j := range value {
			value[j] = byte('a' + (i+j)%26)
		}
		records[i] = Record{TimestampDelta: int64(i * 3), Value: value}
		if i%2 == 0 {
			records[i].Key = []byte(fmt.Sprintf("key-%d", i))
		}
		if i%3 == 0 {
			records[i].Headers = []RecordHeader{{Key: "h", Value: []byte("v")}, {Key: "null", Value: nil}}
		}
	}
	return records
}

func testBatch(codec Codec, n, valueBytes int) []byte {
	return Build(BuildSpec{
		Codec:         codec,
		BaseTimestamp: 1_700_000_000_000,
		Idempotent:    true,
		ProducerID:    42,
		ProducerEpoch: 3,
		BaseSequence:  7,
		Records:       testRecords(n, valueBytes),
	})
}

// fixCRC recomputes the CRC after a test has edited bytes it covers.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[crcPos:], Checksum(b[crcCoveredFrom:]))
	return b
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// snappyEncode writes a raw snappy block as librdkafka and franz-go do.
func snappyEncode(payload []byte) []byte { return snappy.Encode(nil, payload) }
