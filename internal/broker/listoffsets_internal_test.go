package broker

import (
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/storage"
)

// TestLegacyOffsets checks ListOffsets v0's offsets against Kafka's
// legacyFetchOffsetsBefore: candidates are the segment starts and the log
// end, walked back from the latest, the earliest or the last one dated at
// or before the timestamp, newest first, capped at the high watermark.
func TestLegacyOffsets(t *testing.T) {
	const nowMs = 10_000
	// Three segments starting at 0, 100 and 200, their newest records at
	// 1000, 2000 and 3000; the log ends at 250.
	starts := []storage.SegmentStart{{Offset: 0, LargestTimestamp: 1000, SizeBytes: 10}, {Offset: 100, LargestTimestamp: 2000, SizeBytes: 10},
		{Offset: 200, LargestTimestamp: 3000, SizeBytes: 10}}
	emptyActive := []storage.SegmentStart{{Offset: 0, LargestTimestamp: 1000, SizeBytes: 10}, {Offset: 100, LargestTimestamp: 5000, SizeBytes: 0}}
	tests := []struct {
		name           string
		starts         []storage.SegmentStart
		logEnd, hw, ts int64
		maxOffsets     int
		want           []int64
	}{
		{"latest, all", starts, 250, 250, -1, 10, []int64{250, 200, 100, 0}},
		{"latest, one", starts, 250, 250, -1, 1, []int64{250}},
		{"latest, none asked", starts, 250, 250, -1, 0, []int64{}},
		{"earliest", starts, 250, 250, -2, 10, []int64{0}},
		{"before the second segment's newest record", starts, 250, 250, 1999, 10, []int64{0}},
		{"at the second segment's newest record", starts, 250, 250, 2000, 2, []int64{100, 0}},
		{"after the last record, before now", starts, 250, 250, 9999, 10, []int64{200, 100, 0}},
		{"at now", starts, 250, 250, nowMs, 10, []int64{250, 200, 100, 0}},
		{"before every record", starts, 250, 250, 999, 10, []int64{}},
		// A consumer never sees past the high watermark: the offsets above
		// it are replaced by it.
		{"latest above the high watermark", starts, 250, 220, -1, 10, []int64{220, 200, 100, 0}},
		{"two above the high watermark", starts, 250, 150, -1, 10, []int64{150, 100, 0}},
		{"latest, one, above the high watermark", starts, 250, 150, -1, 1, []int64{150}},
		// An empty active segment adds no log end candidate.
		{"empty active segment", emptyActive, 100, 100, -1, 10, []int64{100, 0}},
		{"empty active segment, dated", emptyActive, 100, 100, 4000, 10, []int64{0}},
		{"empty log", []storage.SegmentStart{{Offset: 0, LargestTimestamp: 1000}}, 0, 0, -1, 10, []int64{0}},
		{"no segments", nil, 0, 0, -2, 10, []int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := legacyOffsets(tc.starts, tc.logEnd, tc.hw, nowMs, tc.ts, tc.maxOffsets)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
