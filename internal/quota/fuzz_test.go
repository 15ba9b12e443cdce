package quota

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func FuzzParseOverrides(f *testing.F) {
	for _, s := range []string{"", "192.0.2.1:5", " a:1 , b:2,", "2001:db8::1:7", ":", ",", "a:-3", "x:+4,x:5", "a:1,,b:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseOverrides(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		for host, n := range m {
			if host == "" || host != strings.TrimSpace(host) || strings.Contains(host, ",") {
				t.Fatalf("bad host %q", host)
			}
			if n < math.MinInt32 || n > math.MaxInt32 {
				t.Fatalf("count %d out of int range", n)
			}
		}
	})
}

// FuzzPlanAlter alters arbitrary entities with arbitrary keys and values: no
// panic, every refusal carries a Kafka code, and whatever is accepted is
// valid and applies.
func FuzzPlanAlter(f *testing.F) {
	f.Add("user", "alice", false, "client-id", "", true, "producer_byte_rate", 1024.0, false)
	f.Add("ip", "192.0.2.1", false, "", "", false, "connection_creation_rate", 5.5, false)
	f.Add("client-id", "", false, "user", "", true, "request_percentage", -1.0, true)
	f.Add("user", "", true, "user", "b", false, "consumer_byte_rate", math.NaN(), false)
	f.Add("group", "g", false, "ip", "", true, "controller_mutation_rate", math.Inf(1), false)
	f.Fuzz(func(t *testing.T, type1, name1 string, default1 bool, type2, name2 string, default2 bool, key string, value float64, remove bool) {
		var comps []WireComponent
		for _, c := range []struct {
			typ, name string
			def       bool
		}{{type1, name1, default1}, {type2, name2, default2}} {
			if c.typ == "" {
				continue
			}
			wc := WireComponent{Type: c.typ}
			if !c.def {
				wc.Name = &c.name
			}
			comps = append(comps, wc)
		}
		s := NewStore(nil)
		alt := Alteration{Entity: comps, Ops: []Op{{Key: Key(key), Value: value, Remove: remove}}}
		results, records := s.PlanAlter([]Alteration{alt, alt})
		for _, err := range results {
			if err == nil {
				t.Fatal("duplicate entity accepted")
			}
			if !errors.Is(err, kerr.InvalidRequest) {
				t.Fatalf("refusal without INVALID_REQUEST: %v", err)
			}
		}
		results, records = s.PlanAlter([]Alteration{alt})
		if results[0] != nil {
			return
		}
		for _, r := range records {
			if !r.Remove && (r.Value <= 0 || math.IsNaN(r.Value) || math.IsInf(r.Value, 0)) {
				t.Fatalf("accepted value %v", r.Value)
			}
			idx, ok := indexOf(r.Key)
			if !ok || !keyAllowed(r.Entity, idx) {
				t.Fatalf("accepted key %q on %v", r.Key, r.Entity)
			}
		}
		s.Apply(records...)
		m, err := NewManager(Config{}, s)
		if err != nil {
			t.Fatal(err)
		}
		m.RecordProduce(name1, name2, 1<<20, t0)
		_, _ = m.RecordMutations(name1, name2, 3, true, t0)
		if _, err := s.Describe(Filter{}); err != nil {
			t.Fatal(err)
		}
	})
}
