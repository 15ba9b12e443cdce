package quota

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestDescribe(t *testing.T) {
	s := NewStore(nil)
	for _, e := range append(levelEntities,
		Entity{User: Name("u2")},
		Entity{IP: Name("192.0.2.1")},
		Entity{IP: DefaultComponent()},
	) {
		key := ProducerByteRate
		if e.IP.Kind != Absent {
			key = ConnectionCreationRate
		}
		s.Apply(Record{Entity: e, Key: key, Value: 1})
	}
	exact := func(typ, name string) FilterComponent {
		return FilterComponent{EntityType: typ, MatchType: MatchExact, Match: &name}
	}
	def := func(typ string) FilterComponent { return FilterComponent{EntityType: typ, MatchType: MatchDefault} }
	any := func(typ string) FilterComponent { return FilterComponent{EntityType: typ, MatchType: MatchSpecified} }
	tests := []struct {
		name   string
		filter Filter
		want   int
	}{
		{"everything", Filter{}, 11},
		{"strict nothing", Filter{Strict: true}, 0},
		{"user u1", Filter{Components: []FilterComponent{exact(EntityUser, "u1")}}, 3},
		{"user u1 strict", Filter{Components: []FilterComponent{exact(EntityUser, "u1")}, Strict: true}, 1},
		{"default user", Filter{Components: []FilterComponent{def(EntityUser)}}, 3},
		{"any user", Filter{Components: []FilterComponent{any(EntityUser)}}, 7},
		{"any user strict", Filter{Components: []FilterComponent{any(EntityUser)}, Strict: true}, 3},
		{"any user, default client", Filter{Components: []FilterComponent{any(EntityUser), def(EntityClientID)}}, 2},
		{"any client strict", Filter{Components: []FilterComponent{any(EntityClientID)}, Strict: true}, 2},
		{"ip exact", Filter{Components: []FilterComponent{exact(EntityIP, "192.0.2.1")}}, 1},
		{"any ip", Filter{Components: []FilterComponent{any(EntityIP)}}, 2},
		{"default ip", Filter{Components: []FilterComponent{def(EntityIP)}}, 1},
		{"no such user", Filter{Components: []FilterComponent{exact(EntityUser, "zz")}}, 0},
	}
	for _, tt := range tests {
		got, err := s.Describe(tt.filter)
		if err != nil || len(got) != tt.want {
			t.Errorf("%s: got %d entities (%v), want %d", tt.name, len(got), err, tt.want)
		}
	}
}

func TestDescribeRefusals(t *testing.T) {
	name := "x"
	tests := []struct {
		name string
		c    []FilterComponent
		code *kerr.Error
	}{
		{"empty type", []FilterComponent{{EntityType: "", MatchType: MatchSpecified}}, kerr.InvalidRequest},
		{"unknown type", []FilterComponent{{EntityType: "group", MatchType: MatchSpecified}}, kerr.UnsupportedVersion},
		{"repeated type", []FilterComponent{{EntityType: EntityUser, MatchType: MatchSpecified}, {EntityType: EntityUser, MatchType: MatchDefault}}, kerr.InvalidRequest},
		{"exact without match", []FilterComponent{{EntityType: EntityUser, MatchType: MatchExact}}, kerr.InvalidRequest},
		{"default with match", []FilterComponent{{EntityType: EntityUser, MatchType: MatchDefault, Match: &name}}, kerr.InvalidRequest},
		{"specified with match", []FilterComponent{{EntityType: EntityUser, MatchType: MatchSpecified, Match: &name}}, kerr.InvalidRequest},
		{"unknown match type", []FilterComponent{{EntityType: EntityUser, MatchType: 3}}, kerr.InvalidRequest},
		{"ip with user", []FilterComponent{{EntityType: EntityIP, MatchType: MatchSpecified}, {EntityType: EntityUser, MatchType: MatchSpecified}}, kerr.InvalidRequest},
	}
	s := NewStore(nil)
	for _, tt := range tests {
		if _, err := s.Describe(Filter{Components: tt.c}); !errors.Is(err, tt.code) {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.code.Message)
		}
	}
}
