package quota

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Defaults, Kafka's unless said otherwise.
const (
	DefaultNumSamples = 11          // quota.window.num: 10 whole windows and the current one
	DefaultWindowSize = time.Second // quota.window.size.seconds
	// DefaultSensorExpiry is Kafka's InactiveSensorExpirationTimeSeconds.
	DefaultSensorExpiry = time.Hour
	// DefaultMaxSensors bounds the live sensors of each quota type. Kafka
	// has no such bound; at about 400 bytes for a busy sensor this caps a
	// quota type near 40 MiB however many client ids appear in an hour.
	DefaultMaxSensors = 100_000
)

// ErrInvalidConfig is wrapped by every configuration refusal.
var ErrInvalidConfig = errors.New("invalid quota config")

// Config configures a Manager. Zero fields take the defaults.
type Config struct {
	NumSamples           int           // quota.window.num
	WindowSize           time.Duration // quota.window.size.seconds
	ControllerNumSamples int           // controller.quota.window.num
	ControllerWindowSize time.Duration // controller.quota.window.size.seconds
	SensorExpiry         time.Duration // idle time after which Expire drops a sensor
	MaxSensors           int           // live sensors per quota type
}

func (c Config) withDefaults() (Config, error) {
	c.NumSamples = orDefault(c.NumSamples, DefaultNumSamples)
	c.ControllerNumSamples = orDefault(c.ControllerNumSamples, DefaultNumSamples)
	c.WindowSize = orDefault(c.WindowSize, DefaultWindowSize)
	c.ControllerWindowSize = orDefault(c.ControllerWindowSize, DefaultWindowSize)
	c.SensorExpiry = orDefault(c.SensorExpiry, DefaultSensorExpiry)
	c.MaxSensors = orDefault(c.MaxSensors, DefaultMaxSensors)
	switch {
	case c.NumSamples < 1 || c.ControllerNumSamples < 1:
		return c, fmt.Errorf("%w: window num must be at least 1", ErrInvalidConfig)
	case c.WindowSize < time.Millisecond || c.ControllerWindowSize < time.Millisecond:
		return c, fmt.Errorf("%w: window size must be at least 1ms", ErrInvalidConfig)
	case c.SensorExpiry < 0 || c.MaxSensors < 0:
		return c, fmt.Errorf("%w: negative sensor expiry or limit", ErrInvalidConfig)
	}
	return c, nil
}

func orDefault[T int | time.Duration](v, d T) T {
	if v == 0 {
		return d
	}
	return v
}

// Manager measures client usage against the quotas of a Store and answers
// with throttle times. It is safe for concurrent use.
type Manager struct {
	cfg      Config
	store    *Store
	produce  *sensorTable
	fetch    *sensorTable
	request  *sensorTable
	mutation *sensorTable
	// maxRequestThrottle caps request-time throttles at one window, as
	// ClientRequestQuotaManager does.
	maxRequestThrottle time.Duration
}

// NewManager returns a manager reading quotas from store.
func NewManager(cfg Config, store *Store) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client := rateConfig{samples: cfg.NumSamples, windowMs: cfg.WindowSize.Milliseconds()}
	controller := rateConfig{samples: cfg.ControllerNumSamples, windowMs: cfg.ControllerWindowSize.Milliseconds()}
	return &Manager{
		cfg:                cfg,
		store:              store,
		produce:            newSensorTable(client, cfg.SensorExpiry, cfg.MaxSensors),
		fetch:              newSensorTable(client, cfg.SensorExpiry, cfg.MaxSensors),
		request:            newSensorTable(client, cfg.SensorExpiry, cfg.MaxSensors),
		mutation:           newSensorTable(controller, cfg.SensorExpiry, cfg.MaxSensors),
		maxRequestThrottle: time.Duration(client.windowMs) * time.Millisecond,
	}, nil
}

// Resolve returns the quota for key that applies to principal (the user
// principal's name) and clientID, and the entity whose rate it is compared
// with. connection_creation_rate is not a client key: it resolves unlimited.
func (m *Manager) Resolve(key Key, principal, clientID string) Resolution {
	idx, ok := indexOf(key)
	if !ok || idx == idxConnection {
		return Resolution{Entity: SensorEntity{ClientID: clientID}}
	}
	return m.store.table.Load().resolve(idx, principal, clientID)
}

// RecordProduce records bytes produced and returns the throttle time, zero
// under quota. Per KIP-219 the caller answers at once with the time in
// throttle_time_ms and mutes the channel for it.
func (m *Manager) RecordProduce(principal, clientID string, bytes int64, now time.Time) time.Duration {
	return m.recordRate(m.produce, idxProducer, principal, clientID, float64(bytes), now, true, 0)
}

// RecordFetch records bytes fetched and returns the throttle time. Kafka
// answers a throttled fetch with no data; the caller then calls UnrecordFetch
// with the same bytes, as Kafka un-records them.
func (m *Manager) RecordFetch(principal, clientID string, bytes int64, now time.Time) time.Duration {
	return m.recordRate(m.fetch, idxConsumer, principal, clientID, float64(bytes), now, true, 0)
}

// UnrecordFetch takes back bytes recorded by RecordFetch for a fetch that was
// throttled and answered empty.
func (m *Manager) UnrecordFetch(principal, clientID string, bytes int64, now time.Time) {
	m.recordRate(m.fetch, idxConsumer, principal, clientID, -float64(bytes), now, false, 0)
}

// MaxFetchBytesInWindow is the most a client can fetch at once without being
// throttled however idle it was, quota*(samples-1)*window (Kafka's
// getMaxValueInQuotaWindow); ok is false when no consumer quota applies.
func (m *Manager) MaxFetchBytesInWindow(principal, clientID string) (bytes float64, ok bool) {
	r := m.store.table.Load().resolve(idxConsumer, principal, clientID)
	if !r.Limited {
		return 0, false
	}
	return r.Quota * float64(m.cfg.NumSamples-1) * m.cfg.WindowSize.Seconds(), true
}

// RecordRequestTime records the time a request handler thread spent on a
// request, as a percentage of one thread (request_percentage, KIP-124), and
// returns the throttle time, capped at one window as Kafka caps it.
func (m *Manager) RecordRequestTime(principal, clientID string, handling time.Duration, now time.Time) time.Duration {
	return m.recordRate(m.request, idxRequest, principal, clientID, percentOfSecond(handling), now, true, m.maxRequestThrottle)
}

// RecordNetworkThreadTime records time a network thread spent on a request,
// after its response was sent; it counts toward the next request's throttle
// and never throttles by itself, as in Kafka.
func (m *Manager) RecordNetworkThreadTime(principal, clientID string, d time.Duration, now time.Time) {
	m.recordRate(m.request, idxRequest, principal, clientID, percentOfSecond(d), now, false, 0)
}

// percentOfSecond turns a duration into Kafka's request-time unit: percent of
// one thread per second, so 10ms in a one-second window reads 1%.
func percentOfSecond(d time.Duration) float64 { return float64(d.Nanoseconds()) * 100 / 1e9 }

func (m *Manager) recordRate(t *sensorTable, k keyIndex, principal, clientID string, value float64, now time.Time, check bool, maxThrottle time.Duration) time.Duration {
	r := m.store.table.Load().resolve(k, principal, clientID)
	if !r.Limited {
		// No quota, no sensor: unthrottled clients cost nothing. Kafka
		// records them once any quota exists; the difference only shows
		// as missing history when a quota is first set on them.
		return 0
	}
	return t.recordRate(r.Entity, r.Quota, value, now.UnixMilli(), check, maxThrottle)
}

// RecordMutations records partitions created or deleted, or topics deleted
// (controller_mutation_rate, KIP-599), for one topic of a CreateTopics,
// CreatePartitions or DeleteTopics request. With strict (request versions
// that know THROTTLING_QUOTA_EXCEEDED: CreateTopics v6+, CreatePartitions
// v3+, DeleteTopics v5+) mutations are refused while the bucket is negative:
// the error wraps kerr.ThrottlingQuotaExceeded, the topic gets that code and
// nothing is recorded; otherwise they are accepted and the throttle time says
// how long until the bucket is back to zero. The response's throttle_time_ms
// is the last throttle returned, less the time elapsed since (see
// RemainingThrottle).
func (m *Manager) RecordMutations(principal, clientID string, mutations int, strict bool, now time.Time) (time.Duration, error) {
	r := m.store.table.Load().resolve(idxMutation, principal, clientID)
	if !r.Limited {
		return 0, nil
	}
	d, refused := m.mutation.recordBucket(r.Entity, r.Quota, float64(mutations), now.UnixMilli(), strict)
	if refused {
		return d, &Error{Code: kerr.ThrottlingQuotaExceeded, Message: kerr.ThrottlingQuotaExceeded.Description}
	}
	return d, nil
}

// RemainingThrottle is a throttle time computed at recordedAt, less the time
// elapsed until now; Kafka reports controller mutation throttles this way
// when a request waited after recording.
func RemainingThrottle(throttle time.Duration, recordedAt, now time.Time) time.Duration {
	return max(0, throttle-now.Sub(recordedAt).Truncate(time.Millisecond))
}

// Expire drops sensors idle for longer than the sensor expiry and returns how
// many it dropped. The owner calls it from a ticker (Kafka checks every 30s).
func (m *Manager) Expire(now time.Time) int {
	ms := now.UnixMilli()
	return m.produce.expire(ms) + m.fetch.expire(ms) + m.request.expire(ms) + m.mutation.expire(ms)
}

// Sensors returns the number of live sensors over all quota types.
func (m *Manager) Sensors() int {
	return m.produce.len() + m.fetch.len() + m.request.len() + m.mutation.len()
}
