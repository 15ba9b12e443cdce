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

// TestRequestPoolServesInOrder: new frames waiting for memory are admitted
// in the order they came, and one that gives up leaves the queue without
// holding up those behind it.
func TestRequestPoolServesInOrder(t *testing.T) {
	ctx := context.Background()
	p := newRequestPool(100)
	full, _ := p.admit(ctx, 100)
	order := make(chan int, 3)
	gaveUp, cancel := context.WithCancel(ctx)
	for i := range 3 {
		go func() {
			wctx := ctx
			if i == 1 {
				wctx = gaveUp
			}
			// Each takes the whole pool, so they are admitted one
			// at a time and their order shows.
			t1, err := p.admit(wctx, 100)
			if err != nil {
				order <- -1
				return
			}
			order <- i
			p.release(t1)
		}()
		waitFor(t, func() bool { return p.waiting() == i+1 }, "the waiter to queue")
	}
	cancel()
	if got := <-order; got != -1 {
		t.Fatalf("first event %d, want the cancelled waiter giving up", got)
	}
	if p.waiting() != 2 {
		t.Fatalf("%d waiters after one gave up, want 2", p.waiting())
	}
	p.release(full)
	if a, b := <-order, <-order; a != 0 || b != 2 {
		t.Fatalf("admitted in order %d, %d; want 0, 2", a, b)
	}
	if held := p.held(); held != 0 {
		t.Fatalf("pool holds %d after every release", held)
	}
}
