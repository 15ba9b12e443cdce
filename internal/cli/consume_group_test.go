package cli

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupProgress drives the state a group member without --follow
// keeps, as kgo's callbacks and the poll loop would.
func TestGroupProgress(t *testing.T) {
	ranges := map[int32]partitionRange{
		0: {start: 4, end: 10, logStart: 2}, // --from planned 4; committed 7 wins
		1: {start: 5, end: 5, logStart: 0},  // no commit, already at its end
		2: {start: 0, end: 3, logStart: 6},  // committed 1, below the log start
	}
	p := newGroupProgress(consumeOptions{topic: "t", from: fromSpec{kind: fromEnd}}, ranges)
	if p.done() {
		t.Fatal("done before any assignment")
	}
	pollCtx, endPoll := p.pollContext(context.Background(), time.Hour)
	defer endPoll()

	placeholder := kgo.NewOffset().AtStart()
	offsets := map[string]map[int32]kgo.Offset{"t": {
		0: kgo.NewOffset().At(7), 1: placeholder, 2: kgo.NewOffset().At(1), 9: placeholder,
	}}
	adjusted, err := p.adjust(context.Background(), offsets)
	if err != nil {
		t.Fatal(err)
	}
	if got := adjusted["t"][1].EpochOffset().Offset; got != 5 {
		t.Errorf("partition 1 starts at %d, want --from's 5", got)
	}
	if got := adjusted["t"][9].EpochOffset().Offset; got != -1 {
		t.Errorf("partition 9 (created after start) starts at %d, want --from end (-1)", got)
	}
	if want := map[int32]int64{0: 7, 1: 5, 2: 6}; !maps.Equal(p.positions(), want) {
		t.Errorf("positions = %v, want %v", p.positions(), want)
	}
	if p.done() || pollCtx.Err() != nil {
		t.Fatal("done while partition 0 is behind")
	}
	for offset := int64(7); offset < 10; offset++ {
		r := &kgo.Record{Partition: 0, Offset: offset}
		if !p.wanted(r) {
			t.Fatalf("offset %d below the end not wanted", offset)
		}
		p.advance(r)
	}
	if p.wanted(&kgo.Record{Partition: 0, Offset: 10}) || p.wanted(&kgo.Record{Partition: 9, Offset: 0}) {
		t.Error("records past the end, or of a partition unknown at start, wanted without --follow")
	}
	if !p.done() {
		t.Errorf("not done at positions %v", p.positions())
	}

	p.lost(context.Background(), nil, map[string][]int32{"t": {0, 1, 2}})
	if len(p.positions()) != 0 || !p.done() {
		t.Errorf("after losing every partition: positions %v, done %v", p.positions(), p.done())
	}
}

// TestGroupProgressWakesPoll: a rebalance that leaves the member with
// nothing to read ends the poll waiting for records.
func TestGroupProgressWakesPoll(t *testing.T) {
	p := newGroupProgress(consumeOptions{topic: "t"}, map[int32]partitionRange{0: {start: 3, end: 3}})
	pollCtx, endPoll := p.pollContext(context.Background(), time.Hour)
	defer endPoll()
	if _, err := p.adjust(context.Background(), map[string]map[int32]kgo.Offset{"t": {0: kgo.NewOffset().AtStart()}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pollCtx.Done():
	default:
		t.Fatal("poll not woken when the member became done")
	}
	follower := newGroupProgress(consumeOptions{topic: "t", follow: true}, nil)
	if follower.done() || !follower.wanted(&kgo.Record{Partition: 5, Offset: 1 << 40}) {
		t.Error("a member with --follow is done, or skips records")
	}
}
