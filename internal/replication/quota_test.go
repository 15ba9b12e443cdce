package replication

import (
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/testclock"
)

func TestTokenBucket(t *testing.T) {
	type step struct {
		advance  time.Duration
		record   int64
		setRate  int64 // 0: unchanged; use -1 for a rate of 0
		exceeded bool
		wait     time.Duration
	}
	for _, tc := range []struct {
		name  string
		rate  int64
		steps []step
	}{
		{name: "unthrottled never exceeds", rate: Unthrottled, steps: []step{
			{record: 1 << 40, exceeded: false},
			{record: 1 << 40, exceeded: false},
		}},
		{name: "starts with one second of burst", rate: 1000, steps: []step{
			{record: 999, exceeded: false},
			{record: 1, exceeded: true, wait: time.Millisecond},
			{advance: 500 * time.Millisecond, exceeded: false},
		}},
		{name: "a large send is repaid before the next", rate: 1000, steps: []step{
			{record: 4000, exceeded: true, wait: time.Second},
			{advance: 2 * time.Second, exceeded: true, wait: time.Second},
			{advance: time.Second, exceeded: true, wait: time.Millisecond},
			{advance: time.Millisecond, exceeded: false},
		}},
		{name: "idle time saves at most one second", rate: 1000, steps: []step{
			{advance: time.Hour, record: 1000, exceeded: true},
			{advance: 100 * time.Millisecond, exceeded: false},
			{record: 200, exceeded: true, wait: 100 * time.Millisecond},
		}},
		{name: "rate zero holds everything", rate: 0, steps: []step{
			{exceeded: true, wait: maxQuotaWait},
			{advance: time.Hour, exceeded: true, wait: maxQuotaWait},
		}},
		{name: "a raised rate repays a debt sooner", rate: 100, steps: []step{
			{record: 200, exceeded: true, wait: time.Second},
			{setRate: 1000, exceeded: true, wait: 100 * time.Millisecond},
			{advance: 100 * time.Millisecond, exceeded: true, wait: time.Millisecond},
			{advance: time.Millisecond, exceeded: false},
		}},
		{name: "a lowered rate drops saved bytes", rate: 1000, steps: []step{
			{setRate: 10, record: 10, exceeded: true},
			{advance: time.Second, exceeded: false},
		}},
		{name: "removing the throttle forgives the debt", rate: 10, steps: []step{
			{record: 1 << 20, exceeded: true},
			{setRate: Unthrottled, exceeded: false},
		}},
		{name: "a clock stepping back changes nothing", rate: 1000, steps: []step{
			{record: 1000, exceeded: true},
			{advance: -time.Hour, exceeded: true},
			{advance: time.Hour + 10*time.Millisecond, exceeded: false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testclock.At(time.Unix(1000, 0))
			b := NewTokenBucket(tc.rate, clock.Now())
			for i, s := range tc.steps {
				clock.Advance(s.advance)
				switch {
				case s.setRate == -1:
					b.SetRate(0, clock.Now())
				case s.setRate != 0:
					b.SetRate(s.setRate, clock.Now())
				}
				b.Record(s.record, clock.Now())
				if got := b.Exceeded(clock.Now()); got != s.exceeded {
					t.Fatalf("step %d: exceeded %v, want %v", i, got, s.exceeded)
				}
				if s.wait != 0 {
					if got := b.Wait(clock.Now()); got != s.wait {
						t.Fatalf("step %d: wait %v, want %v", i, got, s.wait)
					}
				}
			}
		})
	}
}

func TestQuotaHold(t *testing.T) {
	clock := testclock.At(time.Unix(1000, 0))
	q := NewQuota(clock.Now)
	if q.Hold(false) || q.HoldFollower(4, []BrokerID{1, 2}) {
		t.Fatal("an unthrottled quota held a send")
	}
	q.SetRate(1 << 20)
	q.Record(2 << 20)
	if !q.HoldFollower(4, []BrokerID{1, 2}) {
		t.Fatal("an out-of-sync follower was not held on an exceeded quota")
	}
	if q.HoldFollower(2, []BrokerID{1, 2}) || q.Hold(true) {
		t.Fatal("an in-sync replica was held")
	}
	if got := q.ThrottledSends(); got != 1 {
		t.Fatalf("throttled sends %d, want 1", got)
	}
	if w := q.Wait(); w != time.Second {
		t.Fatalf("wait %v, want 1s", w)
	}
	clock.Advance(time.Second + time.Millisecond)
	if q.Hold(false) {
		t.Fatal("held after the debt was repaid")
	}
	q.SetRate(Unthrottled)
	q.Record(1 << 40)
	if q.Hold(false) || q.Exceeded() || q.Rate() != Unthrottled {
		t.Fatal("an unthrottled quota holds sends")
	}
}
