package server

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestRequestPoolAdmitsWhileMemoryIsLeft: a frame is admitted while any
// memory is left, even one larger than what is left; then new frames wait
// until memory comes back.
func TestRequestPoolAdmitsWhileMemoryIsLeft(t *testing.T) {
	ctx := context.Background()
	p := newRequestPool(100)
	a, err := p.admit(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.admit(ctx, 60) // 40 left: admitted, overruns to 120
	if err != nil {
		t.Fatal(err)
	}
	admitted := make(chan *frameTicket)
	go func() {
		c, _ := p.admit(ctx, 1)
		admitted <- c
	}()
	select {
	case <-admitted:
		t.Fatal("admitted with the pool overrun")
	case <-time.After(20 * time.Millisecond):
	}
	p.release(a) // 60 held: room again
	c := <-admitted
	p.release(b)
	p.release(c)
	if held := p.held(); held != 0 {
		t.Fatalf("pool holds %d after every release", held)
	}
	waitCtx, cancel := context.WithCancel(ctx)
	full, _ := p.admit(ctx, 100)
	cancel()
	if _, err := p.admit(waitCtx, 1); err == nil {
		t.Fatal("admit with a cancelled context and a full pool succeeded")
	}
	p.release(full)
}

// TestRequestPoolOldestFrameAlwaysGrows: with the pool full of half-read
// frames, the oldest one still gets memory, so it finishes and the others
// follow: many frames growing at once over a small pool all complete.
func TestRequestPoolOldestFrameAlwaysGrows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newRequestPool(64)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for range 50 {
				t1, err := p.admit(ctx, 8)
				if err != nil {
					t.Error(err)
					return
				}
				for range rng.IntN(6) {
					if err := p.grow(ctx, t1, int64(8+rng.IntN(24))); err != nil {
						t.Error("deadlock: a frame could not grow:", err)
						p.release(t1)
						return
					}
				}
				p.doneReading(t1)
				p.release(t1)
			}
		})
	}
	wg.Wait()
	if held := p.held(); held != 0 {
		t.Fatalf("pool holds %d after every release", held)
	}
}
