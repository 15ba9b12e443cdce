package lag

import (
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// batchAt builds a batch of n records at base whose timestamps are
// baseMs + 100 x the record's index.
func batchAt(base int64, n int, baseMs int64, codec recordbatch.Codec) []byte {
	recs := make([]recordbatch.Record, n)
	for i := range recs {
		recs[i] = recordbatch.Record{TimestampDelta: int64(i) * 100, Value: []byte("v")}
	}
	return recordbatch.Build(recordbatch.BuildSpec{BaseOffset: base, BaseTimestamp: baseMs, Codec: codec, Records: recs})
}

func markerAt(base int64) []byte {
	b := recordbatch.BuildMarker(recordbatch.Marker{ProducerID: 1, Commit: true}, 1)
	recordbatch.SetBaseOffset(b, base)
	return b
}

func TestFirstRecordTime(t *testing.T) {
	log := append(append(append(batchAt(0, 3, 1000, recordbatch.CodecNone), markerAt(3)...),
		batchAt(10, 4, 5000, recordbatch.CodecGzip)...), markerAt(14)...)
	tests := []struct {
		name           string
		batches        []byte
		offset, end    int64
		wantFound      bool
		wantMs, wantNx int64
	}{
		{"batch start", log, 0, 15, true, 1000, 0},
		{"inside a batch", log, 2, 15, true, 1200, 0},
		{"on a marker: next batch", log, 3, 15, true, 5000, 0},
		{"in a compacted gap", log, 5, 15, true, 5000, 0},
		{"inside a compressed batch", log, 12, 15, true, 5200, 0},
		{"only a marker left", log, 14, 15, false, 0, 15},
		{"record at end is not counted", log, 3, 10, false, 0, 10},
		{"cut short: read on", append(batchAt(0, 3, 1000, recordbatch.CodecNone), markerAt(3)[:20]...), 3, 15, false, 0, 3},
		{"all before the offset", batchAt(0, 3, 1000, recordbatch.CodecNone), 3, 15, false, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, found, next, err := FirstRecordTime(tt.batches, tt.offset, tt.end)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.wantFound || found && !ts.Equal(time.UnixMilli(tt.wantMs)) || !found && next != tt.wantNx {
				t.Errorf("got %v %v next %d, want found %v at %d ms or next %d", ts, found, next, tt.wantFound, tt.wantMs, tt.wantNx)
			}
		})
	}
}

func TestFirstRecordTimeLogAppendTime(t *testing.T) {
	b := recordbatch.Build(recordbatch.BuildSpec{LogAppendTime: true, BaseTimestamp: 1000, MaxTimestamp: 9000,
		Records: []recordbatch.Record{{Value: []byte("a")}, {TimestampDelta: 5, Value: []byte("b")}}})
	ts, found, _, err := FirstRecordTime(b, 1, 2)
	if err != nil || !found || !ts.Equal(time.UnixMilli(9000)) {
		t.Fatalf("got %v %v %v, want the broker's append time 9000 ms", ts, found, err)
	}
}

func TestReadFirstRecordTimeReadsPastMarkers(t *testing.T) {
	// Each read returns one batch, as a Fetch with a small max bytes does.
	byOffset := map[int64][]byte{0: markerAt(0), 1: markerAt(1), 2: batchAt(2, 1, 7000, recordbatch.CodecNone)}
	var reads int
	ts, found, err := ReadFirstRecordTime(0, 3, func(from int64) ([]byte, error) {
		reads++
		return byOffset[from], nil
	})
	if err != nil || !found || !ts.Equal(time.UnixMilli(7000)) || reads != 3 {
		t.Fatalf("got %v %v %v after %d reads, want 7000 ms after 3", ts, found, err, reads)
	}
	if _, _, err := ReadFirstRecordTime(0, 3, func(int64) ([]byte, error) { return nil, nil }); err == nil {
		t.Fatal("an empty read below the end must be an error, not a loop")
	}
}
