package store

import (
	"bytes"
	"math"
	"testing"
)

func TestKeyEncodingTable(t *testing.T) {
	tests := []struct {
		key, want []byte
	}{
		{key: nil, want: []byte{0x00, 0x01}},
		{key: []byte("ab"), want: []byte{'a', 'b', 0x00, 0x01}},
		{key: []byte{0x00}, want: []byte{0x00, 0xFF, 0x00, 0x01}},
		{key: []byte{'a', 0x00, 0x00, 'b'}, want: []byte{'a', 0x00, 0xFF, 0x00, 0xFF, 'b', 0x00, 0x01}},
		{key: []byte{0xFF, 0x01}, want: []byte{0xFF, 0x01, 0x00, 0x01}},
	}
	for _, tt := range tests {
		got := appendKey(nil, tt.key)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("appendKey(%x) = %x, want %x", tt.key, got, tt.want)
		}
		back, _, err := decodeKey(nil, got[:len(got)-2])
		if err != nil || !bytes.Equal(back, tt.key) {
			t.Errorf("decodeKey(%x) = %x, %v, want %x", got, back, err, tt.key)
		}
	}
	for _, bad := range [][]byte{{0x00}, {'a', 0x00, 0x02}} {
		if _, _, err := decodeKey(nil, bad); err == nil {
			t.Errorf("decodeKey(%x) accepted a bad escape", bad)
		}
	}
}

// FuzzKeyEncoding checks the properties the window and session layouts
// rely on: encoded keys order as the keys do, decode back, and stay apart
// when followed by any suffix, so a key never matches another it prefixes.
func FuzzKeyEncoding(f *testing.F) {
	f.Add([]byte("a"), []byte("a\x00"), []byte{0x00, 0x01})
	f.Add([]byte{}, []byte{0x00}, []byte{0xFF})
	f.Add([]byte("ab"), []byte("a"), []byte{})
	f.Fuzz(func(t *testing.T, a, b, suffix []byte) {
		ea, eb := appendKey(nil, a), appendKey(nil, b)
		if got, want := bytes.Compare(ea, eb), bytes.Compare(a, b); got != want {
			t.Fatalf("order of %x, %x is %d encoded, %d raw", a, b, got, want)
		}
		if !bytes.Equal(a, b) {
			// Any suffix after a's encoding stays on a's side of b's.
			withSuffix := append(bytes.Clone(ea), suffix...)
			if bytes.HasPrefix(withSuffix, eb) || bytes.HasPrefix(eb, ea) {
				t.Fatalf("encodings of %x and %x overlap", a, b)
			}
			if got, want := bytes.Compare(withSuffix, append(bytes.Clone(eb), suffix...)), bytes.Compare(a, b); got != want {
				t.Fatalf("order of %x, %x changes with suffix %x", a, b, suffix)
			}
		}
		back, _, err := decodeKey(nil, ea[:len(ea)-2])
		if err != nil || !bytes.Equal(back, a) {
			t.Fatalf("decode(%x) = %x, %v", ea, back, err)
		}
	})
}

func TestInt64EncodingOrders(t *testing.T) {
	values := []int64{math.MinInt64, -1 << 40, -61_000, -1, 0, 1, 59_999, 1 << 40, math.MaxInt64}
	for i := 1; i < len(values); i++ {
		a, b := appendInt64(nil, values[i-1]), appendInt64(nil, values[i])
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("%d encodes above %d", values[i-1], values[i])
		}
		if readInt64(b) != values[i] {
			t.Errorf("readInt64 round trip of %d gave %d", values[i], readInt64(b))
		}
	}
}

func TestFloorDivAndPrefixEnd(t *testing.T) {
	for _, tt := range []struct{ a, b, want int64 }{
		{0, 60, 0}, {59, 60, 0}, {60, 60, 1}, {-1, 60, -1}, {-60, 60, -1}, {-61, 60, -2},
		{math.MinInt64, 1, math.MinInt64}, {math.MaxInt64, 1, math.MaxInt64},
	} {
		if got := floorDiv(tt.a, tt.b); got != tt.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	for _, tt := range []struct{ prefix, want []byte }{
		{[]byte{1, 2}, []byte{1, 3}},
		{[]byte{1, 0xFF}, []byte{2}},
		{[]byte{0xFF, 0xFF}, nil},
		{nil, nil},
	} {
		if got := prefixEnd(tt.prefix); !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("prefixEnd(%x) = %x, want %x", tt.prefix, got, tt.want)
		}
	}
	if addSaturated(math.MinInt64, -5) != math.MinInt64 || addSaturated(math.MaxInt64, 5) != math.MaxInt64 {
		t.Error("addSaturated does not saturate")
	}
}
