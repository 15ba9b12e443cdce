package kwire

import (
	"errors"
	"testing"
)

var errTest = errors.New("test: malformed")

func TestReaderReadsBigEndianAndStopsAtFirstFailure(t *testing.T) {
	r := &Reader{B: []byte{0x01, 0xff, 0xfe, 0, 0, 0, 7, 0xAA}, Malformed: errTest}
	if v := r.Uint8("u8"); v != 1 {
		t.Fatalf("Uint8 = %d, want 1", v)
	}
	if v := r.Int16("i16"); v != -2 {
		t.Fatalf("Int16 = %d, want -2", v)
	}
	if v := r.Int32("i32"); v != 7 {
		t.Fatalf("Int32 = %d, want 7", v)
	}
	if v := r.Int64("i64"); v != 0 || r.Err == nil {
		t.Fatalf("Int64 past the end = %d, err %v; want 0 and an error", v, r.Err)
	}
	if !errors.Is(r.Err, errTest) {
		t.Fatalf("error %v does not wrap the package's sentinel", r.Err)
	}
	first := r.Err
	r.Fail("later failure")
	if r.Err != first || r.B != nil || r.Take(0, "after") != nil {
		t.Fatalf("after a failure: err %v, %d bytes left; want the first error and nothing to read", r.Err, len(r.B))
	}
}
