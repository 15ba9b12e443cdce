package quota

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"
)

// Unlimited is Kafka's default for the connection limits: Integer.MAX_VALUE,
// which disables the limit.
const Unlimited = math.MaxInt32

// Connection refusals, wrapped with the address and limit.
var (
	ErrTooManyConnections  = errors.New("too many connections")
	ErrConnectionThrottled = errors.New("connection creation rate exceeded")
	ErrNoConnectionSlot    = errors.New("broker connection limit reached")
	ErrUnknownConnection   = errors.New("release of a connection never accepted")
)

// ConnectionConfig holds the broker's connection limits. Start from
// DefaultConnectionConfig: zero is a meaningful limit here.
type ConnectionConfig struct {
	MaxConnections            int                // max.connections
	MaxConnectionsPerIP       int                // max.connections.per.ip
	PerIPOverrides            map[netip.Addr]int // max.connections.per.ip.overrides, resolved (ResolveOverrides)
	MaxConnectionCreationRate int                // max.connection.creation.rate, per second, broker-wide
	NumSamples                int                // quota.window.num
	WindowSize                time.Duration      // quota.window.size.seconds
	SensorExpiry              time.Duration      // idle time after which a per-IP rate sensor is dropped
	MaxIPSensors              int                // live per-IP rate sensors; fjord's own bound
}

// DefaultConnectionConfig is Kafka's defaults: no limits.
func DefaultConnectionConfig() ConnectionConfig {
	return ConnectionConfig{
		MaxConnections:            Unlimited,
		MaxConnectionsPerIP:       Unlimited,
		MaxConnectionCreationRate: Unlimited,
		NumSamples:                DefaultNumSamples,
		WindowSize:                DefaultWindowSize,
		SensorExpiry:              DefaultSensorExpiry,
		MaxIPSensors:              DefaultMaxSensors,
	}
}

// Validate refuses what Kafka's config refuses (negative limits, and a
// per-IP limit of 0 without overrides, which would refuse everyone) and
// windows the rate cannot use.
func (c ConnectionConfig) Validate() error {
	switch {
	case c.MaxConnections < 0 || c.MaxConnectionsPerIP < 0 || c.MaxConnectionCreationRate < 0:
		return fmt.Errorf("%w: connection limits must be at least 0", ErrInvalidConfig)
	case c.MaxConnectionsPerIP == 0 && len(c.PerIPOverrides) == 0:
		return fmt.Errorf("%w: max.connections.per.ip can be 0 only with max.connections.per.ip.overrides", ErrInvalidConfig)
	case c.NumSamples < 1 || c.WindowSize < time.Millisecond:
		return fmt.Errorf("%w: quota window num must be at least 1 and size at least 1ms", ErrInvalidConfig)
	case c.SensorExpiry < 0 || c.MaxIPSensors < 1:
		return fmt.Errorf("%w: per-IP sensor expiry must be non-negative and limit positive", ErrInvalidConfig)
	}
	return nil
}

// Action is what the accept loop does with a socket.
type Action uint8

const (
	// Accept: serve the connection, after holding it (and pausing the
	// accept loop) for Admission.Delay, the broker-wide creation rate
	// throttle. It is counted until Release.
	Accept Action = iota
	// Reject: close the connection, after Admission.Delay when the per-IP
	// creation rate was exceeded (KIP-612 delays the close so the client
	// does not reconnect at once). It is not counted.
	Reject
	// WaitForSlot: max.connections is reached. Kafka's acceptor blocks
	// until a connection closes; hold the socket, stop accepting and call
	// Accept again after a Release. Nothing was recorded.
	WaitForSlot
)

func (a Action) String() string {
	return [...]string{"accept", "reject", "wait-for-slot"}[a]
}

// Admission is ConnectionQuotas' answer for one accepted socket.
type Admission struct {
	Action Action
	Delay  time.Duration
	Err    error // why, for Reject and WaitForSlot
}

// ConnectionQuotas enforces the broker's connection limits, as Kafka's
// ConnectionQuotas, for one broker (listener-level limits are not modelled).
// It is safe for concurrent use from the accept loop and the connections.
type ConnectionQuotas struct {
	store *Store

	mu         sync.Mutex // guards everything below
	cfg        ConnectionConfig
	rateCfg    rateConfig
	counts     map[netip.Addr]int
	total      int
	brokerRate sensor
	ipRates    map[netip.Addr]*sensor
	// nextExpiryMs bounds when the next per-IP sensor can expire, so a
	// full map is not scanned on every accept.
	nextExpiryMs int64
}

// NewConnectionQuotas returns connection limits that read per-IP
// connection_creation_rate quotas from store.
func NewConnectionQuotas(cfg ConnectionConfig, store *Store) (*ConnectionQuotas, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &ConnectionQuotas{
		store:   store,
		cfg:     cfg,
		rateCfg: rateConfig{samples: cfg.NumSamples, windowMs: cfg.WindowSize.Milliseconds()},
		counts:  make(map[netip.Addr]int),
		ipRates: make(map[netip.Addr]*sensor),
	}, nil
}

// Reconfigure applies changed limits (Kafka's dynamic broker configs). Open
// connections stay; Exceeded tells the caller when to close some.
func (q *ConnectionQuotas) Reconfigure(cfg ConnectionConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	windowChanged := cfg.NumSamples != q.cfg.NumSamples || cfg.WindowSize != q.cfg.WindowSize
	q.cfg = cfg
	if windowChanged {
		// Samples are sized by the window count; start the rates afresh.
		q.rateCfg = rateConfig{samples: cfg.NumSamples, windowMs: cfg.WindowSize.Milliseconds()}
		q.brokerRate = sensor{}
		clear(q.ipRates)
	}
	return nil
}

// Accept decides what to do with a socket just accepted from ip, in Kafka's
// order: a free broker slot, the broker-wide creation rate (delay), the
// per-IP creation rate (close after the throttle), the per-IP count (close).
// Kafka records the broker rate even while waiting for a slot; here the slot
// is checked first so that a retried Accept does not count twice.
func (q *ConnectionQuotas) Accept(ip netip.Addr, now time.Time) Admission {
	ip = canonicalIP(ip)
	nowMs := now.UnixMilli()
	ipRate, ipLimited := q.store.table.Load().ipConnectionRate(ip)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.total >= q.cfg.MaxConnections {
		return Admission{Action: WaitForSlot, Err: fmt.Errorf("%w: %d open, max.connections %d", ErrNoConnectionSlot, q.total, q.cfg.MaxConnections)}
	}
	maxThrottle := time.Duration(q.rateCfg.windowMs) * time.Millisecond
	var delay time.Duration
	brokerLimited := q.cfg.MaxConnectionCreationRate != Unlimited
	if brokerLimited {
		delay = q.recordLocked(&q.brokerRate, float64(q.cfg.MaxConnectionCreationRate), 1, nowMs, maxThrottle)
	}
	if ipLimited && ipRate < Unlimited {
		s := q.ipSensorLocked(ip, nowMs)
		if d := q.recordLocked(s, ipRate, 1, nowMs, maxThrottle); d > 0 {
			// Refused connections do not count toward the rates.
			s.rate.record(q.rateCfg, -1, nowMs)
			if brokerLimited {
				q.brokerRate.rate.record(q.rateCfg, -1, nowMs)
			}
			return Admission{Action: Reject, Delay: d, Err: fmt.Errorf("%w: %s over %v connections/s", ErrConnectionThrottled, ip, ipRate)}
		}
	}
	limit := q.cfg.MaxConnectionsPerIP
	if n, ok := q.cfg.PerIPOverrides[ip]; ok {
		limit = n
	}
	if q.counts[ip] >= limit {
		return Admission{Action: Reject, Err: fmt.Errorf("%w: %s already has the maximum of %d", ErrTooManyConnections, ip, limit)}
	}
	q.counts[ip]++
	q.total++
	return Admission{Action: Accept, Delay: delay}
}

func (q *ConnectionQuotas) recordLocked(s *sensor, quota, value float64, nowMs int64, maxThrottle time.Duration) time.Duration {
	s.lastRecordMs = nowMs
	s.rate.record(q.rateCfg, value, nowMs)
	observed, windowMs := s.rate.measure(q.rateCfg, nowMs)
	return min(throttle(observed, quota, windowMs), maxThrottle)
}

// ipSensorLocked returns ip's rate sensor. When MaxIPSensors are live even
// after dropping idle ones, ip gets a throwaway sensor: a flood of source
// addresses is then held only by the broker-wide rate.
func (q *ConnectionQuotas) ipSensorLocked(ip netip.Addr, nowMs int64) *sensor {
	if s, ok := q.ipRates[ip]; ok {
		return s
	}
	if len(q.ipRates) >= q.cfg.MaxIPSensors && nowMs > q.nextExpiryMs {
		q.expireLocked(nowMs)
	}
	s := &sensor{}
	if len(q.ipRates) < q.cfg.MaxIPSensors {
		q.ipRates[ip] = s
	}
	return s
}

func (q *ConnectionQuotas) expireLocked(nowMs int64) int {
	n := 0
	oldest := nowMs
	for ip, s := range q.ipRates {
		if nowMs-s.lastRecordMs > q.cfg.SensorExpiry.Milliseconds() {
			delete(q.ipRates, ip)
			n++
			continue
		}
		oldest = min(oldest, s.lastRecordMs)
	}
	q.nextExpiryMs = oldest + q.cfg.SensorExpiry.Milliseconds()
	return n
}

// Expire drops per-IP rate sensors idle longer than the sensor expiry and
// returns how many.
func (q *ConnectionQuotas) Expire(now time.Time) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.expireLocked(now.UnixMilli())
}

// Release uncounts a connection from ip that Accept accepted; call it once
// when the connection closes.
func (q *ConnectionQuotas) Release(ip netip.Addr) error {
	ip = canonicalIP(ip)
	q.mu.Lock()
	defer q.mu.Unlock()
	n, ok := q.counts[ip]
	if !ok || q.total <= 0 {
		return fmt.Errorf("%w: %s", ErrUnknownConnection, ip)
	}
	if n == 1 {
		delete(q.counts, ip)
	} else {
		q.counts[ip] = n - 1
	}
	q.total--
	return nil
}

// Count returns the open connections from ip.
func (q *ConnectionQuotas) Count(ip netip.Addr) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.counts[canonicalIP(ip)]
}

// Total returns the open connections.
func (q *ConnectionQuotas) Total() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// Exceeded reports more open connections than max.connections, which happens
// after max.connections is lowered; Kafka then closes the least recently
// used connection on each poll until it is not.
func (q *ConnectionQuotas) Exceeded() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total > q.cfg.MaxConnections
}
