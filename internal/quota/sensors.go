package quota

import (
	"hash/maphash"
	"sync"
	"time"
)

// numShards spreads sensors over this many locks so request goroutines on
// different clients rarely contend; a power of two.
const numShards = 16

// sensor is the state of one quota entity for one quota type: a sampled
// rate, or a token bucket for controller mutations.
type sensor struct {
	rate         rate
	bucket       tokenBucket
	lastRecordMs int64
}

// sensorTable holds the sensors of one quota type (produce, fetch, request
// or controller mutation), keyed by quota entity.
type sensorTable struct {
	cfg      rateConfig
	expiryMs int64 // idle time after which a sensor is dropped
	shardMax int   // sensors per shard before new entities overflow
	seed     maphash.Seed
	shards   [numShards]sensorShard
}

type sensorShard struct {
	mu      sync.Mutex // guards sensors, overflow, nextExpiryMs
	sensors map[SensorEntity]*sensor
	// overflow is shared by the entities that arrive while the shard is
	// full of live sensors. Sharing errs on the side of throttling: those
	// clients are measured together against their own quotas.
	overflow *sensor
	// nextExpiryMs is when the least recently used sensor of the last
	// sweep expires: no sensor can expire before it.
	nextExpiryMs int64
	_            [40]byte // keeps neighbouring shards' locks off one cache line
}

func newSensorTable(cfg rateConfig, expiry time.Duration, maxSensors int) *sensorTable {
	t := &sensorTable{
		cfg:      cfg,
		expiryMs: expiry.Milliseconds(),
		shardMax: max(1, maxSensors/numShards),
		seed:     maphash.MakeSeed(),
	}
	for i := range t.shards {
		t.shards[i].sensors = make(map[SensorEntity]*sensor)
	}
	return t
}

func (t *sensorTable) shard(e SensorEntity) *sensorShard {
	h := maphash.String(t.seed, e.User)*31 ^ maphash.String(t.seed, e.ClientID)
	return &t.shards[h%numShards]
}

// getLocked returns e's sensor, creating it if there is room; the caller
// holds sh.mu.
func (t *sensorTable) getLocked(sh *sensorShard, e SensorEntity, nowMs int64) *sensor {
	if s, ok := sh.sensors[e]; ok {
		return s
	}
	if len(sh.sensors) >= t.shardMax && nowMs > sh.nextExpiryMs {
		// Sweep only once some sensor can have expired, so a full shard
		// under a flood of new ids is not scanned on every request.
		t.expireLocked(sh, nowMs)
	}
	if len(sh.sensors) >= t.shardMax {
		if sh.overflow == nil {
			sh.overflow = &sensor{}
		}
		sh.overflow.lastRecordMs = nowMs
		return sh.overflow
	}
	s := &sensor{lastRecordMs: nowMs}
	sh.sensors[e] = s
	return s
}

func (t *sensorTable) expireLocked(sh *sensorShard, nowMs int64) int {
	n := 0
	oldest := nowMs
	for e, s := range sh.sensors {
		if nowMs-s.lastRecordMs > t.expiryMs {
			delete(sh.sensors, e)
			n++
			continue
		}
		oldest = min(oldest, s.lastRecordMs)
	}
	sh.nextExpiryMs = oldest + t.expiryMs
	if sh.overflow != nil && nowMs-sh.overflow.lastRecordMs > t.expiryMs {
		sh.overflow = nil
	}
	return n
}

// expire drops the sensors idle for longer than the expiry and returns how
// many it dropped.
func (t *sensorTable) expire(nowMs int64) int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += t.expireLocked(sh, nowMs)
		sh.mu.Unlock()
	}
	return n
}

func (t *sensorTable) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.sensors)
		sh.mu.Unlock()
	}
	return n
}

// recordRate adds value to e's rate and, when check is set, returns the
// throttle time against quota, capped at maxThrottle when that is positive.
func (t *sensorTable) recordRate(e SensorEntity, quota, value float64, nowMs int64, check bool, maxThrottle time.Duration) time.Duration {
	sh := t.shard(e)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := t.getLocked(sh, e, nowMs)
	s.lastRecordMs = nowMs
	s.rate.record(t.cfg, value, nowMs)
	if !check {
		return 0
	}
	observed, windowMs := s.rate.measure(t.cfg, nowMs)
	d := throttle(observed, quota, windowMs)
	if maxThrottle > 0 {
		d = min(d, maxThrottle)
	}
	return d
}

// recordBucket takes value credits from e's bucket. Strict (KIP-599 for
// requests that can answer THROTTLING_QUOTA_EXCEEDED) checks before taking
// and takes nothing when the bucket is already negative; permissive takes
// first and then checks. It returns the throttle time and whether the
// mutations were refused.
func (t *sensorTable) recordBucket(e SensorEntity, quota, value float64, nowMs int64, strict bool) (time.Duration, bool) {
	sh := t.shard(e)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := t.getLocked(sh, e, nowMs)
	s.lastRecordMs = nowMs
	if strict {
		if tokens := s.bucket.measure(t.cfg, quota, nowMs); tokens < 0 {
			return bucketThrottle(tokens, quota), true
		}
		s.bucket.record(t.cfg, quota, value, nowMs)
		return 0, false
	}
	s.bucket.record(t.cfg, quota, value, nowMs)
	return bucketThrottle(s.bucket.measure(t.cfg, quota, nowMs), quota), false
}
