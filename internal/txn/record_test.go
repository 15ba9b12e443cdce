package txn

import (
	"bytes"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, state := range []kmsg.TransactionState{kmsg.TransactionStateEmpty, kmsg.TransactionStateOngoing,
		kmsg.TransactionStatePrepareCommit, kmsg.TransactionStateCompleteAbort} {
		s := stateAt(state, 42, 7)
		s.previousProducerID, s.clientTransactionVersion = 41, 1
		if s.partitions != nil {
			s.partitions[tp("b", 2)] = struct{}{}
			s.partitions[tp("a", 9)] = struct{}{}
		}
		id, got, err := decodeRecord(encodeKey("tx"), encodeValue(&s))
		if err != nil || id != "tx" {
			t.Fatalf("%v: decode: %q %v", state, id, err)
		}
		if got.producerID != 42 || got.producerEpoch != 7 || got.state != state || got.timeout != time.Minute ||
			got.previousProducerID != 41 || got.nextProducerID != -1 || got.clientTransactionVersion != 1 ||
			got.lastProducerEpoch != -1 || !got.lastUpdate.Equal(s.lastUpdate) || !got.startTime.Equal(s.startTime) ||
			!maps.Equal(got.partitions, s.partitions) {
			t.Fatalf("%v: round trip\n got %+v\nwant %+v", state, got, s)
		}
	}
	if id, s, err := decodeRecord(encodeKey("gone"), nil); err != nil || id != "gone" || s != nil {
		t.Fatalf("tombstone: %q %+v %v", id, s, err)
	}
}

func TestRecordEncodingIsKafkas(t *testing.T) {
	s := stateAt(kmsg.TransactionStateEmpty, 42, 7)
	s.startTime = time.Time{}
	v := encodeValue(&s)
	// Version 1, then the fixed fields, a null topic array (Empty), the
	// timestamps with -1 for no start, and no tagged field: previous
	// producer id 42 is a tag though.
	want := []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 42, 0, 7, 0, 0, 0xea, 0x60, 0, 0}
	if !bytes.HasPrefix(v, want) {
		t.Fatalf("value starts % x, want % x", v[:len(want)], want)
	}
	if k := encodeKey("ab"); !bytes.Equal(k, []byte{0, 0, 0, 2, 'a', 'b'}) {
		t.Fatalf("key % x", k)
	}
	// Version 0 values, as Kafka before 4.0 wrote them, still load.
	v0 := kmsg.NewTxnMetadataValue()
	v0.ProducerID, v0.ProducerEpoch, v0.TimeoutMillis = 3, 1, 1000
	v0.State = kmsg.TransactionStateOngoing
	v0.Topics = []kmsg.TxnMetadataValueTopic{{Topic: "t", Partitions: []int32{0, 1}}}
	v0.LastUpdateTimestamp, v0.StartTimestamp = 10, 5
	_, got, err := decodeRecord(encodeKey("old"), v0.AppendTo(nil))
	if err != nil || got.state != kmsg.TransactionStateOngoing || len(got.partitions) != 2 || got.previousProducerID != -1 {
		t.Fatalf("v0: %+v %v", got, err)
	}
}

func TestDecodeRejectsCorruptRecords(t *testing.T) {
	good := encodeValue(&txnState{producerID: 1, state: kmsg.TransactionStateOngoing,
		partitions: map[TopicPartition]struct{}{tp("t", 0): {}}, nextProducerID: -1, nextProducerEpoch: -1})
	tests := map[string]struct{ key, value []byte }{
		"short key":           {[]byte{0}, good},
		"key version 1":       {[]byte{0, 1, 0, 1, 'a'}, good},
		"key string too long": {[]byte{0, 0, 0, 9, 'a'}, good},
		"value version 2":     {encodeKey("a"), append([]byte{0, 2}, good[2:]...)},
		"truncated value":     {encodeKey("a"), good[:len(good)-3]},
		"unknown state":       {encodeKey("a"), func() []byte { v := bytes.Clone(good); v[16] = 9; return v }()},
		// The tag count of the topic claims 2^32-1 fields: kmsg before
		// v1.15.1 looped for minutes.
		"huge tag count": {encodeKey("a"), []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1,
			2, 2, 'a', 1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		"huge topic count": {encodeKey("a"), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1,
			0x7f, 0xff, 0xff, 0xff}},
	}
	for name, tt := range tests {
		start := time.Now()
		_, _, err := decodeRecord(tt.key, tt.value)
		if !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("%s: err = %v, want ErrCorruptRecord", name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}

// FuzzTxnStateRecord checks that decoding never panics, never spins, and
// that whatever decodes encodes back to a value that decodes the same.
func FuzzTxnStateRecord(f *testing.F) {
	s := stateAt(kmsg.TransactionStatePrepareCommit, 42, 7)
	f.Add(encodeKey("tx"), encodeValue(&s))
	e := stateAt(kmsg.TransactionStateEmpty, 1, 0)
	f.Add(encodeKey(""), encodeValue(&e))
	f.Add(encodeKey("tombstone"), []byte(nil))
	f.Add([]byte{0, 0, 0xff, 0xff}, []byte{0, 1, 0xff})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		id, got, err := decodeRecord(key, value)
		if err != nil || got == nil {
			return
		}
		id2, again, err := decodeRecord(encodeKey(id), encodeValue(got))
		if err != nil || id2 != id || again.state != got.state || again.producerID != got.producerID ||
			again.producerEpoch != got.producerEpoch || !maps.Equal(again.partitions, got.partitions) {
			t.Fatalf("re-encoding changed the record: %+v, %+v, %v", got, again, err)
		}
	})
}
