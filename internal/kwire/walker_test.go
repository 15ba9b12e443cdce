package kwire

import "testing"

func TestWalker(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		walk func(w *Walker)
		bad  bool
	}{
		{"flexible string, null string, bytes, no tags", []byte{2, 'a', 0, 3, 1, 2, 0},
			func(w *Walker) { w.String(true); w.NullableString(true); w.Bytes(true); w.Tags() }, false},
		{"classic string, null string, null bytes", []byte{0, 1, 'a', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			func(w *Walker) { w.String(false); w.NullableString(false); w.Bytes(false) }, false},
		{"null where a string must be", []byte{0}, func(w *Walker) { w.String(true) }, true},
		{"string past the end", []byte{5, 'a'}, func(w *Walker) { w.String(true) }, true},
		{"array count beyond the bytes", []byte{0, 0, 0, 9, 1}, func(w *Walker) { w.ArrayLen(false) }, true},
		{"2^32 tags", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, func(w *Walker) { w.Tags() }, true},
		{"one tag", []byte{1, 7, 1, 'x'}, func(w *Walker) { w.Tags() }, false},
		{"varint too long", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(w *Walker) { w.Uvarint() }, true},
		{"steps after a failure stay failed", []byte{1},
			func(w *Walker) { w.Int32(); w.Skip(0) }, true},
	} {
		w := NewWalker(tc.in)
		tc.walk(w)
		if w.Bad() != tc.bad {
			t.Errorf("%s: bad %v, want %v", tc.name, w.Bad(), tc.bad)
		}
	}
}
