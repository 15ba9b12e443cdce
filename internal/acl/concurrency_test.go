package acl

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentUpdates runs writers adding and removing bindings while
// readers authorize, for the race detector, and checks that a binding is
// honoured from when Add returns until Remove is called, and never after
// Remove returns.
func TestConcurrentUpdates(t *testing.T) {
	a := New(Config{})
	const writers, readers, rounds = 2, 4, 300
	var stop atomic.Bool
	var wg, readersWG sync.WaitGroup
	for r := range readers {
		readersWG.Add(1)
		go func() {
			defer readersWG.Done()
			req := Request{Principal: "User:reader", Host: host1, Operation: OpRead, ResourceType: ResourceTopic, ResourceName: "shared"}
			for i := 0; !stop.Load(); i++ {
				a.Authorize(req)
				a.AuthorizeByResourceType(req.Principal, req.Host, OpRead, ResourceTopic)
				if i%64 == r {
					a.Describe(AnyFilter())
				}
			}
		}()
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			principal := []string{"User:w0", "User:w1"}[w]
			req := Request{Principal: principal, Host: host1, Operation: OpWrite, ResourceType: ResourceTopic, ResourceName: "shared.x"}
			for i := range rounds {
				id := ID{byte(w), byte(i), byte(i >> 8)}
				b := pre(ResourceTopic, "shared", principal, "*", OpWrite, PermissionAllow)
				if err := a.Add(id, b); err != nil {
					t.Error(err)
					return
				}
				if !a.Authorize(req).Allowed {
					t.Error("binding not honoured after Add returned")
					return
				}
				if err := a.Remove(id); err != nil {
					t.Error(err)
					return
				}
				if a.Authorize(req).Allowed {
					t.Error("binding honoured after Remove returned")
					return
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	readersWG.Wait()
	if a.Len() != 0 {
		t.Fatalf("Len = %d after all removes", a.Len())
	}
}
