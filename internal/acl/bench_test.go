package acl

import (
	"fmt"
	"testing"
)

// benchBindings returns 10,000 bindings over 1,000 principals and 100 teams:
// per principal six literal topic bindings, two prefixed ones, a group
// binding and one DENY; every 100th principal also gets a wildcard-topic
// binding.
func benchBindings() []IDAndBinding {
	var out []IDAndBinding
	add := func(b Binding) {
		n := len(out)
		out = append(out, IDAndBinding{ID: ID{byte(n >> 16), byte(n >> 8), byte(n)}, Binding: b})
	}
	for p := range 1000 {
		principal := fmt.Sprintf("User:service-%04d", p)
		team := fmt.Sprintf("team-%03d.", p%100)
		host := "*"
		if p%3 == 0 {
			host = fmt.Sprintf("10.0.%d.%d", p/256, p%256)
		}
		for j := range 6 {
			op := OpRead
			if j%2 == 1 {
				op = OpWrite
			}
			add(lit(ResourceTopic, fmt.Sprintf("%sevents-%d", team, (p+j)%20), principal, host, op, PermissionAllow))
		}
		add(pre(ResourceTopic, team, principal, "*", OpDescribe, PermissionAllow))
		add(pre(ResourceTopic, team+"private-", principal, "*", OpRead, PermissionAllow))
		add(pre(ResourceGroup, team, principal, "*", OpRead, PermissionAllow))
		if p%100 == 0 {
			add(lit(ResourceTopic, "*", principal, "*", OpDescribe, PermissionAllow))
		} else {
			add(lit(ResourceTopic, team+"audit", principal, "*", OpAll, PermissionDeny))
		}
	}
	return out
}

func benchAuthorizer(b *testing.B) *Authorizer {
	a := New(Config{SuperUsers: []string{"User:admin"}})
	bindings := benchBindings()
	if len(bindings) != 10_000 {
		b.Fatalf("%d bindings", len(bindings))
	}
	if err := a.Replace(bindings); err != nil {
		b.Fatal(err)
	}
	return a
}

func BenchmarkAuthorize(b *testing.B) {
	a := benchAuthorizer(b)
	cases := []struct {
		name    string
		req     Request
		allowed bool
	}{
		{"allowed-literal", Request{Principal: "User:service-0502", Host: "10.0.0.1", Operation: OpWrite, ResourceType: ResourceTopic, ResourceName: "team-002.events-3"}, true},
		{"allowed-prefixed", Request{Principal: "User:service-0502", Host: "10.0.0.1", Operation: OpRead, ResourceType: ResourceTopic, ResourceName: "team-002.private-payments"}, true},
		{"denied-by-deny", Request{Principal: "User:service-0502", Host: "10.0.0.1", Operation: OpRead, ResourceType: ResourceTopic, ResourceName: "team-002.audit"}, false},
		{"denied-no-match", Request{Principal: "User:stranger", Host: "10.0.0.1", Operation: OpWrite, ResourceType: ResourceTopic, ResourceName: "team-002.events-3"}, false},
		{"super-user", Request{Principal: "User:admin", Host: "10.0.0.1", Operation: OpAlter, ResourceType: ResourceCluster, ResourceName: ClusterName}, true},
	}
	for _, c := range cases {
		if got := a.Authorize(c.req); got.Allowed != c.allowed {
			b.Fatalf("%s: %+v", c.name, got)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.Authorize(c.req)
			}
		})
	}
}

func BenchmarkAuthorizeByResourceType(b *testing.B) {
	a := benchAuthorizer(b)
	b.ReportAllocs()
	for b.Loop() {
		a.AuthorizeByResourceType("User:stranger", "10.0.0.1", OpWrite, ResourceTopic)
	}
}

// BenchmarkApplyBatch loads 10,000 bindings in one batch, as at startup.
func BenchmarkApplyBatch(b *testing.B) {
	bindings := benchBindings()
	changes := make([]Change, len(bindings))
	for i, ib := range bindings {
		changes[i] = Change{Kind: ChangeAdd, ID: ib.ID, Binding: ib.Binding}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := New(Config{}).Apply(changes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddRemoveOne is the cost of one ACL record applied on its own
// with 10,000 bindings stored.
func BenchmarkAddRemoveOne(b *testing.B) {
	a := benchAuthorizer(b)
	binding := lit(ResourceTopic, "team-007.new", "User:service-0007", "*", OpRead, PermissionAllow)
	id := ID{0xff}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Add(id, binding); err != nil {
			b.Fatal(err)
		}
		if err := a.Remove(id); err != nil {
			b.Fatal(err)
		}
	}
}
