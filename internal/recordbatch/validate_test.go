package recordbatch

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestValidateErrors(t *testing.T) {
	good := testBatch(CodecNone, 4, 10)
	zstdGood := testBatch(CodecZstd, 4, 10)
	edit := func(src []byte, f func(b []byte) []byte) []byte { return f(clone(src)) }
	setU32 := func(pos int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[pos:], v); return fixCRC(b) }
	}
	tests := []struct {
		name  string
		batch []byte
		lim   Limits
		want  error
		code  *kerr.Error
	}{
		{"valid uncompressed", good, Limits{}, nil, nil},
		{"valid zstd", zstdGood, Limits{}, nil, nil},
		{"empty", nil, Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"shorter than header", good[:HeaderSize-1], Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"torn", good[:len(good)-1], Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"trailing byte", append(clone(good), 0), Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"magic 1", edit(good, func(b []byte) []byte { b[16] = 1; return b }), Limits{}, ErrUnsupportedForMessageFormat, kerr.UnsupportedForMessageFormat},
		{"magic 0 short", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0}, Limits{}, ErrUnsupportedForMessageFormat, kerr.UnsupportedForMessageFormat},
		{"magic 3", edit(good, func(b []byte) []byte { b[16] = 3; return b }), Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"too large", good, Limits{MaxBatchBytes: int64(len(good) - 1)}, ErrMessageTooLarge, kerr.MessageTooLarge},
		{"exactly the limit", good, Limits{MaxBatchBytes: int64(len(good))}, nil, nil},
		{"crc", edit(good, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"crc zstd", edit(zstdGood, func(b []byte) []byte { b[30] ^= 1; return b }), Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"codec 5", edit(good, func(b []byte) []byte { b[22] |= 5; return fixCRC(b) }), Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"record count 0", edit(good, setU32(57, 0)), Limits{}, ErrInvalidRecord, kerr.InvalidRecord},
		{"record count negative", edit(good, setU32(57, 0xffffffff)), Limits{}, ErrInvalidRecord, kerr.InvalidRecord},
		{"lastOffsetDelta mismatch", edit(good, setU32(23, 2)), Limits{}, ErrInvalidRecord, kerr.InvalidRecord},
		{"count above records", edit(good, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 5)
			binary.BigEndian.PutUint32(b[23:], 4)
			return fixCRC(b)
		}), Limits{}, ErrInvalidRecord, kerr.InvalidRecord},
		{"count below records", edit(good, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 3)
			binary.BigEndian.PutUint32(b[23:], 2)
			return fixCRC(b)
		}), Limits{}, ErrInvalidRecord, kerr.InvalidRecord},
		{"control from client", Build(BuildSpec{Control: true, Records: testRecords(1, 4)}), Limits{}, ErrInvalidRecord, kerr.InvalidRecord},
		{"control allowed", Build(BuildSpec{Control: true, Records: testRecords(1, 4)}), Limits{AllowControl: true}, nil, nil},
		{"producer without sequence", Build(BuildSpec{Idempotent: true, ProducerID: 1, BaseSequence: -1, Records: testRecords(1, 4)}), Limits{}, ErrInvalidRecord, kerr.InvalidRecord},
		{"record length past batch", edit(good, func(b []byte) []byte { b[HeaderSize] = 0x7e; return fixCRC(b) }), Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"record length too small", edit(good, func(b []byte) []byte { b[HeaderSize] = 2; return fixCRC(b) }), Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
		{"overlong varint", edit(good, func(b []byte) []byte {
			copy(b[HeaderSize:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
			return fixCRC(b)
		}), Limits{}, ErrCorruptMessage, kerr.CorruptMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Validate(tt.batch, tt.lim)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Validate error %v, want %v", err, tt.want)
			}
			if got := KafkaError(err); (tt.code == nil && got != nil) || (tt.code != nil && got != error(tt.code)) {
				t.Fatalf("KafkaError %v, want %v", got, tt.code)
			}
			if err == nil && int64(len(tt.batch)) != h.TotalSize() {
				t.Fatalf("header size %d for %d bytes", h.TotalSize(), len(tt.batch))
			}
		})
	}
}

// TestValidateOffsetDeltas rewrites the second record's offset delta, which
// Build always writes as 1, to 2: a gap a producer may not send.
func TestValidateOffsetDeltas(t *testing.T) {
	b := Build(BuildSpec{Records: []Record{{Value: []byte("a")}, {Value: []byte("b")}}})
	// Record 0 is 1 length byte + 7 body bytes; record 1's offset delta sits
	// after its length, attributes and timestamp delta.
	pos := HeaderSize + 8 + 3
	if b[pos] != 2 { // zig-zag 1
		t.Fatalf("layout changed: byte %x", b[pos])
	}
	b[pos] = 4 // zig-zag 2
	fixCRC(b)
	if _, err := Validate(b, Limits{}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("gap: %v, want ErrInvalidRecord", err)
	}
	// A stored (compacted) batch may have gaps below lastOffsetDelta.
	binary.BigEndian.PutUint32(b[23:], 2)
	fixCRC(b)
	recs, err := Records(b, 1<<20)
	if err != nil || len(recs) != 2 || recs[1].OffsetDelta != 2 {
		t.Fatalf("Records on a compacted batch: %v %+v", err, recs)
	}
}

func TestKafkaError(t *testing.T) {
	if KafkaError(nil) != nil {
		t.Fatal("nil must map to nil")
	}
	if KafkaError(errors.New("other")) != kerr.UnknownServerError {
		t.Fatal("unknown errors must not pass as success")
	}
	if KafkaError(ErrUnsupportedCompressionType) != kerr.UnsupportedCompressionType {
		t.Fatal("unsupported compression")
	}
	if KafkaError(ErrShortBatch) != kerr.CorruptMessage {
		t.Fatal("short batch")
	}
}

func TestSplit(t *testing.T) {
	a, b := testBatch(CodecNone, 2, 5), testBatch(CodecGzip, 3, 5)
	both := append(clone(a), b...)
	tests := []struct {
		name    string
		records []byte
		want    int
		err     error
	}{
		{"empty", nil, 0, nil},
		{"one", a, 1, nil},
		{"two", both, 2, nil},
		{"torn second", both[:len(both)-1], 0, ErrCorruptMessage},
		{"short tail", both[:len(a)+10], 0, ErrCorruptMessage},
		{"length below header", func() []byte {
			c := clone(a)
			binary.BigEndian.PutUint32(c[8:], 10)
			return c
		}(), 0, ErrCorruptMessage},
		{"negative length", func() []byte {
			c := clone(a)
			binary.BigEndian.PutUint32(c[8:], 0xffffff00)
			return c
		}(), 0, ErrCorruptMessage},
		{"old magic", func() []byte {
			c := clone(a)
			c[16] = 1
			return c
		}(), 0, ErrUnsupportedForMessageFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.records)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if len(got) != tt.want {
				t.Fatalf("%d batches, want %d", len(got), tt.want)
			}
			for _, batch := range got {
				if _, err := Validate(batch, Limits{}); err != nil {
					t.Fatalf("split batch invalid: %v", err)
				}
			}
		})
	}
}

func TestSingleBatch(t *testing.T) {
	a := testBatch(CodecNone, 2, 5)
	if got, err := SingleBatch(a); err != nil || len(got) != len(a) {
		t.Fatalf("one batch: %v", err)
	}
	if _, err := SingleBatch(append(clone(a), a...)); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("two batches: %v", err)
	}
	if _, err := SingleBatch(nil); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("no batch: %v", err)
	}
	if _, err := SingleBatch(a[:len(a)-1]); !errors.Is(err, ErrCorruptMessage) {
		t.Fatalf("torn batch: %v", err)
	}
}

// A compacted batch keeps its offset span with fewer records, or none:
// a log copy may hold one, a producer may not send one.
func TestValidateStoredTakesCompactedBatches(t *testing.T) {
	full := Build(BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		Records: []Record{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}}})
	h, err := ParseHeader(full)
	if err != nil {
		t.Fatal(err)
	}
	records, err := Records(full, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range [][]Record{records[2:], records[:0]} {
		thinned, err := Rebuild(h, keep, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ValidateStored(thinned, 0); err != nil {
			t.Fatalf("%d of 3 records: ValidateStored: %v", len(keep), err)
		}
		if _, err := Validate(thinned, Limits{}); err == nil {
			t.Fatalf("%d of 3 records: Validate took a thinned batch from a producer", len(keep))
		}
	}
	tooMany := clone(full)
	tooMany[57], tooMany[58], tooMany[59], tooMany[60] = 0, 0, 0, 4 // recordCount
	if _, err := ValidateStored(fixCRC(tooMany), 0); err == nil {
		t.Fatal("ValidateStored took 4 records in an offset span of 3")
	}
}
