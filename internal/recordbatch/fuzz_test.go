package recordbatch

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// fuzzMaxDecompressedBytes keeps fuzzing fast while still exercising the cap.
const fuzzMaxDecompressedBytes = 1 << 16

func FuzzRecordBatch(f *testing.F) {
	for _, codec := range allCodecs {
		f.Add(testBatch(codec, 3, 8))
	}
	f.Add(Build(BuildSpec{Codec: CodecSnappy, SnappyXerial: true, Records: testRecords(2, 5)}))
	f.Add(Build(BuildSpec{Control: true, Records: testRecords(1, 1)}))
	f.Add(Build(BuildSpec{}))
	f.Add(compressBombBatch())
	f.Fuzz(func(t *testing.T, batch []byte) {
		checkBatch(t, batch)
		// Random bytes almost never carry a right CRC; fixing it lets the
		// fuzzer reach the record walker and the decompressors.
		if len(batch) >= HeaderSize {
			checkBatch(t, fixCRC(clone(batch)))
		}
	})
}

func checkBatch(t *testing.T, batch []byte) {
	{
		h, err := Validate(batch, Limits{AllowControl: true})
		if err != nil && KafkaError(err) == nil {
			t.Fatalf("error %v maps to no Kafka code", err)
		}
		records, rerr := Records(batch, fuzzMaxDecompressedBytes)
		if err == nil && h.Codec() == CodecNone {
			if rerr != nil {
				t.Fatalf("Validate accepted, Records refused: %v", rerr)
			}
			if len(records) != int(h.RecordCount) {
				t.Fatalf("Validate saw %d records, Records decoded %d", h.RecordCount, len(records))
			}
		}
		if rerr == nil && len(records) > len(batch)+fuzzMaxDecompressedBytes {
			t.Fatalf("%d records from %d bytes", len(records), len(batch))
		}
		// What a producer may send a follower may store.
		if _, serr := ValidateStored(batch, 0); err == nil && serr != nil {
			t.Fatalf("Validate accepted, ValidateStored refused: %v", serr)
		} else if serr != nil && KafkaError(serr) == nil {
			t.Fatalf("ValidateStored error %v maps to no Kafka code", serr)
		}
		_, _, _, _ = FirstOffsetAtOrAfter(batch, 0, fuzzMaxDecompressedBytes)
		_, _, _ = MaxTimestampOffset(batch, fuzzMaxDecompressedBytes)
		if _, err := Split(batch); err != nil && KafkaError(err) == nil {
			t.Fatalf("Split error %v maps to no Kafka code", err)
		}
	}
}

// compressBombBatch is a valid batch whose zstd payload inflates past the
// fuzz cap.
func compressBombBatch() []byte {
	return Build(BuildSpec{Codec: CodecZstd, Records: []Record{{Value: make([]byte, 2*fuzzMaxDecompressedBytes)}}})
}

func FuzzDecompress(f *testing.F) {
	payload := []byte("fuzz me, fuzz me, fuzz me again")
	for _, codec := range allCodecs {
		f.Add(int8(codec), compress(codec, false, payload))
	}
	f.Add(int8(CodecSnappy), compress(CodecSnappy, true, payload))
	f.Fuzz(func(t *testing.T, codec int8, src []byte) {
		out, err := Decompress(Codec(codec), src, fuzzMaxDecompressedBytes)
		if err == nil && len(out) > fuzzMaxDecompressedBytes {
			t.Fatalf("%d bytes past the cap", len(out))
		}
		if err != nil && !errors.Is(err, ErrCorruptMessage) {
			t.Fatalf("error %v is not ErrCorruptMessage", err)
		}
	})
}

// FuzzVarint holds readVarlong against encoding/binary's zig-zag decoder and
// readVarint to the int32 range and Kafka's 5-byte limit.
func FuzzVarint(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		f.Add(appendVarint(nil, v))
	}
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n := readVarlong(b)
		want, wantN := binary.Varint(b)
		if n > 0 {
			if wantN != n || want != v {
				t.Fatalf("readVarlong %d (%d bytes), binary.Varint %d (%d bytes)", v, n, want, wantN)
			}
			if got := appendVarint(nil, v); len(got) > n {
				t.Fatalf("re-encoding %d takes %d bytes, read %d", v, len(got), n)
			}
		} else if wantN > 0 && wantN <= maxVarlongBytes {
			t.Fatalf("readVarlong refused what binary.Varint read as %d", want)
		}
		v32, n32 := readVarint(b)
		if n32 > 0 && (n32 > maxVarintBytes || int64(v32) != v || n32 != n) {
			t.Fatalf("readVarint %d (%d bytes) vs readVarlong %d (%d bytes)", v32, n32, v, n)
		}
		if n32 == 0 && n > 0 && n <= maxVarintBytes && v >= math.MinInt32 && v <= math.MaxInt32 {
			t.Fatalf("readVarint refused %d in %d bytes", v, n)
		}
	})
}
