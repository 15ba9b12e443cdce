package broker

// Authorization, as Kafka's StandardAuthorizer when authorizer.class.name
// names it: every API checks what KafkaApis checks, against the ACLs of
// the newest metadata image this broker applied (so a revoked ACL counts
// from the next request after its record is applied here). Without an
// authorizer every request is allowed and the ACL APIs answer
// SECURITY_DISABLED, as Kafka.

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

// authorizerClassNames are the values of authorizer.class.name that turn
// ACLs on: Kafka's KRaft authorizer (and its ZooKeeper-era one, which
// existing configs may still name). No class is ever loaded.
var authorizerClassNames = map[string]bool{
	"org.apache.kafka.metadata.authorizer.StandardAuthorizer": true,
	"kafka.security.authorizer.AclAuthorizer":                 true,
	"kafka.security.auth.SimpleAclAuthorizer":                 true,
}

// authz is the broker's authorizer, rebuilt from the image when its ACLs
// change. Checks never block behind a rebuild for long: they read the
// current acl.Authorizer, which is itself lock-free for readers.
type authz struct {
	enabled bool
	cfg     acl.Config
	meta    *metadata.Node

	// current is the authorizer of the ACL version in version.
	current atomic.Pointer[acl.Authorizer]
	version atomic.Uint64
	// rebuildMu serializes rebuilds.
	rebuildMu sync.Mutex
}

func newAuthz(cfg config.Broker, meta *metadata.Node) *authz {
	a := &authz{meta: meta}
	class := strings.TrimSpace(cfg.Props["authorizer.class.name"])
	a.enabled = authorizerClassNames[class]
	for _, p := range strings.Split(cfg.Props["super.users"], ";") {
		if p = strings.TrimSpace(p); p != "" {
			a.cfg.SuperUsers = append(a.cfg.SuperUsers, p)
		}
	}
	a.cfg.AllowEveryoneIfNoACLFound = strings.EqualFold(strings.TrimSpace(cfg.Props["allow.everyone.if.no.acl.found"]), "true")
	a.current.Store(acl.New(a.cfg))
	return a
}

// authorizer returns the authorizer of the newest image's ACLs.
func (a *authz) authorizer() *acl.Authorizer {
	img := a.meta.Image()
	v := img.ACLVersion()
	if v == a.version.Load() {
		return a.current.Load()
	}
	a.rebuildMu.Lock()
	defer a.rebuildMu.Unlock()
	img = a.meta.Image()
	bindings, v := img.ACLs()
	if v == a.version.Load() {
		return a.current.Load()
	}
	next := acl.New(a.cfg)
	entries := make([]acl.IDAndBinding, 0, len(bindings))
	for _, r := range bindings {
		entries = append(entries, acl.IDAndBinding{ID: acl.ID(r.ID), Binding: bindingOf(r)})
	}
	// Records were checked when decoded; one the acl package refuses
	// still must not open access: it is left out.
	if err := next.Replace(entries); err != nil {
		for _, e := range entries {
			_ = next.Add(e.ID, e.Binding)
		}
	}
	a.current.Store(next)
	a.version.Store(v)
	return next
}

func bindingOf(r metadata.ACLRecord) acl.Binding {
	return acl.Binding{ResourceType: acl.ResourceType(r.ResourceType), ResourceName: r.ResourceName,
		PatternType: acl.PatternType(r.PatternType), Principal: r.Principal, Host: r.Host,
		Operation: acl.Operation(r.Operation), Permission: acl.Permission(r.Permission)}
}

// clientHost is the host ACLs match for the request's client.
func clientHost(rc *server.RequestContext) string {
	if rc == nil || rc.ClientAddr == nil {
		return ""
	}
	if ta, ok := rc.ClientAddr.(*net.TCPAddr); ok {
		if addr, ok := netip.AddrFromSlice(ta.IP); ok {
			return acl.HostOf(addr)
		}
	}
	host, _, err := net.SplitHostPort(rc.ClientAddr.String())
	if err != nil {
		return ""
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return acl.HostOf(addr)
	}
	return host
}

// allowed reports whether the request's principal may perform op on the
// resource.
func (b *Broker) allowed(rc *server.RequestContext, op acl.Operation, rt acl.ResourceType, name string) bool {
	if !b.authz.enabled {
		return true
	}
	principal := server.AnonymousPrincipal
	if rc != nil && rc.Principal != "" {
		principal = rc.Principal
	}
	d := b.authz.authorizer().Authorize(acl.Request{Principal: principal, Host: clientHost(rc), Operation: op,
		ResourceType: rt, ResourceName: name})
	return d.Allowed
}

// allowedCluster reports whether the request may perform op on the cluster.
func (b *Broker) allowedCluster(rc *server.RequestContext, op acl.Operation) bool {
	return b.allowed(rc, op, acl.ResourceCluster, acl.ClusterName)
}

// allowedTopic reports whether the request may perform op on topic.
func (b *Broker) allowedTopic(rc *server.RequestContext, op acl.Operation, topic string) bool {
	return b.allowed(rc, op, acl.ResourceTopic, topic)
}

// allowedGroup reports whether the request may perform op on group.
func (b *Broker) allowedGroup(rc *server.RequestContext, op acl.Operation, group string) bool {
	return b.allowed(rc, op, acl.ResourceGroup, group)
}

// allowedTxnID reports whether the request may perform op on a
// transactional id.
func (b *Broker) allowedTxnID(rc *server.RequestContext, op acl.Operation, id string) bool {
	return b.allowed(rc, op, acl.ResourceTransactionalID, id)
}

// allowedAnyTopic is Kafka's authorizeByResourceType: whether the principal
// could perform op on some topic (idempotent produce without a
// transactional id needs Write on one, KIP-679).
func (b *Broker) allowedAnyTopic(rc *server.RequestContext, op acl.Operation) bool {
	if !b.authz.enabled {
		return true
	}
	principal := server.AnonymousPrincipal
	if rc != nil && rc.Principal != "" {
		principal = rc.Principal
	}
	return b.authz.authorizer().AuthorizeByResourceType(principal, clientHost(rc), op, acl.ResourceTopic)
}
