package quota

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var t0 = time.UnixMilli(1_700_000_000_000)

func at(ms int64) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func newManager(t testing.TB, cfg Config, records ...Record) (*Manager, *Store) {
	t.Helper()
	s := NewStore(nil)
	s.Apply(records...)
	m, err := NewManager(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

func clientQuota(id string, k Key, v float64) Record {
	return Record{Entity: Entity{ClientID: Name(id)}, Key: k, Value: v}
}

func TestSteadyRateUnderQuota(t *testing.T) {
	m, _ := newManager(t, Config{}, clientQuota("c", ProducerByteRate, 1000))
	for sec := range int64(120) {
		if d := m.RecordProduce("u", "c", 900, at(sec*1000)); d != 0 {
			t.Fatalf("second %d: throttled %v at 900 B/s under a 1000 B/s quota", sec, d)
		}
	}
}

func TestBurstThrottle(t *testing.T) {
	m, _ := newManager(t, Config{}, clientQuota("c", ProducerByteRate, 1000))
	// A fresh sensor spans 10 windows (samples-1) of 1 s: 5000 bytes read
	// 500 B/s, under quota.
	if d := m.RecordProduce("u", "c", 5000, at(0)); d != 0 {
		t.Fatalf("first record throttled %v", d)
	}
	// 15000 bytes over 10 s is 1500 B/s: (1500-1000)/1000 * 10000 ms.
	if d := m.RecordProduce("u", "c", 10000, at(0)); d != 5000*time.Millisecond {
		t.Fatalf("burst throttle %v, want 5s", d)
	}
	// Within the first 10 s the span stays padded to 10 s: no relief yet.
	if d := m.RecordProduce("u", "c", 0, at(2000)); d != 5000*time.Millisecond {
		t.Fatalf("at 2s: %v, want 5s", d)
	}
	// At 10.5 s the span is the real 10.5 s: 15000/10.5 B/s, so
	// (1428.57-1000)/1000 * 10500 ms = 4500 ms.
	if d := m.RecordProduce("u", "c", 0, at(10500)); d != 4500*time.Millisecond {
		t.Fatalf("at 10.5s: %v, want 4.5s", d)
	}
	// At 12 s the burst's sample is older than 11 windows and is purged.
	if d := m.RecordProduce("u", "c", 0, at(12000)); d != 0 {
		t.Fatalf("at 12s: %v, want 0", d)
	}
}

func TestSharedEntity(t *testing.T) {
	m, _ := newManager(t, Config{},
		Record{Entity: Entity{User: Name("alice")}, Key: ProducerByteRate, Value: 1000},
		Record{Entity: Entity{ClientID: DefaultComponent()}, Key: ProducerByteRate, Value: 1000},
	)
	// alice's client ids share one rate.
	if d := m.RecordProduce("alice", "c1", 7500, at(0)); d != 0 {
		t.Fatalf("c1: %v", d)
	}
	if d := m.RecordProduce("alice", "c2", 7500, at(0)); d != 5000*time.Millisecond {
		t.Fatalf("c2 shares alice's rate: %v, want 5s", d)
	}
	// Under the client-id default every client id has its own rate.
	if d := m.RecordProduce("bob", "c1", 7500, at(0)); d != 0 {
		t.Fatalf("bob/c1: %v", d)
	}
	if d := m.RecordProduce("bob", "c2", 7500, at(0)); d != 0 {
		t.Fatalf("bob/c2: %v", d)
	}
}

func TestQuotaChangesAtRuntime(t *testing.T) {
	m, s := newManager(t, Config{}, clientQuota("c", ProducerByteRate, 1000))
	if d := m.RecordProduce("u", "c", 8000, at(0)); d != 0 {
		t.Fatalf("800 B/s under 1000: %v", d)
	}
	s.Apply(clientQuota("c", ProducerByteRate, 500))
	// 800 B/s against 500: (800-500)/500 * 10000 ms.
	if d := m.RecordProduce("u", "c", 0, at(0)); d != 6000*time.Millisecond {
		t.Fatalf("after lowering: %v, want 6s", d)
	}
	s.Apply(Record{Entity: Entity{ClientID: Name("c")}, Key: ProducerByteRate, Remove: true})
	if d := m.RecordProduce("u", "c", 1e9, at(0)); d != 0 {
		t.Fatalf("after removal: %v", d)
	}
}

func TestFetchUnrecord(t *testing.T) {
	m, _ := newManager(t, Config{}, clientQuota("c", ConsumerByteRate, 1000))
	if d := m.RecordFetch("u", "c", 20000, at(0)); d != 10000*time.Millisecond {
		t.Fatalf("fetch throttle %v, want 10s", d)
	}
	m.UnrecordFetch("u", "c", 20000, at(0))
	if d := m.RecordFetch("u", "c", 0, at(0)); d != 0 {
		t.Fatalf("after unrecord: %v", d)
	}
	if b, ok := m.MaxFetchBytesInWindow("u", "c"); !ok || b != 10000 {
		t.Fatalf("max fetch %v %v, want 10000", b, ok)
	}
}

func TestRequestTimeThrottleCapped(t *testing.T) {
	m, _ := newManager(t, Config{}, clientQuota("c", RequestPercentage, 10))
	// 500 ms of handler time is 50 percent-seconds; over a 10 s span that
	// reads 5 %, under 10 %.
	if d := m.RecordRequestTime("u", "c", 500*time.Millisecond, at(0)); d != 0 {
		t.Fatalf("under quota: %v", d)
	}
	// 1.5 s more reads 20 %: (20-10)/10 * 10 s, capped at one window.
	if d := m.RecordRequestTime("u", "c", 1500*time.Millisecond, at(0)); d != time.Second {
		t.Fatalf("request throttle %v, want the 1s cap", d)
	}
	// Network thread time adds to the rate but never throttles by itself.
	m.RecordNetworkThreadTime("u", "c", time.Hour, at(0))
}

func TestControllerMutationBucket(t *testing.T) {
	// 2 mutations/s with 11 samples of 1 s: a burst of 22.
	m, _ := newManager(t, Config{}, clientQuota("c", ControllerMutationRate, 2))
	if d, err := m.RecordMutations("u", "c", 30, true, at(0)); d != 0 || err != nil {
		t.Fatalf("full bucket refused: %v %v", d, err)
	}
	// The bucket is at -8: strict refuses for 8/2 s.
	d, err := m.RecordMutations("u", "c", 1, true, at(0))
	if !errors.Is(err, kerr.ThrottlingQuotaExceeded) || d != 4*time.Second {
		t.Fatalf("strict: %v %v, want THROTTLING_QUOTA_EXCEEDED after 4s", d, err)
	}
	if d, err := m.RecordMutations("u", "c", 1, true, at(3000)); err == nil || d != time.Second {
		t.Fatalf("at 3s: %v %v, want refusal for 1s", d, err)
	}
	if d, err := m.RecordMutations("u", "c", 1, true, at(4000)); err != nil || d != 0 {
		t.Fatalf("at 4s the bucket is back to 0: %v %v", d, err)
	}
	// Permissive: accepted, then throttled until the bucket is back to 0.
	if d, err := m.RecordMutations("u", "c", 1, false, at(4000)); err != nil || d != time.Second {
		t.Fatalf("permissive: %v %v, want 1s of throttle", d, err)
	}
	if got := RemainingThrottle(4*time.Second, at(0), at(1500)); got != 2500*time.Millisecond {
		t.Fatalf("remaining %v", got)
	}
	// The refill is capped at the burst.
	if d, err := m.RecordMutations("u", "c", 22, false, at(3_600_000)); d != 0 || err != nil {
		t.Fatalf("after an hour, a full burst: %v %v", d, err)
	}
	if d, _ := m.RecordMutations("u", "c", 1, false, at(3_600_000)); d != 500*time.Millisecond {
		t.Fatalf("one past the burst: %v, want 500ms", d)
	}
}

func TestUnlimitedClientsHaveNoSensors(t *testing.T) {
	m, _ := newManager(t, Config{}, clientQuota("c", ProducerByteRate, 1))
	m.RecordProduce("u", "other", 1e12, at(0))
	m.RecordFetch("u", "c", 1e12, at(0))
	if n := m.Sensors(); n != 0 {
		t.Fatalf("%d sensors for unlimited clients", n)
	}
}

func TestSensorExpiry(t *testing.T) {
	m, _ := newManager(t, Config{}, Record{Entity: Entity{ClientID: DefaultComponent()}, Key: ProducerByteRate, Value: 1000})
	m.RecordProduce("u", "a", 1, at(0))
	m.RecordProduce("u", "b", 1, at(30*60*1000))
	if n := m.Expire(at(60*60*1000 + 1)); n != 1 || m.Sensors() != 1 {
		t.Fatalf("expired %d, left %d; want 1 and 1", n, m.Sensors())
	}
}

// A million distinct client ids, arriving over hours, never hold more than
// MaxSensors sensors, and all are gone an hour after the last.
func TestMillionClientIDsBounded(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 100_000
	}
	const maxSensors = 16 * 1000
	m, _ := newManager(t, Config{MaxSensors: maxSensors},
		Record{Entity: Entity{ClientID: DefaultComponent()}, Key: ProducerByteRate, Value: 1e6})
	var ms int64
	for i := range n {
		ms = int64(i) * 10 // 100 new ids a second
		m.RecordProduce("u", fmt.Sprintf("client-%d", i), 100, at(ms))
		if i%50_000 == 0 {
			m.Expire(at(ms))
			if s := m.Sensors(); s > maxSensors {
				t.Fatalf("after %d ids: %d sensors", i, s)
			}
		}
	}
	if s := m.Sensors(); s > maxSensors {
		t.Fatalf("%d sensors, cap %d", s, maxSensors)
	}
	m.Expire(at(ms + time.Hour.Milliseconds() + 1))
	if s := m.Sensors(); s != 0 {
		t.Fatalf("%d sensors an hour after the last record", s)
	}
}

func TestOverflowSharesAndThrottles(t *testing.T) {
	// 16 sensors in all, one per shard: later ids share their shard's
	// overflow sensor, which errs toward throttling.
	m, _ := newManager(t, Config{MaxSensors: numShards},
		Record{Entity: Entity{ClientID: DefaultComponent()}, Key: ProducerByteRate, Value: 1000})
	throttled := 0
	for i := range 200 {
		if m.RecordProduce("u", fmt.Sprintf("c%d", i), 5000, at(0)) > 0 {
			throttled++
		}
	}
	if m.Sensors() > numShards || throttled == 0 {
		t.Fatalf("sensors %d, throttled %d", m.Sensors(), throttled)
	}
}

func TestConcurrentRecordAndApply(t *testing.T) {
	m, s := newManager(t, Config{MaxSensors: 64}, clientQuota("shared", ProducerByteRate, 1000))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				now := at(int64(i))
				m.RecordProduce("u", "shared", 10, now)
				m.RecordFetch("u", fmt.Sprintf("c%d-%d", g, i%100), 10, now)
				m.RecordRequestTime("u", "shared", time.Millisecond, now)
				_, _ = m.RecordMutations("u", "shared", 1, true, now)
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			s.Apply(
				Record{Entity: Entity{ClientID: DefaultComponent()}, Key: ConsumerByteRate, Value: float64(100 + i)},
				clientQuota("shared", RequestPercentage, 50),
				clientQuota("shared", ControllerMutationRate, 5),
			)
			m.Expire(at(int64(i)))
			_, _ = s.Describe(Filter{})
		}
	})
	wg.Wait()
}

func TestConfigRefusals(t *testing.T) {
	for _, cfg := range []Config{{NumSamples: -1}, {WindowSize: time.Microsecond}, {MaxSensors: -1}} {
		if _, err := NewManager(cfg, NewStore(nil)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func BenchmarkRecordProduce(b *testing.B) {
	m, _ := newManager(b, Config{},
		Record{Entity: Entity{User: Name("alice")}, Key: ProducerByteRate, Value: 1e12},
		Record{Entity: Entity{ClientID: DefaultComponent()}, Key: ProducerByteRate, Value: 1e12})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.RecordProduce("alice", "producer-1", 1024, at(int64(i/1000)))
	}
}

func BenchmarkRecordProduceParallel(b *testing.B) {
	m, _ := newManager(b, Config{},
		Record{Entity: Entity{User: DefaultComponent(), ClientID: DefaultComponent()}, Key: ProducerByteRate, Value: 1e12})
	clients := make([]string, 64)
	for i := range clients {
		clients[i] = fmt.Sprintf("client-%d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			m.RecordProduce("alice", clients[i%len(clients)], 1024, at(int64(i/1000)))
		}
	})
}

func BenchmarkRecordUnlimited(b *testing.B) {
	m, _ := newManager(b, Config{})
	b.ReportAllocs()
	for b.Loop() {
		m.RecordProduce("alice", "producer-1", 1024, t0)
	}
}
