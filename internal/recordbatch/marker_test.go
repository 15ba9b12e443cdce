package recordbatch

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestMarkerRoundTrip(t *testing.T) {
	for _, commit := range []bool{false, true} {
		want := Marker{ProducerID: 42, ProducerEpoch: 3, CoordinatorEpoch: 7, Commit: commit}
		b := BuildMarker(want, 1000)
		h, err := ValidateStored(b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Control() || !h.Transactional() || h.ProducerID != 42 || h.BaseSequence != -1 {
			t.Fatalf("header %+v", h)
		}
		got, ok, err := ParseMarker(b)
		if err != nil || !ok || got != want {
			t.Fatalf("ParseMarker = %+v, %v, %v; want %+v", got, ok, err, want)
		}
		// Kafka's own codecs read the same record.
		recs, _ := Records(b, 1<<10)
		var key kmsg.ControlRecordKey
		var value kmsg.EndTxnMarker
		if err := key.ReadFrom(recs[0].Key); err != nil {
			t.Fatal(err)
		}
		if err := value.ReadFrom(recs[0].Value); err != nil {
			t.Fatal(err)
		}
		if (key.Type == kmsg.ControlRecordKeyTypeCommit) != commit || value.CoordinatorEpoch != 7 {
			t.Fatalf("kmsg reads %+v %+v", key, value)
		}
	}
}

func TestParseMarkerRefusesDataBatch(t *testing.T) {
	b := Build(BuildSpec{Records: []Record{{Value: []byte("x")}}})
	if _, _, err := ParseMarker(b); err == nil {
		t.Fatal("a data batch parsed as a marker")
	}
}

func FuzzParseMarker(f *testing.F) {
	f.Add(BuildMarker(Marker{ProducerID: 1, Commit: true}, 5))
	f.Add(BuildMarker(Marker{ProducerID: 1}, 5))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok, err := ParseMarker(b)
		if err != nil && ok {
			t.Fatalf("ok with error %v", err)
		}
		_ = m
	})
}
