package replication

import "testing"

func TestTruncationOffset(t *testing.T) {
	tests := []struct {
		name     string
		follower EpochCache
		hw       Offset
		leader   EpochEndOffset
		want     Truncation
	}{
		{
			// KIP-101 scenario 1: the follower's HW lagged; truncating to it
			// and then being elected would lose an acked record.
			name:     "same epoch, same end: keep everything",
			follower: EpochCache{Entries: []EpochEntry{{0, 0}}, LogEndOffset: 2},
			hw:       1,
			leader:   EpochEndOffset{0, 2},
			want:     Truncation{2, true},
		},
		{
			// KIP-101 scenario 2: A had m1, m2 in epoch 0; B had m1 only,
			// became leader in epoch 1 and wrote m3 at offset 1.
			name:     "diverged after two hard failures",
			follower: EpochCache{Entries: []EpochEntry{{0, 0}}, LogEndOffset: 2},
			hw:       0,
			leader:   EpochEndOffset{0, 1},
			want:     Truncation{1, true},
		},
		{
			name:     "follower behind the leader's epoch end",
			follower: EpochCache{Entries: []EpochEntry{{0, 0}, {2, 5}}, LogEndOffset: 7},
			leader:   EpochEndOffset{2, 9},
			want:     Truncation{7, true},
		},
		{
			name:     "follower's latest epoch unknown to the leader",
			follower: EpochCache{Entries: []EpochEntry{{0, 0}, {1, 5}, {3, 10}}, LogEndOffset: 15},
			leader:   EpochEndOffset{2, 12},
			want:     Truncation{10, false},
		},
		{
			name:     "leader knows no epoch at or below: truncate to the HW",
			follower: EpochCache{Entries: []EpochEntry{{4, 100}}, LogEndOffset: 120},
			hw:       110,
			leader:   EpochEndOffset{UndefinedEpoch, UndefinedEpochOffset},
			want:     Truncation{110, true},
		},
		{
			name:     "follower knows no epoch at or below the leader's",
			follower: EpochCache{Entries: []EpochEntry{{5, 50}}, LogEndOffset: 60},
			leader:   EpochEndOffset{3, 55},
			want:     Truncation{55, true},
		},
		{
			name:     "empty follower",
			follower: EpochCache{LogEndOffset: 0},
			leader:   EpochEndOffset{0, 10},
			want:     Truncation{0, true},
		},
		{
			name:     "leader answers an end without an epoch",
			follower: EpochCache{Entries: []EpochEntry{{1, 0}}, LogEndOffset: 30},
			leader:   EpochEndOffset{UndefinedEpoch, 20},
			want:     Truncation{20, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TruncationOffset(&tt.follower, tt.follower.LogEndOffset, tt.hw, tt.leader)
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestTruncationConverges runs the whole exchange, request after request,
// between two epoch histories that diverged over several failovers, and
// checks the follower ends at the longest common prefix.
func TestTruncationConverges(t *testing.T) {
	tests := []struct {
		name     string
		leader   EpochCache
		follower EpochCache
		want     Offset
	}{
		{
			// Follower led epochs 1 and 3 alone; the leader's history went
			// 0 -> 2 -> 4.
			name:     "several epochs the leader never had",
			leader:   EpochCache{Entries: []EpochEntry{{0, 0}, {2, 5}, {4, 12}}, LogEndOffset: 20},
			follower: EpochCache{Entries: []EpochEntry{{0, 0}, {1, 5}, {3, 10}}, LogEndOffset: 15},
			want:     5,
		},
		{
			name:     "identical",
			leader:   EpochCache{Entries: []EpochEntry{{0, 0}, {1, 10}}, LogEndOffset: 20},
			follower: EpochCache{Entries: []EpochEntry{{0, 0}, {1, 10}}, LogEndOffset: 20},
			want:     20,
		},
		{
			name:     "follower ahead in a shared epoch (the leader lost an unflushed tail)",
			leader:   EpochCache{Entries: []EpochEntry{{0, 0}, {1, 10}, {2, 14}}, LogEndOffset: 30},
			follower: EpochCache{Entries: []EpochEntry{{0, 0}, {1, 10}}, LogEndOffset: 18},
			want:     14,
		},
		{
			name:     "follower still in an old epoch, behind",
			leader:   EpochCache{Entries: []EpochEntry{{0, 0}, {5, 40}}, LogEndOffset: 50},
			follower: EpochCache{Entries: []EpochEntry{{0, 0}}, LogEndOffset: 30},
			want:     30,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.follower
			for round := 0; ; round++ {
				if round > 10 {
					t.Fatal("truncation did not converge")
				}
				epoch, end := tt.leader.EndOffsetForEpoch(f.Latest())
				tr := TruncationOffset(&f, f.LogEndOffset, 0, EpochEndOffset{epoch, Offset(end)})
				f.TruncateFromEnd(tr.Offset)
				if tr.Done {
					break
				}
			}
			if f.LogEndOffset != tt.want {
				t.Fatalf("follower truncated to %d, want %d", f.LogEndOffset, tt.want)
			}
		})
	}
}
