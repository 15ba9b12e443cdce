package lag

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// window builds samples one second apart from (committed, end) pairs, all
// with members.
func window(pairs ...[2]int64) []Sample {
	out := make([]Sample, len(pairs))
	for i, p := range pairs {
		out[i] = Sample{At: t0.Add(time.Duration(i) * time.Second), Committed: p[0], End: p[1], Members: 1}
	}
	return out
}

func withMembers(w []Sample, n int) []Sample {
	w[len(w)-1].Members = n
	return w
}

func TestEvaluate(t *testing.T) {
	th := Thresholds{Window: 4, StopAfter: time.Minute}
	unreadable := window([2]int64{5, 10})
	unreadable[0].Err = errors.New("offline")
	tests := []struct {
		name       string
		window     []Sample
		lastCommit time.Time
		want       Status
	}{
		{"empty window", nil, t0, StatusUnknown},
		{"unreadable", unreadable, t0, StatusError},
		{"committed beyond end", window([2]int64{12, 10}), t0, StatusError},
		{"caught up now", window([2]int64{5, 10}, [2]int64{5, 10}, [2]int64{5, 10}, [2]int64{10, 10}), t0, StatusOK},
		{"caught up, no members", withMembers(window([2]int64{10, 10}), 0), t0, StatusOK},
		{"lag, no members", withMembers(window([2]int64{5, 10}), 0), t0, StatusStopped},
		{"lag, members unknown", withMembers(window([2]int64{5, 10}), -1), t0, StatusUnknown},
		{"no progress for StopAfter", window([2]int64{5, 10}, [2]int64{5, 11}), t0.Add(-time.Minute), StatusStopped},
		{"no progress for less than StopAfter", window([2]int64{5, 10}, [2]int64{5, 11}), t0.Add(-time.Second), StatusUnknown},
		{"one sample with lag", window([2]int64{5, 10}), t0, StatusUnknown},
		{"caught up earlier in the window",
			window([2]int64{5, 5}, [2]int64{5, 6}, [2]int64{5, 7}, [2]int64{5, 8}), t0, StatusOK},
		{"partial window still", window([2]int64{5, 10}, [2]int64{5, 11}, [2]int64{5, 12}), t0, StatusUnknown},
		{"stalled, lag growing",
			window([2]int64{5, 10}, [2]int64{5, 11}, [2]int64{5, 12}, [2]int64{5, 13}), t0, StatusStalled},
		{"stalled, lag fixed",
			window([2]int64{5, 10}, [2]int64{5, 10}, [2]int64{5, 10}, [2]int64{5, 10}), t0, StatusStalled},
		{"warning: commits move, lag grows every sample",
			window([2]int64{5, 10}, [2]int64{6, 13}, [2]int64{7, 16}, [2]int64{8, 19}), t0, StatusWarning},
		{"ok: lag fell once",
			window([2]int64{5, 10}, [2]int64{6, 13}, [2]int64{12, 16}, [2]int64{13, 19}), t0, StatusOK},
		{"ok: lag flat while committing",
			window([2]int64{5, 10}, [2]int64{6, 11}, [2]int64{7, 12}, [2]int64{8, 13}), t0, StatusOK},
		{"ok: lag grows between commits, falls at each",
			window([2]int64{5, 10}, [2]int64{5, 11}, [2]int64{11, 12}, [2]int64{11, 13}), t0, StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(tt.window, tt.lastCommit, th); got != tt.want {
				t.Errorf("Evaluate = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestStatusWorse(t *testing.T) {
	tests := []struct{ a, b, want Status }{
		{StatusOK, StatusUnknown, StatusUnknown},
		{StatusWarning, StatusOK, StatusWarning},
		{StatusStalled, StatusWarning, StatusStalled},
		{StatusStalled, StatusStopped, StatusStopped},
		{StatusError, StatusStopped, StatusError},
	}
	for _, tt := range tests {
		if got := tt.a.Worse(tt.b); got != tt.want {
			t.Errorf("%s.Worse(%s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}
