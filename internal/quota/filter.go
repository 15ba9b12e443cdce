package quota

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
)

// MatchType is how a DescribeClientQuotas filter component matches.
type MatchType int8

// Match types, numbered as on the wire.
const (
	MatchExact     MatchType = 0 // the entity names exactly Match
	MatchDefault   MatchType = 1 // the default entity of the type
	MatchSpecified MatchType = 2 // any entity having the type, default included (Kafka's KRaft image)
)

// FilterComponent is one component of a DescribeClientQuotas request.
type FilterComponent struct {
	EntityType string
	MatchType  MatchType
	Match      *string
}

// Filter is a DescribeClientQuotas request: an entity matches when every
// component matches it and, with Strict, it has no other type.
type Filter struct {
	Components []FilterComponent
	Strict     bool
}

// EntityQuotas is one entry of a DescribeClientQuotas response.
type EntityQuotas struct {
	Entity Entity
	Quotas map[Key]float64
}

// compiledFilter is a validated Filter: per type, whether it must be there
// and, if so, which component it must equal.
type compiledFilter struct {
	want   [3]bool // indexed user, client-id, ip
	exact  [3]bool
	equals [3]Component
	n      int
	strict bool
}

// compileFilter validates a filter as Kafka does before matching.
func compileFilter(f Filter) (compiledFilter, error) {
	c := compiledFilter{strict: f.Strict}
	for _, fc := range f.Components {
		var i int
		switch fc.EntityType {
		case "":
			return c, invalidRequest("Invalid empty entity type.")
		case EntityUser:
			i = 0
		case EntityClientID:
			i = 1
		case EntityIP:
			i = 2
		default:
			return c, &Error{Code: kerr.UnsupportedVersion, Message: "Unsupported entity type " + fc.EntityType}
		}
		if c.want[i] {
			return c, invalidRequest("Entity type %s cannot appear more than once in the filter.", fc.EntityType)
		}
		c.want[i] = true
		c.n++
		switch fc.MatchType {
		case MatchExact:
			if fc.Match == nil {
				return c, invalidRequest("Request specified MATCH_TYPE_EXACT, but set match string to null.")
			}
			c.exact[i], c.equals[i] = true, Name(*fc.Match)
		case MatchDefault:
			if fc.Match != nil {
				return c, invalidRequest("Request specified MATCH_TYPE_DEFAULT, but also specified a match string.")
			}
			c.exact[i], c.equals[i] = true, DefaultComponent()
		case MatchSpecified:
			if fc.Match != nil {
				return c, invalidRequest("Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.")
			}
		default:
			return c, invalidRequest("Unknown match type %d", fc.MatchType)
		}
	}
	if c.want[2] && (c.want[0] || c.want[1]) {
		return c, invalidRequest("Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.")
	}
	return c, nil
}

func (c compiledFilter) matches(e Entity) bool {
	comps := [3]Component{e.User, e.ClientID, e.IP}
	if c.strict {
		n := 0
		for _, comp := range comps {
			if comp.Kind != Absent {
				n++
			}
		}
		if n != c.n {
			return false
		}
	}
	for i, comp := range comps {
		if !c.want[i] {
			continue
		}
		if comp.Kind == Absent || (c.exact[i] && comp != c.equals[i]) {
			return false
		}
	}
	return true
}

// Describe answers a DescribeClientQuotas request: the entities matching f
// with their quotas, sorted by entity for stable output. A refused filter
// returns an *Error wrapping kerr.InvalidRequest or kerr.UnsupportedVersion.
func (s *Store) Describe(f Filter) ([]EntityQuotas, error) {
	c, err := compileFilter(f)
	if err != nil {
		return nil, err
	}
	var out []EntityQuotas
	for e, v := range s.table.Load().entities {
		if !c.matches(e) {
			continue
		}
		q := make(map[Key]float64)
		for k := range numKeys {
			if v.has(k) {
				q[keyNames[k]] = v.v[k]
			}
		}
		out = append(out, EntityQuotas{Entity: e, Quotas: q})
	}
	slices.SortFunc(out, func(a, b EntityQuotas) int { return compareEntities(a.Entity, b.Entity) })
	return out, nil
}

func compareEntities(a, b Entity) int {
	for _, p := range [][2]Component{{a.User, b.User}, {a.ClientID, b.ClientID}, {a.IP, b.IP}} {
		if c := cmp.Or(cmp.Compare(p[0].Kind, p[1].Kind), cmp.Compare(p[0].Name, p[1].Name)); c != 0 {
			return c
		}
	}
	return 0
}
