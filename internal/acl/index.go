package acl

import (
	"cmp"
	"hash/maphash"
	"slices"
)

// numShards splits each resource type's bindings so that a single Add or
// Remove copies about 1/numShards of them instead of all: with 10,000
// bindings of one type a write clones a map of ~150 patterns. Lookups pay one
// extra string hash to pick the shard.
const numShards = 64

// entry is a stored binding's access control entry; its resource pattern is
// the key it is stored under.
type entry struct {
	id        ID
	principal string
	// host is as the binding gave it, for Describe; matchHost is its
	// canonical form (see canonicalHost), compared with Request.Host.
	host       string
	matchHost  string
	operation  Operation
	permission Permission
}

// patternKey is a resource pattern within one resource type.
type patternKey struct {
	name    string
	pattern PatternType
}

// typeIndex holds the bindings of one resource type. Every slice of entries
// is sorted by principal (then id), so Authorize finds a principal's entries
// and User:*'s by binary search however many principals share a pattern.
// A typeIndex reachable from a published snapshot is never modified.
type typeIndex struct {
	shards [numShards]map[patternKey][]entry
	// prefixLengths holds the distinct lengths of PREFIXED names, ascending,
	// so finding the prefixes of a resource name costs one lookup per length
	// that exists rather than a scan of the prefixed bindings.
	prefixLengths []int
	count         int
}

// snapshot is an immutable view of all bindings, published atomically.
type snapshot struct {
	types [numResourceTypes]*typeIndex
	count int
}

func shardOf(seed maphash.Seed, name string) int {
	return int(maphash.String(seed, name) % numShards)
}

// lookup returns the entries stored under (name, pattern), or nil.
func (ti *typeIndex) lookup(seed maphash.Seed, name string, pattern PatternType) []entry {
	shard := ti.shards[shardOf(seed, name)]
	if shard == nil {
		return nil
	}
	return shard[patternKey{name: name, pattern: pattern}]
}

// matcher accumulates Kafka's decision over the entry lists that apply to
// one resource. It lives on Authorize's stack.
type matcher struct {
	principal  string
	host       string
	allowMask  uint32
	denyMask   uint32
	hasEntries bool // some binding, for anybody, applies to the resource
	allowed    bool
	denied     bool
	decidingID ID
}

// search visits every entry list that applies to the literal resource name:
// the equal literal, each prefix that exists, and the literal wildcard. It
// stops at the first matching DENY, since nothing can overturn it.
func (ti *typeIndex) search(seed maphash.Seed, name string, m *matcher) {
	if m.visit(ti.lookup(seed, name, PatternLiteral)) {
		return
	}
	for _, length := range ti.prefixLengths {
		if length > len(name) {
			break
		}
		if m.visit(ti.lookup(seed, name[:length], PatternPrefixed)) {
			return
		}
	}
	if name != Wildcard {
		m.visit(ti.lookup(seed, Wildcard, PatternLiteral))
	}
}

// visit applies one pattern's entries and reports whether a DENY matched.
func (m *matcher) visit(entries []entry) bool {
	if len(entries) == 0 {
		return false
	}
	m.hasEntries = true
	if m.visitPrincipal(entries, m.principal) {
		return true
	}
	return m.principal != WildcardPrincipal && m.visitPrincipal(entries, WildcardPrincipal)
}

func (m *matcher) visitPrincipal(entries []entry, principal string) bool {
	for i := firstOfPrincipal(entries, principal); i < len(entries) && entries[i].principal == principal; i++ {
		e := &entries[i]
		if e.matchHost != Wildcard && e.matchHost != m.host {
			continue
		}
		if e.permission == PermissionDeny {
			if m.denyMask&bit(e.operation) != 0 {
				m.denied, m.decidingID = true, e.id
				return true
			}
		} else if !m.allowed && m.allowMask&bit(e.operation) != 0 {
			m.allowed, m.decidingID = true, e.id
		}
	}
	return false
}

// firstOfPrincipal is a binary search for the first entry whose principal is
// not less than principal. Written out rather than through sort.Search to
// keep the hot path free of closures.
func firstOfPrincipal(entries []entry, principal string) int {
	low, high := 0, len(entries)
	for low < high {
		mid := int(uint(low+high) >> 1)
		if entries[mid].principal < principal {
			low = mid + 1
		} else {
			high = mid
		}
	}
	return low
}

// compareEntries orders a pattern's entries: by principal for the binary
// search, then by the rest so the order (and Describe's output) is stable.
func compareEntries(a, b entry) int {
	return cmp.Or(
		cmp.Compare(a.principal, b.principal),
		cmp.Compare(a.permission, b.permission), // DENY (2) sorts before ALLOW (3)
		cmp.Compare(a.host, b.host),
		cmp.Compare(a.operation, b.operation),
		slices.Compare(a.id[:], b.id[:]),
	)
}

// each calls fn for every stored binding of the resource types the filter
// can match, in no particular order.
func (s *snapshot) each(f Filter, fn func(ID, Binding)) {
	for rt, ti := range s.types {
		if ti == nil || (f.ResourceType != ResourceAny && ResourceType(rt) != f.ResourceType) {
			continue
		}
		for _, shard := range ti.shards {
			for key, entries := range shard {
				for _, e := range entries {
					b := Binding{
						ResourceType: ResourceType(rt),
						ResourceName: key.name,
						PatternType:  key.pattern,
						Principal:    e.principal,
						Host:         e.host,
						Operation:    e.operation,
						Permission:   e.permission,
					}
					if f.Matches(b) {
						fn(e.id, b)
					}
				}
			}
		}
	}
}

// compareBindings orders Describe's output so it is deterministic.
func compareBindings(a, b Binding) int {
	return cmp.Or(
		cmp.Compare(a.ResourceType, b.ResourceType),
		cmp.Compare(a.PatternType, b.PatternType),
		cmp.Compare(a.ResourceName, b.ResourceName),
		cmp.Compare(a.Principal, b.Principal),
		cmp.Compare(a.Host, b.Host),
		cmp.Compare(a.Operation, b.Operation),
		cmp.Compare(a.Permission, b.Permission),
	)
}
