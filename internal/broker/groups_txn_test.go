package broker

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
)

// TestLoadBatchReportsTransactions: the offsets log reports each record
// with its offset, producer id and whether its batch was transactional,
// and each transaction marker, skipping what lies before the read start
// and control records of other types.
func TestLoadBatchReportsTransactions(t *testing.T) {
	recs := func(keys ...string) []recordbatch.Record {
		var out []recordbatch.Record
		for _, k := range keys {
			out = append(out, recordbatch.Record{Key: []byte(k), Value: []byte("v")})
		}
		return out
	}
	unknownControl := recordbatch.Build(recordbatch.BuildSpec{BaseOffset: 5, Control: true, Transactional: true, Idempotent: true,
		ProducerID: 7, BaseSequence: -1,
		Records: []recordbatch.Record{{Key: binary.BigEndian.AppendUint16([]byte{0, 0}, 5), Value: []byte{0, 0, 0, 0, 0, 0}}}})
	commit := recordbatch.BuildMarker(recordbatch.Marker{ProducerID: 7, Commit: true}, 0)
	binary.BigEndian.PutUint64(commit, 4)
	batches := [][]byte{
		recordbatch.Build(recordbatch.BuildSpec{BaseOffset: 0, Records: recs("a", "b")}),
		recordbatch.Build(recordbatch.BuildSpec{BaseOffset: 2, Transactional: true, Idempotent: true, ProducerID: 7, ProducerEpoch: 1,
			Records: recs("c", "d")}),
		commit,
		unknownControl,
	}
	var got []string
	for _, b := range batches {
		err := loadBatch(b, storage.Offset(1), func(r group.LogRecord) error {
			got = append(got, fmt.Sprintf("%d pid=%d txn=%v marker=%v commit=%v key=%s", r.Offset, r.ProducerID, r.Transactional, r.Marker, r.Commit, r.Key))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"1 pid=-1 txn=false marker=false commit=false key=b",
		"2 pid=7 txn=true marker=false commit=false key=c",
		"3 pid=7 txn=true marker=false commit=false key=d",
		"4 pid=7 txn=true marker=true commit=true key=",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("reported\n%v\nwant\n%v", got, want)
	}
}
