package quota

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func str(s string) *string { return &s }

func user(n *string) WireComponent   { return WireComponent{Type: EntityUser, Name: n} }
func client(n *string) WireComponent { return WireComponent{Type: EntityClientID, Name: n} }
func ip(n *string) WireComponent     { return WireComponent{Type: EntityIP, Name: n} }

func set(k Key, v float64) Op { return Op{Key: k, Value: v} }

func TestPlanAlterValidation(t *testing.T) {
	resolver := func(h string) (netip.Addr, bool) {
		return netip.MustParseAddr("10.0.0.9"), h == "broker.example"
	}
	tests := []struct {
		name   string
		entity []WireComponent
		ops    []Op
		code   *kerr.Error // nil: accepted
	}{
		{"user", []WireComponent{user(str("alice"))}, []Op{set(ProducerByteRate, 1024)}, nil},
		{"default user", []WireComponent{user(nil)}, []Op{set(ConsumerByteRate, 1024)}, nil},
		{"client-id", []WireComponent{client(str("app"))}, []Op{set(RequestPercentage, 12.5)}, nil},
		{"user and client-id", []WireComponent{user(str("a")), client(nil)}, []Op{set(ControllerMutationRate, 0.5)}, nil},
		{"ip literal", []WireComponent{ip(str("192.0.2.1"))}, []Op{set(ConnectionCreationRate, 10)}, nil},
		{"ipv6", []WireComponent{ip(str("2001:db8::1"))}, []Op{set(ConnectionCreationRate, 10)}, nil},
		{"default ip", []WireComponent{ip(nil)}, []Op{set(ConnectionCreationRate, 10)}, nil},
		{"resolvable host", []WireComponent{ip(str("broker.example"))}, []Op{set(ConnectionCreationRate, 10)}, nil},
		{"empty entity", nil, []Op{set(ProducerByteRate, 1)}, kerr.InvalidRequest},
		{"unknown type", []WireComponent{{Type: "group", Name: str("g")}}, nil, kerr.InvalidRequest},
		{"empty user name", []WireComponent{user(str(""))}, []Op{set(ProducerByteRate, 1)}, kerr.InvalidRequest},
		{"empty client name", []WireComponent{client(str(""))}, []Op{set(ProducerByteRate, 1)}, kerr.InvalidRequest},
		{"ip with user", []WireComponent{ip(nil), user(str("a"))}, []Op{set(ConnectionCreationRate, 1)}, kerr.InvalidRequest},
		{"ip with client-id", []WireComponent{ip(str("192.0.2.1")), client(nil)}, nil, kerr.InvalidRequest},
		{"unresolvable host", []WireComponent{ip(str("nowhere.example"))}, nil, kerr.InvalidRequest},
		{"ip key on user", []WireComponent{user(str("a"))}, []Op{set(ConnectionCreationRate, 1)}, kerr.InvalidRequest},
		{"client key on ip", []WireComponent{ip(nil)}, []Op{set(ProducerByteRate, 1)}, kerr.InvalidRequest},
		{"unknown key", []WireComponent{user(str("a"))}, []Op{set("consumer_byte_rates", 1)}, kerr.InvalidRequest},
		{"zero", []WireComponent{user(str("a"))}, []Op{set(ProducerByteRate, 0)}, kerr.InvalidRequest},
		{"negative double", []WireComponent{user(str("a"))}, []Op{set(RequestPercentage, -1)}, kerr.InvalidRequest},
		{"fractional long", []WireComponent{user(str("a"))}, []Op{set(ProducerByteRate, 1.5)}, kerr.InvalidRequest},
		{"nearly integral long", []WireComponent{user(str("a"))}, []Op{set(ProducerByteRate, 100.0000001)}, nil},
		{"fractional int", []WireComponent{ip(nil)}, []Op{set(ConnectionCreationRate, 2.25)}, kerr.InvalidRequest},
		{"int too large", []WireComponent{ip(nil)}, []Op{set(ConnectionCreationRate, 1<<31)}, kerr.InvalidRequest},
		{"long too large", []WireComponent{user(nil)}, []Op{set(ProducerByteRate, 1e19)}, kerr.InvalidRequest},
		{"fractional double ok", []WireComponent{user(nil)}, []Op{set(ControllerMutationRate, 0.25)}, nil},
		{"remove unknown key ok", []WireComponent{user(nil)}, []Op{{Key: "nonsense", Remove: true}}, nil},
		{"duplicate key", []WireComponent{user(nil)}, []Op{set(ProducerByteRate, 1), set(ProducerByteRate, 2)}, kerr.InvalidRequest},
		{"repeated type keeps last", []WireComponent{user(str("")), user(str("b"))}, []Op{set(ProducerByteRate, 1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(resolver)
			results, _ := s.PlanAlter([]Alteration{{Entity: tt.entity, Ops: tt.ops}})
			err := results[0]
			if tt.code == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var qe *Error
			if !errors.Is(err, tt.code) || !errors.As(err, &qe) || qe.Message == "" {
				t.Fatalf("got %v, want %s with a message", err, tt.code.Message)
			}
		})
	}
}

func TestPlanAlterRecords(t *testing.T) {
	s := NewStore(nil)
	alice := []WireComponent{user(str("alice"))}
	results, records := s.PlanAlter([]Alteration{{Entity: alice, Ops: []Op{set(ProducerByteRate, 100), set(ConsumerByteRate, 200)}}})
	if results[0] != nil || len(records) != 2 {
		t.Fatalf("results %v records %v", results, records)
	}
	s.Apply(records...)
	// Unchanged values and removals of absent keys produce nothing.
	_, records = s.PlanAlter([]Alteration{{Entity: alice, Ops: []Op{set(ProducerByteRate, 100), {Key: RequestPercentage, Remove: true}}}})
	if len(records) != 0 {
		t.Fatalf("no-op produced %v", records)
	}
	_, records = s.PlanAlter([]Alteration{{Entity: alice, Ops: []Op{{Key: ConsumerByteRate, Remove: true}, set(ProducerByteRate, 50)}}})
	s.Apply(records...)
	got := s.Quotas(Entity{User: Name("alice")})
	if len(got) != 1 || got[ProducerByteRate] != 50 {
		t.Fatalf("quotas %v", got)
	}
	// One bad op refuses the whole entity.
	results, records = s.PlanAlter([]Alteration{{Entity: alice, Ops: []Op{set(ConsumerByteRate, 7), set(ProducerByteRate, -1)}}})
	if results[0] == nil || len(records) != 0 {
		t.Fatalf("partial alteration: %v %v", results, records)
	}
}

func TestPlanAlterDuplicateEntity(t *testing.T) {
	s := NewStore(nil)
	a := Alteration{Entity: []WireComponent{client(str("c"))}, Ops: []Op{set(ProducerByteRate, 1)}}
	b := Alteration{Entity: []WireComponent{user(nil)}, Ops: []Op{set(ProducerByteRate, 1)}}
	results, _ := s.PlanAlter([]Alteration{a, b, a})
	if !errors.Is(results[0], kerr.InvalidRequest) || results[1] != nil || !errors.Is(results[2], kerr.InvalidRequest) {
		t.Fatalf("results %v", results)
	}
}
