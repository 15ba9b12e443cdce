package assign

import (
	"errors"
	"slices"
	"testing"
)

func TestTaskIDText(t *testing.T) {
	for _, tc := range []struct {
		text string
		id   TaskID
	}{
		{"0_0", TaskID{0, 0}},
		{"0_3", TaskID{0, 3}},
		{"12_2147483647", TaskID{12, 2147483647}},
	} {
		if got := tc.id.String(); got != tc.text {
			t.Errorf("%v.String() = %q, want %q", tc.id, got, tc.text)
		}
		got, err := ParseTaskID(tc.text)
		if err != nil || got != tc.id {
			t.Errorf("ParseTaskID(%q) = %v, %v; want %v", tc.text, got, err, tc.id)
		}
	}
	for _, bad := range []string{"", "_", "1", "1_", "_1", "-1_0", "1_-1", "+1_0", " 1_0", "1_0_0", "a_1", "1_2147483648", "1_0x1"} {
		if _, err := ParseTaskID(bad); !errors.Is(err, ErrBadTaskID) {
			t.Errorf("ParseTaskID(%q): got %v, want ErrBadTaskID", bad, err)
		}
	}
}

func TestTaskIDCompare(t *testing.T) {
	got := []TaskID{{1, 0}, {0, 10}, {0, 2}, {10, 0}, {2, 1}}
	slices.SortFunc(got, TaskID.Compare)
	want := []TaskID{{0, 2}, {0, 10}, {1, 0}, {2, 1}, {10, 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("sorted %v, want %v", got, want)
	}
}
