package kwire

import "testing"

func TestSkipTaggedFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		rest string
		ok   bool
	}{
		{"none", []byte{0, 'b'}, "b", true},
		{"one", []byte{1, 9, 2, 'x', 'y', 'b'}, "b", true},
		{"two ascending", []byte{2, 1, 0, 3, 1, 'z', 'b'}, "b", true},
		{"two unordered", []byte{2, 3, 0, 1, 0, 'b'}, "", false},
		{"size past the end", []byte{1, 9, 5, 'x'}, "", false},
		{"count without fields", []byte{3}, "", false},
		{"no count", nil, "", false},
		{"too many", []byte{65}, "", false},
	} {
		rest, err := SkipTaggedFields(tc.in)
		if (err == nil) != tc.ok || string(rest) != tc.rest {
			t.Errorf("%s: rest %q, err %v", tc.name, rest, err)
		}
	}
}

// FuzzTaggedFields checks the reader never returns more than its input.
func FuzzTaggedFields(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{1, 0, 2, 'a', 'b'})
	f.Add([]byte{2, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rest, err := SkipTaggedFields(b)
		if err == nil && len(rest) > len(b) {
			t.Fatalf("rest longer than input")
		}
	})
}
