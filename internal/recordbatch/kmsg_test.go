package recordbatch

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"io"
	"testing"

	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// These tests hold the package against kmsg, an encoder and decoder written
// independently from Kafka's message specs, in both directions.

// kmsgBatch encodes records with kmsg and compresses the payload with the
// codec libraries directly (not through Build).
func kmsgBatch(t *testing.T, codec Codec, xerialFraming bool, records []Record) []byte {
	t.Helper()
	var payload []byte
	for i, r := range records {
		kr := kmsg.Record{TimestampDelta64: r.TimestampDelta, OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		// Length counts the bytes after itself: encode once with a one-byte
		// zero length to measure them.
		kr.Length = int32(len(kr.AppendTo(nil)) - 1)
		payload = kr.AppendTo(payload)
	}
	payload = compressIndependently(t, codec, xerialFraming, payload)
	kb := kmsg.RecordBatch{
		FirstOffset:     100,
		Magic:           2,
		Attributes:      int16(codec),
		LastOffsetDelta: int32(len(records) - 1),
		FirstTimestamp:  1000,
		MaxTimestamp:    1000 + int64(3*(len(records)-1)),
		ProducerID:      9,
		ProducerEpoch:   1,
		FirstSequence:   0,
		NumRecords:      int32(len(records)),
		Records:         payload,
	}
	kb.Length = int32(HeaderSize - LengthFieldEnd + len(payload))
	b := kb.AppendTo(nil)
	return fixCRC(b)
}

func compressIndependently(t *testing.T, codec Codec, xerialFraming bool, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch codec {
	case CodecNone:
		return payload
	case CodecGzip:
		w := stdgzip.NewWriter(&buf)
		w.Write(payload)
		w.Close()
	case CodecSnappy:
		if xerialFraming {
			return xerial.EncodeBetter(nil, payload)
		}
		return snappyEncode(payload)
	case CodecLZ4:
		w := lz4.NewWriter(&buf)
		if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(true)); err != nil {
			t.Fatal(err)
		}
		w.Write(payload)
		w.Close()
	case CodecZstd:
		w, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(payload)
		w.Close()
	}
	return buf.Bytes()
}

func decompressIndependently(t *testing.T, codec Codec, src []byte) []byte {
	t.Helper()
	var out []byte
	var err error
	switch codec {
	case CodecNone:
		return src
	case CodecGzip:
		var r *stdgzip.Reader
		if r, err = stdgzip.NewReader(bytes.NewReader(src)); err == nil {
			out, err = io.ReadAll(r)
		}
	case CodecSnappy:
		out, err = xerial.Decode(src)
	case CodecLZ4:
		out, err = io.ReadAll(lz4.NewReader(bytes.NewReader(src)))
	case CodecZstd:
		var d *zstd.Decoder
		if d, err = zstd.NewReader(nil); err == nil {
			out, err = d.DecodeAll(src, nil)
			d.Close()
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", codec, err)
	}
	return out
}

func sameRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.TimestampDelta != w.TimestampDelta || g.OffsetDelta != int32(i) || g.Attributes != w.Attributes ||
			!sameNullable(g.Key, w.Key) || !sameNullable(g.Value, w.Value) || len(g.Headers) != len(w.Headers) {
			t.Fatalf("record %d: got %+v, want %+v", i, g, w)
		}
		for j := range w.Headers {
			if g.Headers[j].Key != w.Headers[j].Key || !sameNullable(g.Headers[j].Value, w.Headers[j].Value) {
				t.Fatalf("record %d header %d: got %+v, want %+v", i, j, g.Headers[j], w.Headers[j])
			}
		}
	}
}

func sameNullable(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestRecordsDecodesKmsgBatches(t *testing.T) {
	want := testRecords(16, 100)
	for _, codec := range allCodecs {
		for _, xerialFraming := range []bool{false, true} {
			if xerialFraming && codec != CodecSnappy {
				continue
			}
			name := codec.String()
			if xerialFraming {
				name += "-xerial"
			}
			t.Run(name, func(t *testing.T) {
				b := kmsgBatch(t, codec, xerialFraming, want)
				h, err := Validate(b, Limits{})
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if h.Codec() != codec || h.RecordCount != 16 || h.BaseOffset != 100 || h.ProducerID != 9 {
					t.Fatalf("header %+v", h)
				}
				got, err := Records(b, 1<<20)
				if err != nil {
					t.Fatalf("Records: %v", err)
				}
				sameRecords(t, got, want)
			})
		}
	}
}

func TestBuildDecodesWithKmsg(t *testing.T) {
	want := testRecords(16, 100)
	for _, codec := range allCodecs {
		for _, xerialFraming := range []bool{false, true} {
			if xerialFraming && codec != CodecSnappy {
				continue
			}
			t.Run(codec.String(), func(t *testing.T) {
				b := Build(BuildSpec{Codec: codec, SnappyXerial: xerialFraming, BaseTimestamp: 5, Idempotent: true,
					ProducerID: 77, ProducerEpoch: 2, BaseSequence: 10, Transactional: true, Records: want})
				var kb kmsg.RecordBatch
				if err := kb.ReadFrom(b); err != nil {
					t.Fatalf("kmsg: %v", err)
				}
				if uint32(kb.CRC) != Checksum(b[crcCoveredFrom:]) || kb.Magic != 2 || kb.NumRecords != 16 ||
					kb.LastOffsetDelta != 15 || kb.ProducerID != 77 || kb.ProducerEpoch != 2 || kb.FirstSequence != 10 ||
					kb.Attributes != int16(codec)|attrTransactional || kb.MaxTimestamp != 5+45 || int(kb.Length) != len(b)-LengthFieldEnd {
					t.Fatalf("kmsg header %+v", kb)
				}
				payload := decompressIndependently(t, codec, kb.Records)
				var got []Record
				for len(payload) > 0 {
					length, n := binary.Varint(payload)
					if n <= 0 || int(length)+n > len(payload) {
						t.Fatalf("record length %d (%d bytes) with %d left", length, n, len(payload))
					}
					var kr kmsg.Record
					if err := kr.ReadFrom(payload[:n+int(length)]); err != nil {
						t.Fatal(err)
					}
					rec := Record{Attributes: kr.Attributes, TimestampDelta: kr.TimestampDelta64, OffsetDelta: kr.OffsetDelta, Key: kr.Key, Value: kr.Value}
					for _, h := range kr.Headers {
						rec.Headers = append(rec.Headers, RecordHeader{Key: h.Key, Value: h.Value})
					}
					got = append(got, rec)
					payload = payload[n+int(length):]
				}
				sameRecords(t, got, want)
			})
		}
	}
}

func TestRoundTripAllCodecs(t *testing.T) {
	for _, codec := range allCodecs {
		for _, n := range []int{1, 2, 100} {
			want := testRecords(n, 37)
			b := Build(BuildSpec{Codec: codec, Records: want})
			if _, err := Validate(b, Limits{}); err != nil {
				t.Fatalf("%s/%d: Validate: %v", codec, n, err)
			}
			got, err := Records(b, 1<<20)
			if err != nil {
				t.Fatalf("%s/%d: Records: %v", codec, n, err)
			}
			sameRecords(t, got, want)
		}
	}
}
