package broker

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// splicedFixture is a Fetch response for two partitions whose records are
// file ranges of a real log, placed as placeholders.
func splicedFixture(t *testing.T, version int16) (*splicedFetch, [][]byte) {
	t.Helper()
	log, err := storage.Open(storage.Options{FS: vfs.Default(), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	var want [][]byte
	for _, v := range []string{"first", "second"} {
		batch := recordbatch.Build(recordbatch.BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
			Records: []recordbatch.Record{{Value: []byte(v)}}})
		info, err := log.Append(batch, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := log.Sync(info.LastOffset); err != nil {
			t.Fatal(err)
		}
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version = version
	f := &fetch{req: req, resp: req.ResponseKind().(*kmsg.FetchResponse)}
	f.resp.Topics = []kmsg.FetchResponseTopic{{Topic: "t", Partitions: []kmsg.FetchResponseTopicPartition{
		kmsg.NewFetchResponseTopicPartition(), kmsg.NewFetchResponseTopicPartition()}}}
	f.parts = make([]*replicas.Replica, 2)
	for i := range 2 {
		slice, err := log.Read(storage.Offset(i), 1<<20, storage.Offset(i+1))
		if err != nil {
			t.Fatal(err)
		}
		data, err := slice.ReadAll(nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, data)
		pr := &f.resp.Topics[0].Partitions[i]
		pr.Partition = int32(i)
		if !f.splice(i, slice, pr) {
			t.Fatal("a slice of an OS file was not spliced")
		}
	}
	return f.response().(*splicedFetch), want
}

// assemble puts the file ranges into the encoding where the splices say,
// as the connection's writer does with sendfile.
func assemble(t *testing.T, encoded []byte, splices []server.Splice) []byte {
	t.Helper()
	var out []byte
	pos := 0
	for _, sp := range splices {
		out = append(out, encoded[pos:sp.At]...)
		buf := make([]byte, sp.Size)
		if _, err := sp.File.ReadAt(buf, sp.Pos); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf...)
		pos = sp.At
	}
	return append(out, encoded[pos:]...)
}

func decodeFetch(t *testing.T, version int16, b []byte) *kmsg.FetchResponse {
	t.Helper()
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = version
	if err := resp.ReadFrom(b); err != nil {
		t.Fatalf("decoding the spliced response: %v", err)
	}
	return resp
}

// TestSplicedFetchEncoding: the encoding with file ranges spliced in is the
// response with the records in place, at a flexible and an older version.
func TestSplicedFetchEncoding(t *testing.T) {
	for _, version := range []int16{11, 12, 17} {
		s, want := splicedFixture(t, version)
		encoded, splices := s.AppendSpliced(nil)
		if len(splices) != 2 {
			t.Fatalf("v%d: %d splices, want 2", version, len(splices))
		}
		got := decodeFetch(t, version, assemble(t, encoded, splices))
		for i, w := range want {
			if rb := got.Topics[0].Partitions[i].RecordBatches; !bytes.Equal(rb, w) {
				t.Errorf("v%d partition %d: records %q, want %q", version, i, rb, w)
			}
		}
		s.Release()
	}
}

// TestSplicedFetchFallsBackWhenAPlaceholderIsMissing: a placeholder that
// cannot be found in the encoding (never expected) must not reach the
// client as records: the whole response is encoded with the bytes read.
func TestSplicedFetchFallsBackWhenAPlaceholderIsMissing(t *testing.T) {
	s, want := splicedFixture(t, 12)
	defer s.Release()
	s.Topics[0].Partitions[1].RecordBatches = bytes.Repeat([]byte{'x'}, placeholderSize)
	encoded, splices := s.AppendSpliced(nil)
	if len(splices) != 0 {
		t.Fatalf("%d splices after a missing placeholder, want none", len(splices))
	}
	got := decodeFetch(t, 12, encoded)
	for i, w := range want {
		if rb := got.Topics[0].Partitions[i].RecordBatches; !bytes.Equal(rb, w) {
			t.Errorf("partition %d: records %q, want %q", i, rb, w)
		}
	}
}
