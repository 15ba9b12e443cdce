package acl

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestBindingValidate(t *testing.T) {
	good := lit(ResourceTopic, "t", alice, "*", OpRead, PermissionAllow)
	with := func(edit func(*Binding)) Binding { b := good; edit(&b); return b }
	tests := []struct {
		name    string
		binding Binding
		ok      bool
	}{
		{"valid literal", good, true},
		{"valid prefixed", with(func(b *Binding) { b.PatternType = PatternPrefixed }), true},
		{"valid wildcard resource", with(func(b *Binding) { b.ResourceName = "*" }), true},
		{"valid IPv4 host", with(func(b *Binding) { b.Host = "192.168.1.1" }), true},
		{"valid IPv6 host", with(func(b *Binding) { b.Host = "fe80::1" }), true},
		{"valid ALL operation", with(func(b *Binding) { b.Operation = OpAll }), true},
		{"valid cluster", with(func(b *Binding) { b.ResourceType, b.ResourceName = ResourceCluster, ClusterName }), true},
		{"name with colon in principal", with(func(b *Binding) { b.Principal = "User:CN=a:b" }), true},
		{"resource type unknown", with(func(b *Binding) { b.ResourceType = ResourceUnknown }), false},
		{"resource type any", with(func(b *Binding) { b.ResourceType = ResourceAny }), false},
		{"resource type out of range", with(func(b *Binding) { b.ResourceType = 42 }), false},
		{"pattern unknown", with(func(b *Binding) { b.PatternType = PatternUnknown }), false},
		{"pattern any", with(func(b *Binding) { b.PatternType = PatternAny }), false},
		{"pattern match", with(func(b *Binding) { b.PatternType = PatternMatch }), false},
		{"operation unknown", with(func(b *Binding) { b.Operation = OpUnknown }), false},
		{"operation any", with(func(b *Binding) { b.Operation = OpAny }), false},
		{"operation out of range", with(func(b *Binding) { b.Operation = 15 }), false},
		{"permission unknown", with(func(b *Binding) { b.Permission = PermissionUnknown }), false},
		{"permission any", with(func(b *Binding) { b.Permission = PermissionAny }), false},
		{"empty name", with(func(b *Binding) { b.ResourceName = "" }), false},
		{"cluster with another name", with(func(b *Binding) { b.ResourceType = ResourceCluster }), false},
		{"prefixed wildcard", with(func(b *Binding) { b.ResourceName, b.PatternType = "*", PatternPrefixed }), false},
		{"principal without type", with(func(b *Binding) { b.Principal = "alice" }), false},
		{"principal with empty type", with(func(b *Binding) { b.Principal = ":alice" }), false},
		{"principal with empty name", with(func(b *Binding) { b.Principal = "User:" }), false},
		{"empty host", with(func(b *Binding) { b.Host = "" }), false},
		{"host name", with(func(b *Binding) { b.Host = "localhost" }), false},
		{"host with zone", with(func(b *Binding) { b.Host = "fe80::1%eth0" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.binding.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%v) = %v, want ok=%v", tt.binding, err, tt.ok)
			}
			var kafkaErr *kerr.Error
			if err != nil && (!errors.As(err, &kafkaErr) || kafkaErr.Code != kerr.InvalidRequest.Code) {
				t.Fatalf("error %v does not carry INVALID_REQUEST", err)
			}
		})
	}
}

func TestPrincipal(t *testing.T) {
	p, err := ParsePrincipal("User:CN=alice,O=x:y")
	if err != nil || p.Type != "User" || p.Name != "CN=alice,O=x:y" || p.String() != "User:CN=alice,O=x:y" {
		t.Fatalf("ParsePrincipal = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "alice", ":x", "User:"} {
		if _, err := ParsePrincipal(bad); !errors.Is(err, kerr.InvalidRequest) {
			t.Fatalf("ParsePrincipal(%q) = %v", bad, err)
		}
	}
}

func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":        "10.0.0.1",
		"::ffff:10.0.0.1": "10.0.0.1",
		"0:0:0:0:0:0:0:1": "::1",
		"fe80::1%eth0":    "fe80::1",
	} {
		if got := HostOf(netip.MustParseAddr(in)); got != want {
			t.Errorf("HostOf(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestFilterValidate(t *testing.T) {
	good := AnyFilter()
	with := func(edit func(*Filter)) Filter { f := good; edit(&f); return f }
	tests := []struct {
		name   string
		filter Filter
		ok     bool
	}{
		{"any", good, true},
		{"match", with(func(f *Filter) { f.PatternType = PatternMatch }), true},
		{"specific", with(func(f *Filter) {
			f.ResourceType, f.PatternType, f.Operation, f.Permission = ResourceGroup, PatternPrefixed, OpAll, PermissionDeny
		}), true},
		{"resource unknown", with(func(f *Filter) { f.ResourceType = ResourceUnknown }), false},
		{"pattern unknown", with(func(f *Filter) { f.PatternType = PatternUnknown }), false},
		{"operation unknown", with(func(f *Filter) { f.Operation = OpUnknown }), false},
		{"permission unknown", with(func(f *Filter) { f.Permission = PermissionUnknown }), false},
		{"out of range", with(func(f *Filter) { f.Operation = -3 }), false},
	}
	for _, tt := range tests {
		if err := tt.filter.Validate(); (err == nil) != tt.ok || (err != nil && !errors.Is(err, kerr.InvalidRequest)) {
			t.Errorf("%s: Validate = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestFilterMatches(t *testing.T) {
	s := func(v string) *string { return &v }
	lt := lit(ResourceTopic, "orders", alice, "*", OpRead, PermissionAllow)
	wild := lit(ResourceTopic, "*", alice, "*", OpRead, PermissionAllow)
	px := pre(ResourceTopic, "ord", alice, "*", OpRead, PermissionAllow)
	any := AnyFilter()
	with := func(edit func(*Filter)) Filter { f := any; edit(&f); return f }
	tests := []struct {
		name    string
		filter  Filter
		binding Binding
		want    bool
	}{
		{"any matches literal", any, lt, true},
		{"any matches prefixed", any, px, true},
		{"resource type", with(func(f *Filter) { f.ResourceType = ResourceGroup }), lt, false},
		{"any pattern compares names exactly", with(func(f *Filter) { f.ResourceName = s("orders") }), px, false},
		{"any pattern, equal name", with(func(f *Filter) { f.ResourceName = s("ord") }), px, true},
		{"any pattern does not expand wildcard", with(func(f *Filter) { f.ResourceName = s("orders") }), wild, false},
		{"any pattern matches literal * by name", with(func(f *Filter) { f.ResourceName = s("*") }), wild, true},
		{"literal pattern excludes prefixed", with(func(f *Filter) { f.PatternType = PatternLiteral }), px, false},
		{"prefixed pattern, exact name", with(func(f *Filter) { f.PatternType, f.ResourceName = PatternPrefixed, s("ord") }), px, true},
		{"prefixed pattern, name is not a prefix match", with(func(f *Filter) { f.PatternType, f.ResourceName = PatternPrefixed, s("orders") }), px, false},
		{"match: literal equal", with(func(f *Filter) { f.PatternType, f.ResourceName = PatternMatch, s("orders") }), lt, true},
		{"match: literal other", with(func(f *Filter) { f.PatternType, f.ResourceName = PatternMatch, s("order") }), lt, false},
		{"match: wildcard", with(func(f *Filter) { f.PatternType, f.ResourceName = PatternMatch, s("payments") }), wild, true},
		{"match: prefix", with(func(f *Filter) { f.PatternType, f.ResourceName = PatternMatch, s("orders") }), px, true},
		{"match: not a prefix", with(func(f *Filter) { f.PatternType, f.ResourceName = PatternMatch, s("or") }), px, false},
		{"match without name matches all", with(func(f *Filter) { f.PatternType = PatternMatch }), px, true},
		{"principal", with(func(f *Filter) { f.Principal = s(bob) }), lt, false},
		{"principal User:* is exact in filters", with(func(f *Filter) { f.Principal = s(WildcardPrincipal) }), lt, false},
		{"host exact", with(func(f *Filter) { f.Host = s("*") }), lt, true},
		{"operation", with(func(f *Filter) { f.Operation = OpWrite }), lt, false},
		{"operation ALL is exact in filters", with(func(f *Filter) { f.Operation = OpAll }), lt, false},
		{"permission", with(func(f *Filter) { f.Permission = PermissionDeny }), lt, false},
	}
	for _, tt := range tests {
		if got := tt.filter.Matches(tt.binding); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
		if got := modelFilterMatches(tt.filter, tt.binding); got != tt.want {
			t.Errorf("%s: model says %v, want %v", tt.name, got, tt.want)
		}
	}
}
