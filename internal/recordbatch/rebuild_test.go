package recordbatch

import (
	"testing"
)

func TestRebuildKeepsHeaderAndOffsetDeltas(t *testing.T) {
	for _, codec := range allCodecs {
		for _, xerial := range []bool{false, true} {
			if xerial && codec != CodecSnappy {
				continue
			}
			t.Run(codec.String(), func(t *testing.T) {
				orig := Build(BuildSpec{Codec: codec, SnappyXerial: xerial, BaseOffset: 1000, PartitionLeaderEpoch: 4,
					BaseTimestamp: 1_700_000_000_000, Idempotent: true, ProducerID: 42, ProducerEpoch: 3,
					BaseSequence: 7, Transactional: true, Records: testRecords(10, 20)})
				if SnappyXerial(orig) != xerial {
					t.Fatalf("SnappyXerial = %v", !xerial)
				}
				h, _ := ParseHeader(orig)
				all, err := Records(orig, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				// Keep records 1, 4 and 8: gaps at the start, inside and at the end.
				kept := []Record{all[1], all[4], all[8]}
				b, err := Rebuild(h, kept, SnappyXerial(orig))
				if err != nil {
					t.Fatal(err)
				}
				got, err := Records(b, 1<<20)
				if err != nil {
					t.Fatalf("rebuilt batch does not decode: %v", err)
				}
				sameThinnedRecords(t, got, kept)
				nh, _ := ParseHeader(b)
				want := h
				want.BatchLength, want.CRC, want.RecordCount = nh.BatchLength, nh.CRC, 3
				if nh != want {
					t.Fatalf("header\n got %+v\nwant %+v", nh, want)
				}
				if SnappyXerial(b) != xerial {
					t.Fatal("snappy framing changed")
				}
			})
		}
	}
}

func TestRebuildEmptyBatch(t *testing.T) {
	orig := testBatch(CodecZstd, 5, 10)
	h, _ := ParseHeader(orig)
	b, err := Rebuild(h, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	nh, _ := ParseHeader(b)
	if nh.RecordCount != 0 || nh.LastOffsetDelta != 4 || nh.ProducerID != 42 || nh.BaseSequence != 7 {
		t.Fatalf("empty batch header %+v", nh)
	}
	if nh.Codec() != CodecNone || len(b) != HeaderSize {
		t.Fatalf("empty batch of a zstd one: codec %d, %d bytes, want uncompressed and %d bytes", nh.Codec(), len(b), HeaderSize)
	}
	if got, err := Records(b, 1<<20); err != nil || len(got) != 0 {
		t.Fatalf("Records = %d records, %v", len(got), err)
	}
}

func TestRebuildRefusesBadDeltas(t *testing.T) {
	orig := testBatch(CodecNone, 5, 10)
	h, _ := ParseHeader(orig)
	all, _ := Records(orig, 1<<20)
	for name, recs := range map[string][]Record{
		"decreasing":      {all[3], all[1]},
		"duplicate":       {all[2], all[2]},
		"past last delta": {{OffsetDelta: 5}},
		"negative":        {{OffsetDelta: -1}},
	} {
		if _, err := Rebuild(h, recs, false); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDeleteHorizonKeepsRecordTimestamps(t *testing.T) {
	orig := testBatch(CodecLZ4, 6, 10)
	h, _ := ParseHeader(orig)
	if _, ok := h.DeleteHorizon(); ok {
		t.Fatal("fresh batch has a delete horizon")
	}
	recs, _ := Records(orig, 1<<20)
	before := make([]int64, len(recs))
	for i := range recs {
		before[i] = recordTimestamp(h, &recs[i])
	}
	const horizon = 1_800_000_000_000
	nh := h.WithDeleteHorizon(horizon)
	RebaseTimestamps(recs, h.BaseTimestamp, nh.BaseTimestamp)
	b, err := Rebuild(nh, recs, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ParseHeader(b)
	if ms, ok := got.DeleteHorizon(); !ok || ms != horizon || got.Codec() != CodecLZ4 || got.MaxTimestamp != h.MaxTimestamp {
		t.Fatalf("header %+v", got)
	}
	after, err := Records(b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range after {
		if ts := recordTimestamp(got, &after[i]); ts != before[i] {
			t.Fatalf("record %d timestamp %d, was %d", i, ts, before[i])
		}
	}
}

// sameThinnedRecords compares records whose offset deltas have gaps.
func sameThinnedRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	renumber := func(recs []Record) []Record {
		out := append([]Record(nil), recs...)
		for i := range out {
			out[i].OffsetDelta = int32(i)
		}
		return out
	}
	for i := range want {
		if got[i].OffsetDelta != want[i].OffsetDelta {
			t.Fatalf("record %d offset delta %d, want %d", i, got[i].OffsetDelta, want[i].OffsetDelta)
		}
	}
	sameRecords(t, renumber(got), renumber(want))
}
