package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// SecurityProtocol is how a listener's connections are secured, as Kafka's
// security.protocol and listener.security.protocol.map values.
type SecurityProtocol string

// Kafka's security protocols.
const (
	Plaintext     SecurityProtocol = "PLAINTEXT"
	SSL           SecurityProtocol = "SSL"
	SASLPlaintext SecurityProtocol = "SASL_PLAINTEXT"
	SASLSSL       SecurityProtocol = "SASL_SSL"
)

// TLS reports whether connections of the protocol are encrypted.
func (p SecurityProtocol) TLS() bool { return p == SSL || p == SASLSSL }

// SASL reports whether connections of the protocol authenticate with SASL.
func (p SecurityProtocol) SASL() bool { return p == SASLPlaintext || p == SASLSSL }

// WireID is the protocol's id in Kafka's metadata records (SecurityProtocol
// in Java).
func (p SecurityProtocol) WireID() int16 {
	switch p {
	case SSL:
		return 1
	case SASLPlaintext:
		return 2
	case SASLSSL:
		return 3
	}
	return 0
}

// defaultProtocolMap is Kafka's listener.security.protocol.map default:
// each protocol's name is a listener name for itself.
const defaultProtocolMap = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"

// Listener is one entry of listeners with its advertised address and
// security protocol.
type Listener struct {
	Name      string // upper case, as Kafka normalises listener names
	Addr      string // host:port to bind
	Advertise string // host:port clients are told; Addr when not advertised
	Protocol  SecurityProtocol
}

// parseListeners reads listeners, advertised.listeners,
// listener.security.protocol.map and inter.broker.listener.name.
func (p *brokerParser) parseListeners() (listeners []Listener, interBroker string) {
	protocols, err := parseProtocolMap(p.raw("listener.security.protocol.map"))
	if err != nil {
		p.errs = append(p.errs, err)
		return nil, ""
	}
	for _, entry := range splitList(p.raw("listeners")) {
		name, addr, err := splitListener(entry)
		if err != nil {
			p.errs = append(p.errs, err)
			continue
		}
		name = strings.ToUpper(name)
		proto, ok := protocols[name]
		if !ok {
			p.errs = append(p.errs, fmt.Errorf("%w: listener %s has no security protocol in listener.security.protocol.map", ErrInvalidConfig, name))
			continue
		}
		_, port, _ := net.SplitHostPort(addr)
		if slices.ContainsFunc(listeners, func(l Listener) bool { return l.Name == name || (l.Addr == addr && port != "0") }) {
			p.errs = append(p.errs, fmt.Errorf("%w: listeners: %s repeats a listener name or address", ErrInvalidConfig, entry))
			continue
		}
		listeners = append(listeners, Listener{Name: name, Addr: addr, Advertise: addr, Protocol: proto})
	}
	for _, entry := range splitList(p.raw("advertised.listeners")) {
		name, addr, err := splitListener(entry)
		if err != nil {
			p.errs = append(p.errs, err)
			continue
		}
		i := slices.IndexFunc(listeners, func(l Listener) bool { return l.Name == strings.ToUpper(name) })
		if i < 0 {
			p.errs = append(p.errs, fmt.Errorf("%w: advertised.listeners names %s, which is not in listeners", ErrInvalidConfig, name))
			continue
		}
		listeners[i].Advertise = addr
	}
	if len(listeners) == 0 {
		return nil, ""
	}
	interBroker = strings.ToUpper(p.raw("inter.broker.listener.name"))
	if interBroker == "" {
		interBroker = listeners[0].Name
	}
	if !slices.ContainsFunc(listeners, func(l Listener) bool { return l.Name == interBroker }) {
		p.errs = append(p.errs, fmt.Errorf("%w: inter.broker.listener.name %s is not in listeners", ErrInvalidConfig, interBroker))
	}
	return listeners, interBroker
}

// parseProtocolMap parses NAME:PROTOCOL pairs.
func parseProtocolMap(v string) (map[string]SecurityProtocol, error) {
	out := make(map[string]SecurityProtocol)
	for _, pair := range splitList(v) {
		name, proto, ok := strings.Cut(pair, ":")
		sp := SecurityProtocol(strings.ToUpper(strings.TrimSpace(proto)))
		if !ok || strings.TrimSpace(name) == "" || !slices.Contains([]SecurityProtocol{Plaintext, SSL, SASLPlaintext, SASLSSL}, sp) {
			return nil, fmt.Errorf("%w: listener.security.protocol.map entry %q is not NAME:PROTOCOL with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", ErrInvalidConfig, pair)
		}
		out[strings.ToUpper(strings.TrimSpace(name))] = sp
	}
	return out, nil
}

// ListenerNamed returns the listener called name.
func (b Broker) ListenerNamed(name string) (Listener, bool) {
	i := slices.IndexFunc(b.Listeners, func(l Listener) bool { return l.Name == name })
	if i < 0 {
		return Listener{}, false
	}
	return b.Listeners[i], true
}

// listenerPrefix is how a listener's own value of a config is named, as
// Kafka's listener.name.<name lower case>.<config>.
func listenerPrefix(listener string) string {
	return "listener.name." + strings.ToLower(listener) + "."
}

// ListenerValue returns the value of name for listener: its
// listener.name.<listener>.<name> override, else the broker's value, else
// name's default.
func (b Broker) ListenerValue(listener, name string) string {
	if v, ok := b.Props[listenerPrefix(listener)+name]; ok {
		return strings.TrimSpace(v)
	}
	if v, ok := b.Props[name]; ok {
		return strings.TrimSpace(v)
	}
	for _, d := range BrokerDefs() {
		if d.Name == name {
			return d.Default
		}
	}
	return ""
}

// MechanismValue returns the value of name for one SASL mechanism of a
// listener, as Kafka's listener.name.<listener>.<mechanism lower case>.<name>
// (sasl.jaas.config), else the listener's or the broker's value.
func (b Broker) MechanismValue(listener, mechanism, name string) string {
	if v, ok := b.Props[listenerPrefix(listener)+strings.ToLower(mechanism)+"."+name]; ok {
		return strings.TrimSpace(v)
	}
	return b.ListenerValue(listener, name)
}

// listenerDef finds the definition a listener.name.<listener>.[<mechanism>.]
// config overrides, so that such keys are validated, not warned about.
func (p *brokerParser) listenerDef(key string) (Def, bool) {
	rest, ok := strings.CutPrefix(key, "listener.name.")
	if !ok {
		return Def{}, false
	}
	_, name, ok := strings.Cut(rest, ".")
	if !ok {
		return Def{}, false
	}
	if d, ok := p.defs[name]; ok {
		return d, true
	}
	if _, name, ok = strings.Cut(name, "."); ok { // a mechanism's own
		d, ok := p.defs[name]
		return d, ok
	}
	return Def{}, false
}
