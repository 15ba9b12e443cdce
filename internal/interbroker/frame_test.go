package interbroker

import "testing"

func TestParseResponseHeader(t *testing.T) {
	for _, tc := range []struct {
		name     string
		frame    []byte
		flexible bool
		body     string
		ok       bool
	}{
		{"plain", []byte{0, 0, 0, 5, 'b'}, false, "b", true},
		{"wrong correlation", []byte{0, 0, 0, 6, 'b'}, false, "", false},
		{"short", []byte{0, 0, 5}, false, "", false},
		{"flexible, no tags", []byte{0, 0, 0, 5, 0, 'b'}, true, "b", true},
		{"flexible, one tag", []byte{0, 0, 0, 5, 1, 9, 2, 'x', 'y', 'b'}, true, "b", true},
		{"tag longer than the frame", []byte{0, 0, 0, 5, 1, 9, 5, 'x'}, true, "", false},
		{"tag count without tags", []byte{0, 0, 0, 5, 3}, true, "", false},
		{"no tag count", []byte{0, 0, 0, 5}, true, "", false},
	} {
		body, err := parseResponseHeader(tc.frame, 5, tc.flexible)
		if (err == nil) != tc.ok || string(body) != tc.body {
			t.Errorf("%s: body %q, err %v", tc.name, body, err)
		}
	}
}

// FuzzParseResponseHeader: any bytes from a broker give a body inside the
// frame or an error, never a panic.
func FuzzParseResponseHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 5, 1, 9, 2, 'x', 'y', 'b'}, true)
	f.Add([]byte{0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x0f}, true)
	f.Fuzz(func(t *testing.T, frame []byte, flexible bool) {
		body, err := parseResponseHeader(frame, 5, flexible)
		if err == nil && len(body) > len(frame) {
			t.Fatalf("body of %d bytes from a %d byte frame", len(body), len(frame))
		}
	})
}
