package acl

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// PrincipalTypeUser is the principal type of authenticated users (and of
// ANONYMOUS on plaintext listeners).
const PrincipalTypeUser = "User"

// Principal is Kafka's KafkaPrincipal: a type and a name, written
// "Type:name" in bindings, super.users and audit logs.
type Principal struct {
	Type string
	Name string
}

// String returns the KafkaPrincipal form "Type:name" that bindings and
// Request.Principal carry.
func (p Principal) String() string { return p.Type + ":" + p.Name }

// ParsePrincipal splits "Type:name" at the first colon, as Kafka does; the
// name may itself contain colons. Both parts must be non-empty. The error
// wraps kerr.InvalidRequest, the code CreateAcls returns for it.
func ParsePrincipal(s string) (Principal, error) {
	typ, name, ok := strings.Cut(s, ":")
	if !ok || typ == "" || name == "" {
		return Principal{}, fmt.Errorf("acl: principal %q is not of the form Type:name: %w", s, kerr.InvalidRequest)
	}
	return Principal{Type: typ, Name: name}, nil
}

// HostOf returns the host string of a client address in the form bindings
// are compared with: IPv4-mapped IPv6 addresses are unmapped and IPv6 is in
// its canonical short form. Handlers compute it once per connection and pass
// it as Request.Host; Authorize compares strings and never parses.
func HostOf(addr netip.Addr) string {
	return addr.Unmap().WithZone("").String()
}

// canonicalHost returns the form of a binding's host used for matching: "*"
// as is, an IP address as HostOf renders it, so "::ffff:10.0.0.1" or
// "0:0:0:0:0:0:0:1" (Java's rendering) in a binding match the client that
// HostOf reports. ok is false for anything else.
func canonicalHost(host string) (canonical string, ok bool) {
	if host == Wildcard {
		return host, true
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return "", false
	}
	return HostOf(addr), true
}
