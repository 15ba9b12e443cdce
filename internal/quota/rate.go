package quota

import (
	"math"
	"time"
)

// rateConfig is Kafka's MetricConfig for a quota: how many samples and how
// long each one spans.
type rateConfig struct {
	samples  int   // quota.window.num
	windowMs int64 // quota.window.size.seconds, in ms
}

// sample is one window of a sampled rate.
type sample struct {
	value       float64
	events      int64
	startMs     int64
	lastEventMs int64
}

func (s *sample) reset(nowMs int64) { *s = sample{startMs: nowMs, lastEventMs: nowMs} }

// rate is Kafka's Rate over a WindowedSum: the sum of samples+1 rotating
// windows (one more than configured, so the oldest can be purged without
// losing a whole window) divided by the time they span. Samples are added
// as they are first needed, so an entity seen once costs one sample.
type rate struct {
	samples []sample
	current int
}

func (r *rate) currentSample(nowMs int64) *sample {
	if len(r.samples) == 0 {
		r.samples = append(r.samples, sample{startMs: nowMs, lastEventMs: nowMs})
	}
	return &r.samples[r.current]
}

// record adds value at nowMs, moving to the next window when the current one
// has run its course.
func (r *rate) record(c rateConfig, value float64, nowMs int64) {
	s := r.currentSample(nowMs)
	if nowMs-s.startMs >= c.windowMs {
		r.current = (r.current + 1) % (c.samples + 1)
		if r.current >= len(r.samples) {
			r.samples = append(r.samples, sample{})
			r.current = len(r.samples) - 1
		}
		s = &r.samples[r.current]
		s.reset(nowMs)
	}
	s.value += value
	s.events++
	s.lastEventMs = nowMs
}

// purge resets the samples that saw no event within the monitored span.
func (r *rate) purge(c rateConfig, nowMs int64) {
	expireAge := int64(c.samples) * c.windowMs
	for i := range r.samples {
		if nowMs-r.samples[i].lastEventMs >= expireAge {
			r.samples[i].reset(nowMs)
		}
	}
}

// windowMs is the span the rate divides by: from the start of the oldest
// sample to now, but never less than samples-1 full windows. That floor
// treats missing history as idle windows, so a fresh or long-idle client can
// burst up to quota*(samples-1)*window before being throttled, as in Kafka.
func (r *rate) windowMs(c rateConfig, nowMs int64) int64 {
	r.purge(c, nowMs)
	oldest := r.currentSample(nowMs).startMs
	for i := range r.samples {
		oldest = min(oldest, r.samples[i].startMs)
	}
	total := nowMs - oldest
	fullWindows := total / c.windowMs
	if minFull := int64(c.samples - 1); fullWindows < minFull {
		total += (minFull - fullWindows) * c.windowMs
	}
	// Kafka divides by zero here with one sample and no elapsed time; a
	// floor of 1 ms keeps the rate finite when the clock has not moved.
	return max(total, 1)
}

// measure returns the rate per second at nowMs and the span it used.
func (r *rate) measure(c rateConfig, nowMs int64) (perSecond float64, windowMs int64) {
	windowMs = r.windowMs(c, nowMs)
	var sum float64
	for i := range r.samples {
		sum += r.samples[i].value
	}
	return sum / (float64(windowMs) / 1000), windowMs
}

// throttle is Kafka's QuotaUtils.throttleTime: the delay X that brings the
// observed rate O back to the quota T over the window W, O*W/(W+X) = T, so
// X = (O-T)/T*W, rounded to whole milliseconds. It is zero when O <= T.
func throttle(observed, quota float64, windowMs int64) time.Duration {
	if observed <= quota {
		return 0
	}
	return millis((observed - quota) / quota * float64(windowMs))
}

// maxThrottleMs keeps durations in the int32 milliseconds the wire carries.
const maxThrottleMs = math.MaxInt32

func millis(ms float64) time.Duration {
	ms = math.Round(ms)
	if ms <= 0 || math.IsNaN(ms) {
		return 0
	}
	if ms > maxThrottleMs {
		ms = maxThrottleMs
	}
	return time.Duration(ms) * time.Millisecond
}

// tokenBucket is Kafka's TokenBucket (KIP-599): credits refill at the quota
// per second up to a burst of quota*samples*window; a record takes credits
// and may drive them below zero, and the quota is exhausted while they are
// negative. Kafka's bucket starts empty at time zero, so in practice full;
// this one starts full.
type tokenBucket struct {
	tokens       float64
	lastUpdateMs int64
	started      bool
}

func burst(c rateConfig, quota float64) float64 {
	return float64(c.samples) * float64(c.windowMs) / 1000 * quota
}

func (b *tokenBucket) refill(c rateConfig, quota float64, nowMs int64) {
	limit := burst(c, quota)
	if !b.started {
		b.tokens, b.lastUpdateMs, b.started = limit, nowMs, true
		return
	}
	b.tokens = min(limit, b.tokens+quota*float64(nowMs-b.lastUpdateMs)/1000)
	b.lastUpdateMs = nowMs
}

// measure returns the credits left at nowMs.
func (b *tokenBucket) measure(c rateConfig, quota float64, nowMs int64) float64 {
	b.refill(c, quota, nowMs)
	return b.tokens
}

func (b *tokenBucket) record(c rateConfig, quota, value float64, nowMs int64) {
	b.refill(c, quota, nowMs)
	b.tokens = min(burst(c, quota), b.tokens-value)
}

// bucketThrottle is the time to refill a negative bucket to zero,
// -tokens/quota seconds, as ControllerMutationQuotaManager computes it.
func bucketThrottle(tokens, quota float64) time.Duration {
	if tokens >= 0 {
		return 0
	}
	return millis(-tokens / quota * 1000)
}
