package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
)

// testConn is a connection of a server with limits, for reading frames.
func testConn(t *testing.T, limits Limits) *conn {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return newConn(New(Routes{}, limits, nil), a)
}

// TestReadFrameGrowsWithTheBytes: a frame announced at 100 MiB of which a
// little arrives holds a buffer, and pool memory, the size of what arrived
// (plus one step), not of what was announced; a frame that arrives whole
// reads back intact whether it fits the kept buffer or grows past several
// steps, and gives its memory back once released.
func TestReadFrameGrowsWithTheBytes(t *testing.T) {
	const announced = 100 << 20
	ctx := context.Background()
	c := testConn(t, DefaultLimits())
	for _, sent := range []int{10, frameFirstStep + 1, 3*frameFirstStep + 5, 5 << 20} {
		buf, ticket, err := c.readFrame(ctx, io.LimitReader(zeros{}, int64(sent)), announced)
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			t.Fatalf("%d of %d bytes: err %v", sent, announced, err)
		}
		bound := 2*sent + frameFirstStep
		if len(buf) != sent || cap(buf) > bound {
			t.Errorf("%d of %d bytes: len %d cap %d, want len %d and cap at most %d", sent, announced, len(buf), cap(buf), sent, bound)
		}
		if held := c.srv.pool.held(); held > int64(bound) {
			t.Errorf("%d of %d bytes: pool holds %d, want at most %d", sent, announced, held, bound)
		}
		c.srv.pool.release(ticket)
		if held := c.srv.pool.held(); held != 0 {
			t.Fatalf("pool holds %d after release", held)
		}
	}
	for _, size := range []int{0, 7, frameFirstStep, 5*frameFirstStep + 3} {
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(i * 7)
		}
		for _, kept := range [][]byte{nil, make([]byte, 0, 8<<20)} {
			c.frameBuf = kept
			got, ticket, err := c.readFrame(ctx, bytes.NewReader(want), size)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("size %d (kept cap %d): %d bytes, err %v", size, cap(kept), len(got), err)
			}
			c.srv.pool.release(ticket)
		}
	}
	if held := c.srv.pool.held(); held != 0 {
		t.Fatalf("pool holds %d after every frame was released", held)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
