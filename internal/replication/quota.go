package replication

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Replication throttles (KIP-73). A broker has two quotas: the leader quota
// bounds the bytes it sends to followers of partitions throttled on its
// side, the follower quota the bytes its fetcher takes for partitions
// throttled on its side. Only replicas out of sync are ever held back, so a
// throttle slows a reassignment's new replicas and never the ISR (which
// would shrink the ISR and stall acks=all producers); the bytes of in-sync
// replicas of throttled partitions still count against the rate, as in
// Kafka, so the catching-up replicas get what the rate leaves.

// Unthrottled is the rate of a quota with no limit, Kafka's default
// Long.MAX_VALUE for the throttle rates.
const Unthrottled int64 = math.MaxInt64

// quotaBurst is how much unused rate a quota saves up: one second's worth,
// about Kafka's one-second quota sample window, so a quota idle for a while
// lets one burst through and then holds the rate.
const quotaBurst = time.Second

// maxQuotaWait bounds how long a follower sleeps on an exhausted quota
// before it looks again, so a raised or removed rate takes effect soon.
const maxQuotaWait = time.Second

// TokenBucket is the pure rate limiter under a Quota: a bucket of bytes
// filled at the rate up to one second's worth. Sends are checked before
// (Exceeded) and recorded after (Record), as Kafka's quotas: a response
// already allowed may overdraw the bucket, and the debt then holds later
// sends back until it is repaid, so the rate holds over time whatever the
// response sizes. Time comes in as an argument; the zero value has rate 0
// and must be set with SetRate. Not safe for concurrent use.
type TokenBucket struct {
	rate   int64 // bytes per second; Unthrottled for none
	tokens float64
	last   time.Time
}

// NewTokenBucket returns a full bucket filling at rate bytes per second.
func NewTokenBucket(rate int64, now time.Time) TokenBucket {
	b := TokenBucket{last: now}
	b.SetRate(rate, now)
	b.tokens = b.capacity()
	return b
}

// Rate is the bucket's rate in bytes per second.
func (b *TokenBucket) Rate() int64 { return b.rate }

// SetRate changes the rate from now on; saved bytes above the new burst are
// dropped and a debt is kept.
func (b *TokenBucket) SetRate(rate int64, now time.Time) {
	b.refill(now)
	b.rate = max(rate, 0)
	b.tokens = min(b.tokens, b.capacity())
}

func (b *TokenBucket) capacity() float64 {
	return float64(b.rate) * quotaBurst.Seconds()
}

func (b *TokenBucket) refill(now time.Time) {
	elapsed := now.Sub(b.last)
	if elapsed <= 0 {
		return // a clock stepping back neither fills nor drains
	}
	b.last = now
	if b.rate == Unthrottled {
		return
	}
	b.tokens = min(b.tokens+float64(b.rate)*elapsed.Seconds(), b.capacity())
}

// Exceeded reports whether a throttled send must wait: the bucket is empty
// or in debt. An unthrottled bucket never is.
func (b *TokenBucket) Exceeded(now time.Time) bool {
	if b.rate == Unthrottled {
		return false
	}
	b.refill(now)
	return b.tokens <= 0
}

// Record takes bytes sent or received from the bucket.
func (b *TokenBucket) Record(bytes int64, now time.Time) {
	if b.rate == Unthrottled || bytes <= 0 {
		return
	}
	b.refill(now)
	b.tokens -= float64(bytes)
}

// Wait is how long until Exceeded turns false, at least a millisecond and
// at most maxQuotaWait; zero when it is false already.
func (b *TokenBucket) Wait(now time.Time) time.Duration {
	if !b.Exceeded(now) {
		return 0
	}
	if b.rate == 0 {
		return maxQuotaWait
	}
	d := time.Duration(-b.tokens / float64(b.rate) * float64(time.Second))
	return min(max(d, time.Millisecond), maxQuotaWait)
}

// Quota is one direction's replication throttle on a broker, shared by
// every partition throttled in that direction. Safe for concurrent use; its
// mutex is a leaf lock. Callers reach it only for throttled partitions, so
// unthrottled replication never takes its lock.
type Quota struct {
	now func() time.Time

	mu     sync.Mutex
	bucket TokenBucket
	// throttledSends counts sends held back, for tests and operators.
	throttledSends int64
}

// NewQuota returns an unthrottled quota reading time from now.
func NewQuota(now func() time.Time) *Quota {
	if now == nil {
		now = time.Now
	}
	q := &Quota{now: now}
	q.bucket = NewTokenBucket(Unthrottled, now())
	return q
}

// SetRate sets the rate in bytes per second; Unthrottled removes the limit.
func (q *Quota) SetRate(rate int64) {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if rate == q.bucket.Rate() {
		return
	}
	if q.bucket.Rate() == Unthrottled {
		q.bucket = NewTokenBucket(rate, now) // a new throttle starts with a full second
		return
	}
	q.bucket.SetRate(rate, now)
}

// Rate is the current rate in bytes per second.
func (q *Quota) Rate() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bucket.Rate()
}

// Exceeded reports whether a throttled send must wait now.
func (q *Quota) Exceeded() bool {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bucket.Exceeded(now)
}

// Hold decides one send to a replica of a throttled partition: an
// out-of-sync replica waits while the quota is exceeded (Kafka's
// shouldLeaderThrottle and shouldFollowerThrottle); an in-sync one never
// does. A send held back is counted.
func (q *Quota) Hold(inSync bool) bool {
	if inSync {
		return false
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.bucket.Exceeded(now) {
		return false
	}
	q.throttledSends++
	return true
}

// HoldFollower is Hold for the leader side: follower is in sync when it is
// in isr.
func (q *Quota) HoldFollower(follower BrokerID, isr []BrokerID) bool {
	return q.Hold(slices.Contains(isr, follower))
}

// Record counts bytes sent or received for a throttled partition.
func (q *Quota) Record(bytes int64) {
	if bytes <= 0 {
		return
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bucket.Record(bytes, now)
}

// Wait is how long until the quota allows a send again (0 if it does).
func (q *Quota) Wait() time.Duration {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bucket.Wait(now)
}

// ThrottledSends is how many sends the quota held back so far.
func (q *Quota) ThrottledSends() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.throttledSends
}
