package producerstate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

// sampleManager holds a producer past its window, one with an open
// transaction and a marker behind it, and one with no batch in its epoch.
func sampleManager() (*Manager, int64) {
	m := NewManager(0)
	offset := int64(0)
	add := func(h recordbatch.Header) {
		m.Update(h, offset, 500+offset)
		offset += int64(h.LastOffsetDelta) + 1
	}
	for i := range int32(8) {
		add(batch(1, 0, i*2, 2))
	}
	add(transactional(batch(2, 3, 0, 1)))
	m.UpdateMarker(marker(2, 3), offset, 900, 7)
	offset++
	add(transactional(batch(2, 3, 1, 2)))
	m.UpdateMarker(marker(4, 1), offset, 901, 2)
	offset++
	return m, offset
}

func sampleSnapshot(offset int64) Snapshot {
	return Snapshot{
		Offset: offset,
		Txns:   []Txn{{ProducerID: 2, FirstOffset: 16, LastOffset: 17}, {ProducerID: 2, FirstOffset: 18, LastOffset: -1}},
		Epochs: []EpochStart{{Epoch: 0, StartOffset: 0}, {Epoch: 3, StartOffset: 16}, {Epoch: 4, StartOffset: 16}},
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	m, end := sampleManager()
	b := m.EncodeSnapshot(sampleSnapshot(end))
	got, s, err := DecodeSnapshot(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if again := got.EncodeSnapshot(s); !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs:\n%x\n%x", again, b)
	}
	if !slices.Equal(got.Producers(), m.Producers()) {
		t.Fatalf("producers %+v, want %+v", got.Producers(), m.Producers())
	}
	// The whole window survives, not only the last batch: a retry of the
	// oldest remembered batch is still a duplicate.
	for _, probe := range []recordbatch.Header{batch(1, 0, 6, 2), batch(1, 0, 14, 2), batch(1, 0, 16, 1),
		batch(1, 0, 4, 2), transactional(batch(2, 3, 3, 1)), batch(2, 3, 3, 1), batch(4, 0, 0, 1)} {
		if a, b := got.Check(probe), m.Check(probe); a != b {
			t.Fatalf("probe %+v: restored %+v, live %+v", probe, a, b)
		}
	}
	if err := got.CheckMarker(4, 1, 1); err == nil {
		t.Fatal("coordinator epoch of the last marker lost")
	}
	if got.InTransaction(2, 3) != true {
		t.Fatal("open transaction lost")
	}
}

// reCRC recomputes the CRC after a test edits the body.
func reCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[2:], recordbatch.Checksum(b[6:]))
	return b
}

func TestSnapshotDecodeRejects(t *testing.T) {
	m, end := sampleManager()
	good := m.EncodeSnapshot(sampleSnapshot(end))
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	firstProducer := snapshotHeaderBytes + 4
	cases := map[string][]byte{
		"empty":       nil,
		"short":       good[:5],
		"version":     edit(func(b []byte) []byte { b[1] = 2; return b }),
		"crc":         edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }),
		"truncated":   reCRC(edit(func(b []byte) []byte { return b[:len(b)-3] })),
		"trailing":    reCRC(edit(func(b []byte) []byte { return append(b, 0) })),
		"huge count":  reCRC(edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[14:], 1<<30); return b })),
		"offset down": reCRC(edit(func(b []byte) []byte { binary.BigEndian.PutUint64(b[6:], 3); return b })),
		"negative id": reCRC(edit(func(b []byte) []byte { b[firstProducer] = 0x80; return b })),
		"window":      reCRC(edit(func(b []byte) []byte { b[firstProducer+38] = 6; return b })),
		"order": reCRC(edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[firstProducer:], 9) // producer 1 becomes 9, before 2
			return b
		})),
	}
	for name, b := range cases {
		if _, _, err := DecodeSnapshot(b, 0); !errors.Is(err, ErrCorruptSnapshot) {
			t.Errorf("%s: got %v, want ErrCorruptSnapshot", name, err)
		}
	}
	// An offset inside the snapshot must lie below the snapshot's.
	for name, s := range map[string]Snapshot{
		"txn at offset":   {Offset: end, Txns: []Txn{{ProducerID: 1, FirstOffset: end, LastOffset: -1}}},
		"two open":        {Offset: end, Txns: []Txn{{ProducerID: 1, FirstOffset: 1, LastOffset: -1}, {ProducerID: 1, FirstOffset: 2, LastOffset: -1}}},
		"epoch at offset": {Offset: end, Epochs: []EpochStart{{Epoch: 1, StartOffset: end}}},
		"epoch order":     {Offset: end, Epochs: []EpochStart{{Epoch: 2, StartOffset: 0}, {Epoch: 1, StartOffset: 1}}},
	} {
		if _, _, err := DecodeSnapshot(NewManager(0).EncodeSnapshot(s), 0); !errors.Is(err, ErrCorruptSnapshot) {
			t.Errorf("%s: got %v, want ErrCorruptSnapshot", name, err)
		}
	}
}

// FuzzProducerSnapshot: any input decodes without panicking, and whatever
// decodes re-encodes to the same bytes (the format has one encoding).
// With fixCRC the input's CRC is made right first, so that the fuzzer
// reaches the structure behind it.
func FuzzProducerSnapshot(f *testing.F) {
	m, end := sampleManager()
	f.Add(m.EncodeSnapshot(sampleSnapshot(end)), true)
	f.Add(NewManager(0).EncodeSnapshot(Snapshot{}), false)
	f.Add(m.EncodeSnapshot(Snapshot{Offset: end}), true)
	f.Fuzz(func(t *testing.T, b []byte, fixCRC bool) {
		if fixCRC && len(b) >= snapshotHeaderBytes {
			reCRC(b)
		}
		got, s, err := DecodeSnapshot(b, 0)
		if err != nil {
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("error not marked corrupt: %v", err)
			}
			return
		}
		if again := got.EncodeSnapshot(s); !bytes.Equal(again, b) {
			t.Fatalf("decoded %x re-encodes as %x", b, again)
		}
	})
}

func TestSnapshotFiles(t *testing.T) {
	if name := SnapshotFileName(12345); name != "00000000000000012345.snapshot" {
		t.Fatalf("name %q", name)
	}
	for name, want := range map[string]bool{"00000000000000012345.snapshot": true, "12345.snapshot": false,
		"00000000000000012345.snapshot.tmp": false, "00000000000000012345.log": false} {
		if _, ok := ParseSnapshotFileName(name); ok != want {
			t.Errorf("%q: %v", name, ok)
		}
	}
	fs := vfs.NewMem()
	if err := fs.MkdirAll("d", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, o := range []int64{30, 10} {
		if err := WriteSnapshotFile(fs, "d", o, []byte{byte(o)}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := fs.OpenFile("d/"+SnapshotFileName(40)+".tmp", os.O_CREATE|os.O_WRONLY, 0o644) // a crash's leftover
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ListSnapshotFiles(fs, "d")
	if err != nil || !slices.Equal(got, []int64{10, 30}) {
		t.Fatalf("list %v %v", got, err)
	}
	if names, _ := fs.ReadDir("d"); len(names) != 2 {
		t.Fatalf("temp file left: %v", names)
	}
	if b, err := ReadSnapshotFile(fs, "d", 30); err != nil || !bytes.Equal(b, []byte{30}) {
		t.Fatalf("read %v %v", b, err)
	}
	if err := RemoveSnapshotFiles(fs, "d", []int64{10, 20}, true); err != nil {
		t.Fatal(err)
	}
	fs.Crash()
	if got, _ := ListSnapshotFiles(fs, "d"); !slices.Equal(got, []int64{30}) {
		t.Fatalf("after removal and crash %v", got)
	}
}
