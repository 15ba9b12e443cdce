package quota

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParseOverrides parses max.connections.per.ip.overrides, "host:count" pairs
// separated by commas, as Kafka's parseCsvMap does: whitespace around commas
// and around each part is dropped, the last colon splits a pair (so IPv6
// addresses need no brackets), a trailing comma is allowed and a later pair
// for the same host wins. Kafka resolves an empty host to localhost; fjord
// refuses it.
func ParseOverrides(s string) (map[string]int, error) {
	out := make(map[string]int)
	if s == "" {
		return out, nil
	}
	pairs := strings.Split(s, ",")
	// Java's split drops trailing empty strings.
	for len(pairs) > 0 && strings.TrimSpace(pairs[len(pairs)-1]) == "" {
		pairs = pairs[:len(pairs)-1]
	}
	for _, pair := range pairs {
		i := strings.LastIndexByte(pair, ':')
		if i < 0 {
			return nil, fmt.Errorf("%w: max.connections.per.ip.overrides: %q is not host:count", ErrInvalidConfig, pair)
		}
		host, count := strings.TrimSpace(pair[:i]), strings.TrimSpace(pair[i+1:])
		if host == "" {
			return nil, fmt.Errorf("%w: max.connections.per.ip.overrides: empty host in %q", ErrInvalidConfig, pair)
		}
		n, err := strconv.ParseInt(count, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: max.connections.per.ip.overrides: count of %s: %w", ErrInvalidConfig, host, err)
		}
		out[host] = int(n)
	}
	return out, nil
}

// ResolveOverrides keys parsed overrides by address. IP literals need no
// lookup; hostnames go through resolve (Kafka takes InetAddress.getByName's
// address), and a nil resolve refuses them.
func ResolveOverrides(overrides map[string]int, resolve func(host string) (netip.Addr, error)) (map[netip.Addr]int, error) {
	out := make(map[netip.Addr]int, len(overrides))
	for host, n := range overrides {
		addr, ok := parseIP(host)
		if !ok {
			if resolve == nil {
				return nil, fmt.Errorf("%w: max.connections.per.ip.overrides: %s is not an IP address", ErrInvalidConfig, host)
			}
			a, err := resolve(host)
			if err != nil {
				return nil, fmt.Errorf("%w: max.connections.per.ip.overrides: resolving %s: %w", ErrInvalidConfig, host, err)
			}
			addr = canonicalIP(a)
		}
		out[addr] = n
	}
	return out, nil
}
