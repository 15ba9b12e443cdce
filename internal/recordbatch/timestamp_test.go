package recordbatch

import (
	"errors"
	"testing"
)

func TestFirstOffsetAtOrAfter(t *testing.T) {
	// Timestamps 100, 130, 110, 130 at offsets 50..53.
	records := []Record{{TimestampDelta: 0}, {TimestampDelta: 30}, {TimestampDelta: 10}, {TimestampDelta: 30}}
	for _, codec := range allCodecs {
		b := Build(BuildSpec{BaseOffset: 50, BaseTimestamp: 100, Codec: codec, Records: records})
		tests := []struct {
			ts         int64
			wantOffset int64
			wantTs     int64
			wantFound  bool
		}{
			{0, 50, 100, true},
			{100, 50, 100, true},
			{101, 51, 130, true},
			{115, 51, 130, true},
			{130, 51, 130, true},
			{131, 0, 0, false},
		}
		for _, tt := range tests {
			off, ts, found, err := FirstOffsetAtOrAfter(b, tt.ts, 1<<20)
			if err != nil || off != tt.wantOffset || ts != tt.wantTs || found != tt.wantFound {
				t.Fatalf("%s at %d: %d %d %v %v, want %d %d %v", codec, tt.ts, off, ts, found, err, tt.wantOffset, tt.wantTs, tt.wantFound)
			}
		}
		off, ts, err := MaxTimestampOffset(b, 1<<20)
		if err != nil || off != 51 || ts != 130 {
			t.Fatalf("%s max timestamp: %d %d %v, want 51 130", codec, off, ts, err)
		}
	}
}

func TestTimestampsLogAppendTime(t *testing.T) {
	b := Build(BuildSpec{BaseOffset: 7, BaseTimestamp: 100, LogAppendTime: true, MaxTimestamp: 900,
		Records: []Record{{TimestampDelta: 5}, {TimestampDelta: 1}}})
	off, ts, found, err := FirstOffsetAtOrAfter(b, 500, 1<<20)
	if err != nil || !found || off != 7 || ts != 900 {
		t.Fatalf("log append time: %d %d %v %v", off, ts, found, err)
	}
	off, ts, err = MaxTimestampOffset(b, 1<<20)
	if err != nil || off != 7 || ts != 900 {
		t.Fatalf("log append time max: %d %d %v", off, ts, err)
	}
}

func TestMaxTimestampOffsetWrongHeader(t *testing.T) {
	// A producer wrote a max timestamp no record carries: the largest
	// record timestamp wins.
	b := Build(BuildSpec{BaseTimestamp: 10, MaxTimestamp: 999, Records: []Record{{TimestampDelta: 1}, {TimestampDelta: 4}, {TimestampDelta: 2}}})
	off, ts, err := MaxTimestampOffset(b, 1<<20)
	if err != nil || off != 1 || ts != 14 {
		t.Fatalf("got %d %d %v, want 1 14", off, ts, err)
	}
	empty := Build(BuildSpec{})
	if _, _, err := MaxTimestampOffset(empty, 1<<20); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("empty batch: %v", err)
	}
	if _, _, _, err := FirstOffsetAtOrAfter(b[:40], 0, 1<<20); !errors.Is(err, ErrCorruptMessage) {
		t.Fatalf("short batch: %v", err)
	}
}
