package acl

import (
	"errors"
	"fmt"
	"testing"
)

func lit(rt ResourceType, name, principal, host string, op Operation, perm Permission) Binding {
	return Binding{ResourceType: rt, ResourceName: name, PatternType: PatternLiteral, Principal: principal, Host: host, Operation: op, Permission: perm}
}

func pre(rt ResourceType, name, principal, host string, op Operation, perm Permission) Binding {
	b := lit(rt, name, principal, host, op, perm)
	b.PatternType = PatternPrefixed
	return b
}

func idOf(i int) ID { return ID{byte(i >> 8), byte(i), 0xac} }

func mustAuthorizer(t testing.TB, cfg Config, bindings ...Binding) *Authorizer {
	t.Helper()
	a := New(cfg)
	for i, b := range bindings {
		if err := a.Add(idOf(i), b); err != nil {
			t.Fatalf("Add(%v): %v", b, err)
		}
	}
	return a
}

const (
	alice = "User:alice"
	bob   = "User:bob"
	host1 = "10.0.0.1"
	host2 = "10.0.0.2"
)

func TestAuthorizeSemantics(t *testing.T) {
	topic := func(name string, op Operation) Request {
		return Request{Principal: alice, Host: host1, Operation: op, ResourceType: ResourceTopic, ResourceName: name}
	}
	as := func(r Request, principal, host string) Request { r.Principal, r.Host = principal, host; return r }
	tests := []struct {
		name     string
		cfg      Config
		bindings []Binding
		req      Request
		want     bool
		reason   Reason
	}{
		{"no bindings, default deny", Config{}, nil, topic("t", OpRead), false, ReasonNoBindings},
		{"no bindings, allow.everyone.if.no.acl.found", Config{AllowEveryoneIfNoACLFound: true}, nil, topic("t", OpRead), true, ReasonNoBindings},
		{"bindings for others only, allow.everyone on", Config{AllowEveryoneIfNoACLFound: true},
			[]Binding{lit(ResourceTopic, "t", bob, "*", OpRead, PermissionAllow)}, topic("t", OpRead), false, ReasonNoMatchingBinding},
		{"bindings on another resource, allow.everyone on", Config{AllowEveryoneIfNoACLFound: true},
			[]Binding{lit(ResourceTopic, "u", bob, "*", OpRead, PermissionAllow)}, topic("t", OpRead), true, ReasonNoBindings},
		{"prefixed binding counts as bindings for resource", Config{AllowEveryoneIfNoACLFound: true},
			[]Binding{pre(ResourceTopic, "t", bob, "*", OpRead, PermissionAllow)}, topic("tx", OpRead), false, ReasonNoMatchingBinding},
		{"literal allow", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow)}, topic("t", OpRead), true, ReasonAllowBinding},
		{"literal is not a prefix", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow)}, topic("tx", OpRead), false, ReasonNoBindings},
		{"other operation", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow)}, topic("t", OpWrite), false, ReasonNoMatchingBinding},
		{"ALL allows every operation", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAll, PermissionAllow)}, topic("t", OpAlterConfigs), true, ReasonAllowBinding},
		{"ALL denies every operation", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow),
			lit(ResourceTopic, "t", alice, "*", OpAll, PermissionDeny)}, topic("t", OpRead), false, ReasonDenyBinding},
		{"deny wins over allow", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpWrite, PermissionAllow),
			lit(ResourceTopic, "t", alice, host1, OpWrite, PermissionDeny)}, topic("t", OpWrite), false, ReasonDenyBinding},
		{"deny from another host does not apply", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpWrite, PermissionAllow),
			lit(ResourceTopic, "t", alice, host2, OpWrite, PermissionDeny)}, topic("t", OpWrite), true, ReasonAllowBinding},
		{"wildcard resource allow", Config{}, []Binding{lit(ResourceTopic, "*", alice, "*", OpRead, PermissionAllow)}, topic("anything", OpRead), true, ReasonAllowBinding},
		{"wildcard resource deny beats literal allow", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow),
			lit(ResourceTopic, "*", alice, "*", OpRead, PermissionDeny)}, topic("t", OpRead), false, ReasonDenyBinding},
		{"prefixed allow", Config{}, []Binding{pre(ResourceTopic, "orders.", alice, "*", OpWrite, PermissionAllow)}, topic("orders.eu", OpWrite), true, ReasonAllowBinding},
		{"prefixed equal to name", Config{}, []Binding{pre(ResourceTopic, "orders", alice, "*", OpWrite, PermissionAllow)}, topic("orders", OpWrite), true, ReasonAllowBinding},
		{"prefixed longer than name", Config{}, []Binding{pre(ResourceTopic, "orders.eu", alice, "*", OpWrite, PermissionAllow)}, topic("orders", OpWrite), false, ReasonNoBindings},
		{"prefixed deny beats literal allow", Config{}, []Binding{
			lit(ResourceTopic, "orders.eu", alice, "*", OpWrite, PermissionAllow),
			pre(ResourceTopic, "orders", alice, "*", OpWrite, PermissionDeny)}, topic("orders.eu", OpWrite), false, ReasonDenyBinding},
		{"prefixed deny on sibling does not apply", Config{}, []Binding{
			lit(ResourceTopic, "orders.eu", alice, "*", OpWrite, PermissionAllow),
			pre(ResourceTopic, "orders.us", alice, "*", OpWrite, PermissionDeny)}, topic("orders.eu", OpWrite), true, ReasonAllowBinding},
		{"wildcard principal allow", Config{}, []Binding{lit(ResourceTopic, "t", WildcardPrincipal, "*", OpRead, PermissionAllow)}, topic("t", OpRead), true, ReasonAllowBinding},
		{"wildcard principal deny", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow),
			lit(ResourceTopic, "t", WildcardPrincipal, "*", OpRead, PermissionDeny)}, topic("t", OpRead), false, ReasonDenyBinding},
		{"User:* matches other principal types, as in Kafka", Config{}, []Binding{lit(ResourceTopic, "t", WildcardPrincipal, "*", OpRead, PermissionAllow)},
			as(topic("t", OpRead), "Group:ops", host1), true, ReasonAllowBinding},
		{"Group:* is not a wildcard", Config{}, []Binding{lit(ResourceTopic, "t", "Group:*", "*", OpRead, PermissionAllow)},
			as(topic("t", OpRead), "Group:ops", host1), false, ReasonNoMatchingBinding},
		{"principal type matters", Config{}, []Binding{lit(ResourceTopic, "t", "Group:alice", "*", OpRead, PermissionAllow)}, topic("t", OpRead), false, ReasonNoMatchingBinding},
		{"exact host", Config{}, []Binding{lit(ResourceTopic, "t", alice, host1, OpRead, PermissionAllow)}, topic("t", OpRead), true, ReasonAllowBinding},
		{"other host", Config{}, []Binding{lit(ResourceTopic, "t", alice, host2, OpRead, PermissionAllow)}, topic("t", OpRead), false, ReasonNoMatchingBinding},
		{"IPv6 host in Java's long form", Config{}, []Binding{lit(ResourceTopic, "t", alice, "0:0:0:0:0:0:0:1", OpRead, PermissionAllow)},
			as(topic("t", OpRead), alice, "::1"), true, ReasonAllowBinding},
		{"IPv4-mapped host", Config{}, []Binding{lit(ResourceTopic, "t", alice, "::ffff:10.0.0.1", OpRead, PermissionAllow)}, topic("t", OpRead), true, ReasonAllowBinding},
		{"READ implies DESCRIBE", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow)}, topic("t", OpDescribe), true, ReasonAllowBinding},
		{"WRITE implies DESCRIBE", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpWrite, PermissionAllow)}, topic("t", OpDescribe), true, ReasonAllowBinding},
		{"DELETE implies DESCRIBE", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpDelete, PermissionAllow)}, topic("t", OpDescribe), true, ReasonAllowBinding},
		{"ALTER implies DESCRIBE", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAlter, PermissionAllow)}, topic("t", OpDescribe), true, ReasonAllowBinding},
		{"CREATE does not imply DESCRIBE", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpCreate, PermissionAllow)}, topic("t", OpDescribe), false, ReasonNoMatchingBinding},
		{"DESCRIBE does not imply READ", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpDescribe, PermissionAllow)}, topic("t", OpRead), false, ReasonNoMatchingBinding},
		{"ALTER_CONFIGS implies DESCRIBE_CONFIGS", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAlterConfigs, PermissionAllow)}, topic("t", OpDescribeConfigs), true, ReasonAllowBinding},
		{"ALTER does not imply DESCRIBE_CONFIGS", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAlter, PermissionAllow)}, topic("t", OpDescribeConfigs), false, ReasonNoMatchingBinding},
		{"DENY READ does not deny DESCRIBE", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpRead, PermissionDeny),
			lit(ResourceTopic, "t", alice, "*", OpDescribe, PermissionAllow)}, topic("t", OpDescribe), true, ReasonAllowBinding},
		{"DENY READ with ALLOW WRITE: DESCRIBE allowed", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpRead, PermissionDeny),
			lit(ResourceTopic, "t", alice, "*", OpWrite, PermissionAllow)}, topic("t", OpDescribe), true, ReasonAllowBinding},
		{"DENY DESCRIBE beats implied DESCRIBE", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow),
			lit(ResourceTopic, "t", alice, "*", OpDescribe, PermissionDeny)}, topic("t", OpDescribe), false, ReasonDenyBinding},
		{"super user ignores deny", Config{SuperUsers: []string{alice}}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAll, PermissionDeny)}, topic("t", OpRead), true, ReasonSuperUser},
		{"super user with no bindings", Config{SuperUsers: []string{alice}}, nil, topic("t", OpRead), true, ReasonSuperUser},
		{"User:* in super.users is not a wildcard", Config{SuperUsers: []string{WildcardPrincipal}}, nil, topic("t", OpRead), false, ReasonNoBindings},
		{"resource type matters", Config{}, []Binding{lit(ResourceGroup, "t", alice, "*", OpRead, PermissionAllow)}, topic("t", OpRead), false, ReasonNoBindings},
		{"group read", Config{}, []Binding{pre(ResourceGroup, "app-", alice, "*", OpRead, PermissionAllow)},
			Request{Principal: alice, Host: host1, Operation: OpRead, ResourceType: ResourceGroup, ResourceName: "app-1"}, true, ReasonAllowBinding},
		{"cluster idempotent write", Config{}, []Binding{lit(ResourceCluster, ClusterName, alice, "*", OpIdempotentWrite, PermissionAllow)},
			Request{Principal: alice, Host: host1, Operation: OpIdempotentWrite, ResourceType: ResourceCluster, ResourceName: ClusterName}, true, ReasonAllowBinding},
		{"cluster action denied for others", Config{}, []Binding{lit(ResourceCluster, ClusterName, bob, "*", OpClusterAction, PermissionAllow)},
			Request{Principal: alice, Host: host1, Operation: OpClusterAction, ResourceType: ResourceCluster, ResourceName: ClusterName}, false, ReasonNoMatchingBinding},
		{"transactional id write", Config{}, []Binding{lit(ResourceTransactionalID, "tx-1", alice, "*", OpWrite, PermissionAllow)},
			Request{Principal: alice, Host: host1, Operation: OpWrite, ResourceType: ResourceTransactionalID, ResourceName: "tx-1"}, true, ReasonAllowBinding},
		{"transactional id describe implied by write", Config{}, []Binding{pre(ResourceTransactionalID, "tx-", alice, "*", OpWrite, PermissionAllow)},
			Request{Principal: alice, Host: host1, Operation: OpDescribe, ResourceType: ResourceTransactionalID, ResourceName: "tx-9"}, true, ReasonAllowBinding},
		{"invalid request operation ANY", Config{AllowEveryoneIfNoACLFound: true}, nil, topic("t", OpAny), false, ReasonInvalidRequest},
		{"invalid request resource type ANY", Config{AllowEveryoneIfNoACLFound: true}, nil,
			Request{Principal: alice, Host: host1, Operation: OpRead, ResourceType: ResourceAny, ResourceName: "t"}, false, ReasonInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAuthorizer(t, tt.cfg, tt.bindings...)
			got := a.Authorize(tt.req)
			if got.Allowed != tt.want || got.Reason != tt.reason {
				t.Fatalf("Authorize(%+v) = %+v, want allowed=%v reason=%v", tt.req, got, tt.want, tt.reason)
			}
			if m := (&model{superUsers: tt.cfg.SuperUsers, allowIfNo: tt.cfg.AllowEveryoneIfNoACLFound, bindings: bindingMap(tt.bindings)}); m.authorize(tt.req) != tt.want {
				t.Fatalf("model disagrees with the table for %+v", tt.req)
			}
			if (got.Reason == ReasonAllowBinding || got.Reason == ReasonDenyBinding) && got.ID == (ID{}) {
				t.Fatalf("decision %+v names no binding", got)
			}
		})
	}
}

func bindingMap(bs []Binding) map[ID]Binding {
	m := make(map[ID]Binding, len(bs))
	for i, b := range bs {
		m[idOf(i)] = b
	}
	return m
}

// TestAuthorizeMatrix crosses principal, host, operation, pattern type and
// permission for one binding and checks each request against the rule
// written out by hand.
func TestAuthorizeMatrix(t *testing.T) {
	principals := []string{alice, WildcardPrincipal, bob}
	hosts := []string{"*", host1, host2}
	permissions := []Permission{PermissionAllow, PermissionDeny}
	patterns := []struct {
		pattern PatternType
		name    string
	}{{PatternLiteral, "orders"}, {PatternLiteral, "*"}, {PatternPrefixed, "ord"}, {PatternPrefixed, "pay"}}
	for _, p := range principals {
		for _, h := range hosts {
			for bindingOp := OpAll; bindingOp <= OpDescribeTokens; bindingOp++ {
				for _, perm := range permissions {
					for _, pat := range patterns {
						b := Binding{ResourceType: ResourceTopic, ResourceName: pat.name, PatternType: pat.pattern, Principal: p, Host: h, Operation: bindingOp, Permission: perm}
						a := mustAuthorizer(t, Config{}, b)
						for reqOp := OpAll; reqOp <= OpDescribeTokens; reqOp++ {
							req := Request{Principal: alice, Host: host1, Operation: reqOp, ResourceType: ResourceTopic, ResourceName: "orders"}
							applies := pat.name != "pay"
							entry := p != bob && h != host2
							opOK := bindingOp == OpAll || bindingOp == reqOp ||
								(perm == PermissionAllow && reqOp == OpDescribe && (bindingOp == OpRead || bindingOp == OpWrite || bindingOp == OpDelete || bindingOp == OpAlter)) ||
								(perm == PermissionAllow && reqOp == OpDescribeConfigs && bindingOp == OpAlterConfigs)
							want := applies && entry && opOK && perm == PermissionAllow
							if got := a.Authorize(req); got.Allowed != want {
								t.Fatalf("binding %v, request %+v: got %+v, want allowed=%v", b, req, got, want)
							}
						}
					}
				}
			}
		}
	}
}

func TestAuthorizeByResourceType(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		bindings []Binding
		want     bool
	}{
		{"nothing", Config{}, nil, false},
		{"allow.everyone with no bindings", Config{AllowEveryoneIfNoACLFound: true}, nil, true},
		{"super user", Config{SuperUsers: []string{alice}}, nil, true},
		{"literal allow", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpWrite, PermissionAllow)}, true},
		{"ALL allow", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAll, PermissionAllow)}, true},
		{"no implication", Config{}, []Binding{lit(ResourceTopic, "t", alice, "*", OpAlter, PermissionAllow)}, false},
		{"other host", Config{}, []Binding{lit(ResourceTopic, "t", alice, host2, OpWrite, PermissionAllow)}, false},
		{"wildcard principal", Config{}, []Binding{pre(ResourceTopic, "t", WildcardPrincipal, "*", OpWrite, PermissionAllow)}, true},
		{"literal deny of same name", Config{}, []Binding{
			lit(ResourceTopic, "t", alice, "*", OpWrite, PermissionAllow),
			lit(ResourceTopic, "t", alice, "*", OpWrite, PermissionDeny)}, false},
		{"literal deny does not cover prefixed allow", Config{}, []Binding{
			pre(ResourceTopic, "t", alice, "*", OpWrite, PermissionAllow),
			lit(ResourceTopic, "t", alice, "*", OpWrite, PermissionDeny)}, true},
		{"prefixed deny covers literal allow", Config{}, []Binding{
			lit(ResourceTopic, "team.a", alice, "*", OpWrite, PermissionAllow),
			pre(ResourceTopic, "team", alice, "*", OpWrite, PermissionDeny)}, false},
		{"prefixed deny covers longer prefixed allow", Config{}, []Binding{
			pre(ResourceTopic, "team.a", alice, "*", OpWrite, PermissionAllow),
			pre(ResourceTopic, "team.", alice, "*", OpWrite, PermissionDeny)}, false},
		{"longer prefixed deny does not cover shorter allow", Config{}, []Binding{
			pre(ResourceTopic, "team.", alice, "*", OpWrite, PermissionAllow),
			pre(ResourceTopic, "team.a", alice, "*", OpWrite, PermissionDeny)}, true},
		{"wildcard deny refuses everything", Config{}, []Binding{
			lit(ResourceTopic, "*", alice, "*", OpWrite, PermissionAllow),
			lit(ResourceTopic, "*", WildcardPrincipal, "*", OpWrite, PermissionDeny)}, false},
		{"wildcard allow", Config{}, []Binding{lit(ResourceTopic, "*", alice, "*", OpWrite, PermissionAllow)}, true},
		{"probe name hardcode: prefix deny, literal allow elsewhere", Config{}, []Binding{
			pre(ResourceTopic, "hard", alice, "*", OpWrite, PermissionDeny),
			lit(ResourceTopic, "other", alice, "*", OpWrite, PermissionAllow)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAuthorizer(t, tt.cfg, tt.bindings...)
			if got := a.AuthorizeByResourceType(alice, host1, OpWrite, ResourceTopic); got != tt.want {
				t.Fatalf("AuthorizeByResourceType = %v, want %v", got, tt.want)
			}
			m := &model{superUsers: tt.cfg.SuperUsers, allowIfNo: tt.cfg.AllowEveryoneIfNoACLFound, bindings: bindingMap(tt.bindings)}
			if m.authorizeByResourceType(alice, host1, OpWrite, ResourceTopic) != tt.want {
				t.Fatalf("model disagrees with the table")
			}
		})
	}
	a := New(Config{AllowEveryoneIfNoACLFound: true})
	if a.AuthorizeByResourceType(alice, host1, OpAny, ResourceTopic) || a.AuthorizeByResourceType(alice, host1, OpWrite, ResourceAny) {
		t.Fatal("filter values must be refused")
	}
}

func TestUpdates(t *testing.T) {
	a := New(Config{})
	b := lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow)
	req := Request{Principal: alice, Host: host1, Operation: OpRead, ResourceType: ResourceTopic, ResourceName: "t"}
	if err := a.Add(idOf(1), b); err != nil {
		t.Fatal(err)
	}
	if !a.Authorize(req).Allowed {
		t.Fatal("added binding not honoured")
	}
	if err := a.Add(idOf(1), b); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := a.Remove(idOf(1)); err != nil {
		t.Fatal(err)
	}
	if a.Authorize(req).Allowed || a.Len() != 0 {
		t.Fatal("removed binding still honoured")
	}
	if err := a.Remove(idOf(1)); !errors.Is(err, ErrUnknownID) {
		t.Fatalf("unknown id: %v", err)
	}
	// A failing batch changes nothing.
	err := a.Apply([]Change{{Kind: ChangeAdd, ID: idOf(2), Binding: b}, {Kind: ChangeRemove, ID: idOf(3)}})
	if !errors.Is(err, ErrUnknownID) || a.Len() != 0 || a.Authorize(req).Allowed {
		t.Fatalf("failed batch: err %v, len %d", err, a.Len())
	}
	// Add then remove within one batch, and an invalid binding.
	if err := a.Apply([]Change{{Kind: ChangeAdd, ID: idOf(2), Binding: b}, {Kind: ChangeRemove, ID: idOf(2)}}); err != nil || a.Len() != 0 {
		t.Fatalf("add+remove batch: %v, len %d", err, a.Len())
	}
	bad := b
	bad.Host = "localhost"
	if err := a.Add(idOf(4), bad); err == nil {
		t.Fatal("invalid binding stored")
	}
	// Replace swaps the whole set.
	if err := a.Replace([]IDAndBinding{{ID: idOf(5), Binding: b}, {ID: idOf(6), Binding: pre(ResourceGroup, "g", bob, "*", OpRead, PermissionAllow)}}); err != nil {
		t.Fatal(err)
	}
	if a.Len() != 2 || !a.Authorize(req).Allowed {
		t.Fatal("Replace did not load")
	}
	if err := a.Remove(idOf(6)); err != nil {
		t.Fatal(err)
	}
	if err := a.Replace(nil); err != nil || a.Len() != 0 || a.Authorize(req).Allowed {
		t.Fatalf("Replace(nil): %v", err)
	}
}

func TestDescribeAndMatching(t *testing.T) {
	bindings := []Binding{
		lit(ResourceTopic, "orders", alice, "*", OpRead, PermissionAllow),
		lit(ResourceTopic, "*", bob, "*", OpRead, PermissionAllow),
		pre(ResourceTopic, "ord", alice, host1, OpWrite, PermissionDeny),
		pre(ResourceTopic, "pay", alice, "*", OpWrite, PermissionAllow),
		lit(ResourceGroup, "orders", alice, "*", OpRead, PermissionAllow),
	}
	a := mustAuthorizer(t, Config{}, bindings...)
	name := "orders"
	tests := []struct {
		filter Filter
		want   int
	}{
		{AnyFilter(), 5},
		{Filter{ResourceType: ResourceTopic, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, 4},
		{Filter{ResourceType: ResourceTopic, ResourceName: &name, PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny}, 3},
		{Filter{ResourceType: ResourceAny, ResourceName: &name, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, 2},
		{Filter{ResourceType: ResourceAny, PatternType: PatternPrefixed, Operation: OpAny, Permission: PermissionDeny}, 1},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := a.Describe(tt.filter); len(got) != tt.want {
				t.Fatalf("Describe = %v, want %d bindings", got, tt.want)
			}
			got := a.Matching(tt.filter)
			if len(got) != tt.want {
				t.Fatalf("Matching returned %d, want %d", len(got), tt.want)
			}
			for _, ib := range got {
				if bindings[int(ib.ID[1])] != ib.Binding {
					t.Fatalf("Matching returned id %v with %v", ib.ID, ib.Binding)
				}
			}
		})
	}
}
