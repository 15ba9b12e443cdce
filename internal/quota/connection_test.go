package quota

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var (
	ipA = netip.MustParseAddr("192.0.2.1")
	ipB = netip.MustParseAddr("198.51.100.7")
)

func newConnectionQuotas(t *testing.T, edit func(*ConnectionConfig), records ...Record) *ConnectionQuotas {
	t.Helper()
	cfg := DefaultConnectionConfig()
	if edit != nil {
		edit(&cfg)
	}
	s := NewStore(nil)
	s.Apply(records...)
	q, err := NewConnectionQuotas(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func mustAccept(t *testing.T, q *ConnectionQuotas, ip netip.Addr, now time.Time) {
	t.Helper()
	if a := q.Accept(ip, now); a.Action != Accept || a.Delay != 0 {
		t.Fatalf("%s: %+v, want a plain accept", ip, a)
	}
}

func TestPerIPLimitAndRelease(t *testing.T) {
	q := newConnectionQuotas(t, func(c *ConnectionConfig) { c.MaxConnectionsPerIP = 2 })
	mustAccept(t, q, ipA, t0)
	mustAccept(t, q, netip.MustParseAddr("::ffff:192.0.2.1"), t0) // the same address, IPv4-mapped
	a := q.Accept(ipA, t0)
	if a.Action != Reject || a.Delay != 0 || !errors.Is(a.Err, ErrTooManyConnections) {
		t.Fatalf("third from A: %+v", a)
	}
	mustAccept(t, q, ipB, t0)
	if q.Count(ipA) != 2 || q.Total() != 3 {
		t.Fatalf("counts %d/%d", q.Count(ipA), q.Total())
	}
	if err := q.Release(ipA); err != nil {
		t.Fatal(err)
	}
	mustAccept(t, q, ipA, t0)
	for range 3 {
		_ = q.Release(ipA)
	}
	if err := q.Release(ipA); !errors.Is(err, ErrUnknownConnection) {
		t.Fatalf("release of nothing: %v", err)
	}
}

func TestOverrides(t *testing.T) {
	parsed, err := ParseOverrides(" 192.0.2.1:3 , 2001:db8::1:0, broker.example:5,")
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := ResolveOverrides(parsed, func(host string) (netip.Addr, error) {
		if host == "broker.example" {
			return ipB, nil
		}
		return netip.Addr{}, fmt.Errorf("no such host %s", host)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]int{ipA: 3, netip.MustParseAddr("2001:db8::1"): 0, ipB: 5}
	if fmt.Sprint(resolved) != fmt.Sprint(want) {
		t.Fatalf("overrides %v, want %v", resolved, want)
	}
	q := newConnectionQuotas(t, func(c *ConnectionConfig) {
		c.MaxConnectionsPerIP = 0 // only overridden addresses may connect
		c.PerIPOverrides = resolved
	})
	for range 3 {
		mustAccept(t, q, ipA, t0)
	}
	if a := q.Accept(ipA, t0); a.Action != Reject {
		t.Fatalf("fourth from A: %+v", a)
	}
	if a := q.Accept(netip.MustParseAddr("203.0.113.1"), t0); a.Action != Reject {
		t.Fatalf("unlisted address: %+v", a)
	}
	if _, err := ResolveOverrides(map[string]int{"host": 1}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("hostname without resolver: %v", err)
	}
}

func TestParseOverridesRefusals(t *testing.T) {
	for _, s := range []string{"192.0.2.1", ":5", "192.0.2.1:x", "192.0.2.1:", ",192.0.2.1:1", "a:99999999999"} {
		if _, err := ParseOverrides(s); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%q: %v", s, err)
		}
	}
	if m, err := ParseOverrides(""); err != nil || len(m) != 0 {
		t.Errorf("empty: %v %v", m, err)
	}
}

func TestMaxConnectionsWaitsForSlot(t *testing.T) {
	q := newConnectionQuotas(t, func(c *ConnectionConfig) { c.MaxConnections = 2 })
	mustAccept(t, q, ipA, t0)
	mustAccept(t, q, ipB, t0)
	if a := q.Accept(ipA, t0); a.Action != WaitForSlot || !errors.Is(a.Err, ErrNoConnectionSlot) {
		t.Fatalf("third: %+v", a)
	}
	_ = q.Release(ipB)
	mustAccept(t, q, ipA, t0)
	cfg := DefaultConnectionConfig()
	cfg.MaxConnections = 1
	if err := q.Reconfigure(cfg); err != nil || !q.Exceeded() {
		t.Fatalf("lowered max.connections: exceeded=%v err=%v", q.Exceeded(), err)
	}
}

func TestBrokerCreationRateDelays(t *testing.T) {
	q := newConnectionQuotas(t, func(c *ConnectionConfig) { c.MaxConnectionCreationRate = 10 })
	// A fresh rate spans 10 s: 100 connections read 10/s, at the quota.
	for range 100 {
		mustAccept(t, q, ipA, t0)
	}
	// 101 read 10.1/s: (10.1-10)/10 * 10000 ms = 100 ms.
	if a := q.Accept(ipA, t0); a.Action != Accept || a.Delay != 100*time.Millisecond {
		t.Fatalf("101st: %+v, want accept after 100ms", a)
	}
	// Far over quota the delay is capped at one window.
	for range 200 {
		q.Accept(ipB, t0)
	}
	if a := q.Accept(ipB, t0); a.Action != Accept || a.Delay != time.Second {
		t.Fatalf("far over: %+v, want the 1s cap", a)
	}
}

func TestIPCreationRateRejects(t *testing.T) {
	q := newConnectionQuotas(t, nil,
		Record{Entity: Entity{IP: DefaultComponent()}, Key: ConnectionCreationRate, Value: 5},
		Record{Entity: Entity{IP: Name("192.0.2.1")}, Key: ConnectionCreationRate, Value: 100},
	)
	for range 50 {
		mustAccept(t, q, ipB, t0)
	}
	// 51 over a 10 s span is 5.1/s against 5: (5.1-5)/5 * 10000 ms.
	a := q.Accept(ipB, t0)
	if a.Action != Reject || a.Delay != 200*time.Millisecond || !errors.Is(a.Err, ErrConnectionThrottled) {
		t.Fatalf("51st from B: %+v, want close after 200ms", a)
	}
	if q.Count(ipB) != 50 {
		t.Fatalf("refused connection counted: %d", q.Count(ipB))
	}
	// The refused connection was unrecorded, so 50 still read 5/s... and
	// a specific entity overrides the default.
	for range 60 {
		mustAccept(t, q, ipA, t0)
	}
	// After the span moves on, B may connect again.
	mustAccept(t, q, ipB, at(12_000))
	if n := q.Expire(at(12_000 + time.Hour.Milliseconds() + 1)); n != 2 {
		t.Fatalf("expired %d per-IP sensors, want 2", n)
	}
}

func TestConnectionConfigRefusals(t *testing.T) {
	for _, edit := range []func(*ConnectionConfig){
		func(c *ConnectionConfig) { c.MaxConnectionsPerIP = 0 },
		func(c *ConnectionConfig) { c.MaxConnections = -1 },
		func(c *ConnectionConfig) { c.NumSamples = 0 },
	} {
		cfg := DefaultConnectionConfig()
		edit(&cfg)
		if _, err := NewConnectionQuotas(cfg, NewStore(nil)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func TestConnectionQuotasConcurrent(t *testing.T) {
	q := newConnectionQuotas(t, func(c *ConnectionConfig) {
		c.MaxConnections = 50
		c.MaxConnectionsPerIP = 10
		c.MaxConnectionCreationRate = 1000
	}, Record{Entity: Entity{IP: DefaultComponent()}, Key: ConnectionCreationRate, Value: 100})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			addr := netip.AddrFrom4([4]byte{10, 0, 0, byte(g)})
			for i := range 1000 {
				if a := q.Accept(addr, at(int64(i))); a.Action == Accept {
					_ = q.Release(addr)
				}
			}
		})
	}
	wg.Wait()
	if q.Total() != 0 {
		t.Fatalf("total %d after every release", q.Total())
	}
}
