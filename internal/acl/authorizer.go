package acl

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Config is the authorizer's static configuration.
type Config struct {
	// SuperUsers is super.users: principals ("User:admin") allowed every
	// operation whatever the bindings say. Kafka compares the whole
	// "Type:name" string, so "User:*" here only matches a principal named *.
	SuperUsers []string
	// AllowEveryoneIfNoACLFound is allow.everyone.if.no.acl.found (default
	// false): the decision for a resource that has no binding at all.
	AllowEveryoneIfNoACLFound bool
}

// Request is one authorization question: may Principal, connected from
// Host, perform Operation on the literal resource (ResourceType,
// ResourceName)?
type Request struct {
	// Principal is the session's KafkaPrincipal string, Principal.String().
	Principal string
	// Host is the client address as HostOf renders it.
	Host         string
	Operation    Operation
	ResourceType ResourceType
	ResourceName string
}

// Reason says which of Kafka's rules decided, for audit logs.
type Reason uint8

const (
	// ReasonInvalidRequest: the request's resource type or operation is not
	// a specific one (a caller bug); denied rather than guessed.
	ReasonInvalidRequest Reason = iota
	// ReasonSuperUser: the principal is in super.users.
	ReasonSuperUser
	// ReasonDenyBinding: a DENY binding matched; Decision.ID names it.
	ReasonDenyBinding
	// ReasonAllowBinding: an ALLOW binding matched and no DENY did;
	// Decision.ID names it.
	ReasonAllowBinding
	// ReasonNoMatchingBinding: the resource has bindings, none for this
	// request.
	ReasonNoMatchingBinding
	// ReasonNoBindings: the resource has no binding at all, so
	// allow.everyone.if.no.acl.found decided.
	ReasonNoBindings
)

func (r Reason) String() string {
	switch r {
	case ReasonInvalidRequest:
		return "InvalidRequest"
	case ReasonSuperUser:
		return "SuperUser"
	case ReasonDenyBinding:
		return "DenyBinding"
	case ReasonAllowBinding:
		return "AllowBinding"
	case ReasonNoMatchingBinding:
		return "NoMatchingBinding"
	case ReasonNoBindings:
		return "NoBindings"
	}
	return "Reason(?)"
}

// Decision is the outcome of Authorize.
type Decision struct {
	Allowed bool
	Reason  Reason
	// ID is the deciding binding for ReasonDenyBinding and
	// ReasonAllowBinding, zero otherwise.
	ID ID
}

// Authorizer decides requests against a set of bindings that the metadata
// layer maintains. See the package doc for its concurrency rules.
type Authorizer struct {
	seed              maphash.Seed // picks index shards; fixed for the authorizer's life
	superUsers        map[string]struct{}
	allowIfNoBindings bool
	current           atomic.Pointer[snapshot]
	mu                struct {
		sync.Mutex
		// byID locates a binding for Remove.
		byID map[ID]Binding
		// prefixLengthCounts counts PREFIXED bindings per name length and
		// resource type, to rebuild typeIndex.prefixLengths.
		prefixLengthCounts [numResourceTypes]map[int]int
	}
}

// New returns an authorizer with no bindings.
func New(cfg Config) *Authorizer {
	a := &Authorizer{
		seed:              maphash.MakeSeed(),
		superUsers:        make(map[string]struct{}, len(cfg.SuperUsers)),
		allowIfNoBindings: cfg.AllowEveryoneIfNoACLFound,
	}
	for _, p := range cfg.SuperUsers {
		a.superUsers[p] = struct{}{}
	}
	a.mu.byID = make(map[ID]Binding)
	a.current.Store(&snapshot{})
	return a
}

// Authorize decides a request with Kafka's rules (see the package doc). It
// does not lock or allocate, and it sees every change whose Add, Remove,
// Apply or Replace returned before it was called.
func (a *Authorizer) Authorize(req Request) Decision {
	if !specificResourceType(req.ResourceType) || !specificOperation(req.Operation) {
		return Decision{Reason: ReasonInvalidRequest}
	}
	if _, ok := a.superUsers[req.Principal]; ok {
		return Decision{Allowed: true, Reason: ReasonSuperUser}
	}
	m := matcher{principal: req.Principal, host: req.Host}
	m.allowMask, m.denyMask = operationMasks(req.Operation)
	if ti := a.current.Load().types[req.ResourceType]; ti != nil {
		ti.search(a.seed, req.ResourceName, &m)
	}
	switch {
	case m.denied:
		return Decision{Reason: ReasonDenyBinding, ID: m.decidingID}
	case m.allowed:
		return Decision{Allowed: true, Reason: ReasonAllowBinding, ID: m.decidingID}
	case m.hasEntries:
		return Decision{Reason: ReasonNoMatchingBinding}
	}
	return Decision{Allowed: a.allowIfNoBindings, Reason: ReasonNoBindings}
}

// byTypeProbeName is the resource name Kafka's authorizeByResourceType
// authorizes first, so super users and matching wildcard or prefixed
// bindings allow without the scan.
const byTypeProbeName = "hardcode"

// AuthorizeByResourceType reports whether principal, from host, may perform
// op on at least one resource of type rt, with Kafka's semantics (used to
// authorize InitProducerId without a transactional id through WRITE on any
// topic). After a probe Authorize, it looks at the principal's and User:*'s
// bindings of the type whose host matches and whose operation is op or ALL
// (no implication): any wildcard DENY refuses, a wildcard ALLOW allows, and
// otherwise some ALLOW (literal or prefixed) must not be covered by a DENY
// literal of the same name or a DENY prefix of its name. It scans the
// bindings of rt, so it costs O(bindings of rt); Kafka's does the same.
func (a *Authorizer) AuthorizeByResourceType(principal, host string, op Operation, rt ResourceType) bool {
	if !specificResourceType(rt) || !specificOperation(op) {
		return false
	}
	probe := Request{Principal: principal, Host: host, Operation: op, ResourceType: rt, ResourceName: byTypeProbeName}
	if a.Authorize(probe).Allowed {
		return true
	}
	ti := a.current.Load().types[rt]
	if ti == nil {
		return false
	}
	var c byTypeCollector
	for _, shard := range ti.shards {
		for key, entries := range shard {
			if !c.collect(key, entries, principal, host, op) {
				return false
			}
		}
	}
	return c.allows()
}

// byTypeCollector gathers the patterns AuthorizeByResourceType weighs.
type byTypeCollector struct {
	denyLiteral    map[string]struct{}
	denyPrefixed   map[string]struct{}
	allowLiteral   []string
	allowPrefixed  []string
	wildcardAllows bool
}

// collect records the pattern's applicable entries and returns false when a
// wildcard DENY settles the answer.
func (c *byTypeCollector) collect(key patternKey, entries []entry, principal, host string, op Operation) bool {
	for _, p := range [2]string{principal, WildcardPrincipal} {
		for i := firstOfPrincipal(entries, p); i < len(entries) && entries[i].principal == p; i++ {
			e := &entries[i]
			if (e.matchHost != Wildcard && e.matchHost != host) || (e.operation != op && e.operation != OpAll) {
				continue
			}
			if !c.add(key, e.permission) {
				return false
			}
		}
		if principal == WildcardPrincipal {
			break
		}
	}
	return true
}

func (c *byTypeCollector) add(key patternKey, permission Permission) bool {
	wildcard := key.pattern == PatternLiteral && key.name == Wildcard
	switch {
	case permission == PermissionDeny && wildcard:
		return false
	case permission == PermissionDeny && key.pattern == PatternLiteral:
		c.denyLiteral = addToSet(c.denyLiteral, key.name)
	case permission == PermissionDeny:
		c.denyPrefixed = addToSet(c.denyPrefixed, key.name)
	case wildcard:
		c.wildcardAllows = true
	case key.pattern == PatternLiteral:
		c.allowLiteral = append(c.allowLiteral, key.name)
	default:
		c.allowPrefixed = append(c.allowPrefixed, key.name)
	}
	return true
}

func addToSet(set map[string]struct{}, name string) map[string]struct{} {
	if set == nil {
		set = make(map[string]struct{})
	}
	set[name] = struct{}{}
	return set
}

func (c *byTypeCollector) allows() bool {
	if c.wildcardAllows {
		return true
	}
	for _, name := range c.allowLiteral {
		if _, denied := c.denyLiteral[name]; !denied && !c.deniedByPrefix(name) {
			return true
		}
	}
	for _, name := range c.allowPrefixed {
		if !c.deniedByPrefix(name) {
			return true
		}
	}
	return false
}

// deniedByPrefix reports whether a DENY prefix covers name (name included).
func (c *byTypeCollector) deniedByPrefix(name string) bool {
	for length := 1; length <= len(name); length++ {
		if _, ok := c.denyPrefixed[name[:length]]; ok {
			return true
		}
	}
	return false
}

// Describe returns the bindings the filter selects, for DescribeAcls, in a
// deterministic order. The filter is not validated here; call Validate first.
func (a *Authorizer) Describe(f Filter) []Binding {
	var out []Binding
	a.current.Load().each(f, func(_ ID, b Binding) { out = append(out, b) })
	slices.SortFunc(out, compareBindings)
	return out
}

// Matching returns the stored bindings the filter selects with their ids,
// for DeleteAcls: the caller writes a removal record per id. The order is
// Describe's.
func (a *Authorizer) Matching(f Filter) []IDAndBinding {
	var out []IDAndBinding
	a.current.Load().each(f, func(id ID, b Binding) { out = append(out, IDAndBinding{ID: id, Binding: b}) })
	slices.SortFunc(out, func(x, y IDAndBinding) int {
		if c := compareBindings(x.Binding, y.Binding); c != 0 {
			return c
		}
		return strings.Compare(string(x.ID[:]), string(y.ID[:]))
	})
	return out
}

// Len returns the number of stored bindings.
func (a *Authorizer) Len() int { return a.current.Load().count }
