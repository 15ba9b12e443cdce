package acl

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// model is the naive authorizer the index is checked against: a plain loop
// over every binding, written from Kafka's rules without the package's
// helpers.
type model struct {
	superUsers []string
	allowIfNo  bool
	bindings   map[ID]Binding
}

func newModel(cfg Config) *model {
	return &model{superUsers: cfg.SuperUsers, allowIfNo: cfg.AllowEveryoneIfNoACLFound, bindings: map[ID]Binding{}}
}

func modelHost(h string) string {
	if h == "*" {
		return h
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String()
	}
	return h
}

func modelResourceMatches(b Binding, rt ResourceType, name string) bool {
	if b.ResourceType != rt {
		return false
	}
	if b.PatternType == PatternLiteral {
		return b.ResourceName == name || b.ResourceName == "*"
	}
	return b.PatternType == PatternPrefixed && strings.HasPrefix(name, b.ResourceName)
}

func modelEntryMatches(b Binding, principal, host string) bool {
	return (b.Principal == principal || b.Principal == "User:*") &&
		(b.Host == "*" || modelHost(b.Host) == host)
}

func modelImplies(bindingOp, op Operation) bool {
	switch op {
	case OpDescribe:
		return bindingOp == OpRead || bindingOp == OpWrite || bindingOp == OpDelete || bindingOp == OpAlter
	case OpDescribeConfigs:
		return bindingOp == OpAlterConfigs
	}
	return false
}

func (m *model) authorize(req Request) bool {
	if req.ResourceType < ResourceTopic || req.ResourceType > ResourceUser || req.Operation < OpAll || req.Operation > OpDescribeTokens {
		return false
	}
	if slices.Contains(m.superUsers, req.Principal) {
		return true
	}
	found, allowed, denied := false, false, false
	for _, b := range m.bindings {
		if !modelResourceMatches(b, req.ResourceType, req.ResourceName) {
			continue
		}
		found = true
		if !modelEntryMatches(b, req.Principal, req.Host) {
			continue
		}
		opMatches := b.Operation == OpAll || b.Operation == req.Operation
		if b.Permission == PermissionDeny && opMatches {
			denied = true
		}
		if b.Permission == PermissionAllow && (opMatches || modelImplies(b.Operation, req.Operation)) {
			allowed = true
		}
	}
	switch {
	case denied:
		return false
	case allowed:
		return true
	case found:
		return false
	}
	return m.allowIfNo
}

// authorizeByResourceType follows Kafka's default Authorizer method step by
// step.
func (m *model) authorizeByResourceType(principal, host string, op Operation, rt ResourceType) bool {
	if rt < ResourceTopic || rt > ResourceUser || op < OpAll || op > OpDescribeTokens {
		return false
	}
	if m.authorize(Request{Principal: principal, Host: host, Operation: op, ResourceType: rt, ResourceName: "hardcode"}) {
		return true
	}
	denyLit, denyPre := map[string]bool{}, map[string]bool{}
	var allowLit, allowPre []string
	wildAllow := false
	for _, b := range m.bindings {
		if b.ResourceType != rt || !modelEntryMatches(b, principal, host) || (b.Operation != op && b.Operation != OpAll) {
			continue
		}
		switch {
		case b.Permission == PermissionDeny && b.PatternType == PatternLiteral && b.ResourceName == "*":
			return false
		case b.Permission == PermissionDeny && b.PatternType == PatternLiteral:
			denyLit[b.ResourceName] = true
		case b.Permission == PermissionDeny:
			denyPre[b.ResourceName] = true
		case b.PatternType == PatternLiteral && b.ResourceName == "*":
			wildAllow = true
		case b.PatternType == PatternLiteral:
			allowLit = append(allowLit, b.ResourceName)
		default:
			allowPre = append(allowPre, b.ResourceName)
		}
	}
	if wildAllow {
		return true
	}
	dominated := func(s string) bool {
		for p := range denyPre {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
		return false
	}
	for _, s := range allowLit {
		if !denyLit[s] && !dominated(s) {
			return true
		}
	}
	for _, s := range allowPre {
		if !dominated(s) {
			return true
		}
	}
	return false
}

func modelFilterMatches(f Filter, b Binding) bool {
	if f.ResourceType != ResourceAny && f.ResourceType != b.ResourceType {
		return false
	}
	if f.PatternType != PatternAny && f.PatternType != PatternMatch && f.PatternType != b.PatternType {
		return false
	}
	if f.ResourceName != nil {
		if f.PatternType == PatternMatch {
			if !modelResourceMatches(b, b.ResourceType, *f.ResourceName) {
				return false
			}
		} else if *f.ResourceName != b.ResourceName {
			return false
		}
	}
	return (f.Principal == nil || *f.Principal == b.Principal) &&
		(f.Host == nil || *f.Host == b.Host) &&
		(f.Operation == OpAny || f.Operation == b.Operation) &&
		(f.Permission == PermissionAny || f.Permission == b.Permission)
}

// vocabulary keeps random bindings and requests colliding often enough to
// exercise prefixes, wildcards and deny/allow interplay.
var (
	vocabNames      = []string{"a", "ab", "abc", "abd", "b", "ba", "*", "hardcode", "hard", "kafka-cluster", "orders.eu"}
	vocabPrincipals = []string{"User:alice", "User:bob", "User:*", "Group:ops", "User:carol"}
	vocabHosts      = []string{"*", "10.0.0.1", "10.0.0.2", "::1", "::ffff:10.0.0.1"}
	vocabReqHosts   = []string{"10.0.0.1", "10.0.0.2", "::1", "10.9.9.9"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func randomBinding(r *rand.Rand) Binding {
	b := Binding{
		ResourceType: ResourceType(2 + r.IntN(6)),
		ResourceName: pick(r, vocabNames),
		PatternType:  pick(r, []PatternType{PatternLiteral, PatternPrefixed}),
		Principal:    pick(r, vocabPrincipals),
		Host:         pick(r, vocabHosts),
		Operation:    Operation(2 + r.IntN(13)),
		Permission:   pick(r, []Permission{PermissionAllow, PermissionAllow, PermissionDeny}),
	}
	if b.ResourceType == ResourceCluster {
		b.ResourceName = ClusterName
	}
	if b.ResourceName == "*" {
		b.PatternType = PatternLiteral
	}
	return b
}

func randomRequest(r *rand.Rand) Request {
	return Request{
		Principal:    pick(r, vocabPrincipals),
		Host:         pick(r, vocabReqHosts),
		Operation:    Operation(2 + r.IntN(13)),
		ResourceType: ResourceType(2 + r.IntN(6)),
		ResourceName: pick(r, append(vocabNames, "abcd", "orders.eu.payments", "c", "")),
	}
}

func randomFilter(r *rand.Rand) Filter {
	f := Filter{
		ResourceType: ResourceType(1 + r.IntN(7)),
		PatternType:  PatternType(1 + r.IntN(4)),
		Operation:    Operation(1 + r.IntN(14)),
		Permission:   Permission(1 + r.IntN(3)),
	}
	if r.IntN(2) == 0 {
		n := pick(r, append(vocabNames, "abcd"))
		f.ResourceName = &n
	}
	if r.IntN(3) == 0 {
		p := pick(r, vocabPrincipals)
		f.Principal = &p
	}
	if r.IntN(4) == 0 {
		h := pick(r, vocabHosts)
		f.Host = &h
	}
	return f
}

func randomID(r *rand.Rand) ID {
	var id ID
	for i := range id {
		id[i] = byte(r.Uint32())
	}
	return id
}

// TestAgainstModel drives the authorizer and the model with the same random
// adds, removes and batches from a seed and compares every answer.
func TestAgainstModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x5eed))
			cfg := Config{SuperUsers: []string{"User:admin"}, AllowEveryoneIfNoACLFound: seed%2 == 1}
			a, m := New(cfg), newModel(cfg)
			var ids []ID
			for round := range 40 {
				var batch []Change
				for range 1 + r.IntN(8) {
					if len(ids) > 0 && r.IntN(3) == 0 {
						i := r.IntN(len(ids))
						batch = append(batch, Change{Kind: ChangeRemove, ID: ids[i]})
						delete(m.bindings, ids[i])
						ids = slices.Delete(ids, i, i+1)
						continue
					}
					id, b := randomID(r), randomBinding(r)
					batch = append(batch, Change{Kind: ChangeAdd, ID: id, Binding: b})
					m.bindings[id] = b
					ids = append(ids, id)
				}
				if err := a.Apply(batch); err != nil {
					t.Fatalf("round %d: Apply: %v", round, err)
				}
				if a.Len() != len(m.bindings) {
					t.Fatalf("round %d: Len = %d, model has %d", round, a.Len(), len(m.bindings))
				}
				checkAgainstModel(t, r, a, m)
			}
		})
	}
}

func checkAgainstModel(t *testing.T, r *rand.Rand, a *Authorizer, m *model) {
	t.Helper()
	for range 200 {
		req := randomRequest(r)
		if got, want := a.Authorize(req), m.authorize(req); got.Allowed != want {
			t.Fatalf("Authorize(%+v) = %+v, model says %v; bindings:\n%s", req, got, want, dump(m))
		}
		got := a.AuthorizeByResourceType(req.Principal, req.Host, req.Operation, req.ResourceType)
		if want := m.authorizeByResourceType(req.Principal, req.Host, req.Operation, req.ResourceType); got != want {
			t.Fatalf("AuthorizeByResourceType(%+v) = %v, model says %v; bindings:\n%s", req, got, want, dump(m))
		}
	}
	for range 20 {
		f := randomFilter(r)
		var want []IDAndBinding
		for id, b := range m.bindings {
			if modelFilterMatches(f, b) {
				want = append(want, IDAndBinding{ID: id, Binding: b})
			}
		}
		got := a.Matching(f)
		if len(got) != len(want) {
			t.Fatalf("Matching(%+v) returned %d bindings, model %d", f, len(got), len(want))
		}
		for _, ib := range got {
			if m.bindings[ib.ID] != ib.Binding || !modelFilterMatches(f, ib.Binding) {
				t.Fatalf("Matching(%+v) returned %v %v, not in the model", f, ib.ID, ib.Binding)
			}
		}
		if d := a.Describe(f); len(d) != len(want) {
			t.Fatalf("Describe(%+v) returned %d bindings, model %d", f, len(d), len(want))
		}
	}
}

func dump(m *model) string {
	var sb strings.Builder
	for id, b := range m.bindings {
		fmt.Fprintf(&sb, "  %v %v\n", id, b)
	}
	return sb.String()
}
