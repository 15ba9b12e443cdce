package acl

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// FuzzBindingAndFilter feeds arbitrary values to Validate and Matches, checks
// Matches against the model, and checks that a valid binding is stored,
// described and authorized as the model says.
func FuzzBindingAndFilter(f *testing.F) {
	f.Add(int8(2), "orders", int8(3), "User:alice", "*", int8(3), int8(3), int8(2), "orders", false, int8(2), "User:alice", "10.0.0.1", int8(3), int8(3))
	f.Add(int8(2), "ord", int8(4), "User:*", "10.0.0.1", int8(4), int8(2), int8(1), "orders", false, int8(2), "User:bob", "10.0.0.1", int8(8), int8(1))
	f.Add(int8(4), "kafka-cluster", int8(3), "User:a", "::1", int8(12), int8(3), int8(4), "kafka-cluster", true, int8(1), "", "", int8(1), int8(1))
	f.Add(int8(2), "*", int8(3), "Group:x", "0:0:0:0:0:0:0:1", int8(2), int8(2), int8(1), "", false, int8(0), "x", "::1", int8(0), int8(0))
	f.Add(int8(0), "", int8(0), "", "", int8(0), int8(0), int8(0), "", true, int8(-1), ":", "%", int8(-1), int8(99))
	f.Fuzz(func(t *testing.T, rt int8, name string, pt int8, principal, host string, op, perm int8,
		frt int8, fname string, fnameNil bool, fpt int8, fprincipal, fhost string, fop, fperm int8,
	) {
		b := Binding{ResourceType: ResourceType(rt), ResourceName: name, PatternType: PatternType(pt), Principal: principal, Host: host, Operation: Operation(op), Permission: Permission(perm)}
		filter := Filter{ResourceType: ResourceType(frt), PatternType: PatternType(fpt), Operation: Operation(fop), Permission: Permission(fperm)}
		if !fnameNil {
			filter.ResourceName = &fname
		}
		if fprincipal != "" {
			filter.Principal = &fprincipal
		}
		if fhost != "" {
			filter.Host = &fhost
		}
		if got, want := filter.Matches(b), modelFilterMatches(filter, b); got != want {
			t.Fatalf("Matches(%+v, %v) = %v, model %v", filter, b, got, want)
		}
		if err := filter.Validate(); err != nil && !errors.Is(err, kerr.InvalidRequest) {
			t.Fatalf("filter error without a Kafka code: %v", err)
		}
		err := b.Validate()
		if err != nil {
			if !errors.Is(err, kerr.InvalidRequest) {
				t.Fatalf("binding error without a Kafka code: %v", err)
			}
			if New(Config{}).Add(ID{1}, b) == nil {
				t.Fatal("Add stored an invalid binding")
			}
			return
		}
		a := New(Config{})
		if err := a.Add(ID{1}, b); err != nil {
			t.Fatalf("Add(valid %v): %v", b, err)
		}
		if got := a.Matching(filter); (len(got) == 1) != filter.Matches(b) {
			t.Fatalf("Matching(%+v) = %v, Matches says %v", filter, got, filter.Matches(b))
		}
		m := &model{bindings: map[ID]Binding{{1}: b}}
		req := Request{Principal: fprincipal, Host: fhost, Operation: Operation(fop), ResourceType: ResourceType(frt), ResourceName: fname}
		if got, want := a.Authorize(req).Allowed, m.authorize(req); got != want {
			t.Fatalf("Authorize(%+v) with %v = %v, model %v", req, b, got, want)
		}
		if got, want := a.AuthorizeByResourceType(fprincipal, fhost, Operation(fop), ResourceType(frt)), m.authorizeByResourceType(fprincipal, fhost, Operation(fop), ResourceType(frt)); got != want {
			t.Fatalf("AuthorizeByResourceType(%+v) with %v = %v, model %v", req, b, got, want)
		}
		if err := a.Remove(ID{1}); err != nil || a.Authorize(req).Reason == ReasonAllowBinding {
			t.Fatalf("Remove: %v", err)
		}
	})
}

// FuzzAuthorize builds a set of bindings and requests from bytes over a small
// vocabulary, so that they collide, and compares every decision with the
// model.
func FuzzAuthorize(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	f.Add([]byte{2, 2, 1, 0, 0, 3, 2, 2, 2, 2, 1, 0, 1, 2, 0, 0, 9, 9, 9, 9, 9, 9, 9})
	f.Add([]byte("prefixes and wildcards and denies"))
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			v := int(data[0])
			data = data[1:]
			return v
		}
		names := append(vocabNames, "abcd", "")
		a, m := New(Config{AllowEveryoneIfNoACLFound: len(data)%2 == 0}), newModel(Config{})
		m.allowIfNo = a.allowIfNoBindings
		for i := 0; len(data) > 7 && i < 64; i++ {
			b := Binding{
				ResourceType: ResourceType(2 + next()%6),
				ResourceName: names[next()%len(names)],
				PatternType:  PatternType(3 + next()%2),
				Principal:    vocabPrincipals[next()%len(vocabPrincipals)],
				Host:         vocabHosts[next()%len(vocabHosts)],
				Operation:    Operation(2 + next()%13),
				Permission:   Permission(2 + next()%2),
			}
			if b.ResourceType == ResourceCluster {
				b.ResourceName = ClusterName
			}
			id := ID{byte(i)}
			if b.Validate() != nil {
				continue
			}
			if err := a.Add(id, b); err != nil {
				t.Fatal(err)
			}
			m.bindings[id] = b
		}
		for _, rt := range []ResourceType{ResourceTopic, ResourceGroup, ResourceCluster, ResourceTransactionalID} {
			for _, name := range names {
				for _, principal := range vocabPrincipals {
					for op := OpAll; op <= OpDescribeTokens; op++ {
						req := Request{Principal: principal, Host: "10.0.0.1", Operation: op, ResourceType: rt, ResourceName: name}
						if got, want := a.Authorize(req).Allowed, m.authorize(req); got != want {
							t.Fatalf("Authorize(%+v) = %v, model %v; bindings:\n%s", req, got, want, dump(m))
						}
					}
				}
			}
		}
	})
}
