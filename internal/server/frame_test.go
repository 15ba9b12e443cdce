package server

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestReadFrameGrowsWithTheBytes: a frame announced at 100 MiB of which a
// little arrives holds a buffer the size of what arrived (plus one step),
// not of what was announced; a frame that arrives whole reads back intact
// whether it fits the kept buffer or grows past several steps.
func TestReadFrameGrowsWithTheBytes(t *testing.T) {
	const announced = 100 << 20
	for _, sent := range []int{10, frameGrowStep + 1, 3*frameGrowStep + 5} {
		buf, err := readFrame(io.LimitReader(zeros{}, int64(sent)), announced, nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			t.Fatalf("%d of %d bytes: err %v", sent, announced, err)
		}
		if len(buf) != sent || cap(buf) > 2*sent+frameGrowStep {
			t.Errorf("%d of %d bytes: len %d cap %d, want len %d and cap at most %d", sent, announced, len(buf), cap(buf), sent, 2*sent+frameGrowStep)
		}
	}
	for _, size := range []int{0, 7, frameGrowStep, 5*frameGrowStep + 3} {
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(i * 7)
		}
		for _, kept := range [][]byte{nil, make([]byte, 0, 8<<20)} {
			got, err := readFrame(bytes.NewReader(want), size, kept)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("size %d (kept cap %d): %d bytes, err %v", size, cap(kept), len(got), err)
			}
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
