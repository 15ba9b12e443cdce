package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/interbroker"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/quota"
	"github.com/fjordhq/fjord/internal/sasl"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/tlsconfig"
)

// listenerSecurity builds what a listener's connections need to
// authenticate, from the broker's properties (with their
// listener.name.<listener>. overrides, as Kafka). Background work a
// mechanism needs (refreshing an https: JWKS) runs under ctx.
func listenerSecurity(ctx context.Context, cfg config.Broker, l config.Listener, meta *metadata.Node, logger *slog.Logger,
	run func(func())) (server.ListenerConfig, error) {
	out := server.ListenerConfig{Name: l.Name}
	if l.Protocol.TLS() {
		srv, err := tlsconfig.NewServer(cfg.Props, l.Name, tlsconfig.Options{OnReloadError: func(err error) {
			logger.Warn("TLS key or trust store changed but could not be loaded; the previous ones stay in use", "listener", l.Name, "err", err)
		}})
		if err != nil {
			return out, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		out.TLS = srv
	}
	if !l.Protocol.SASL() {
		return out, nil
	}
	names := splitNames(cfg.ListenerValue(l.Name, "sasl.enabled.mechanisms"))
	if len(names) == 0 {
		return out, fmt.Errorf("listener %s: sasl.enabled.mechanisms is empty", l.Name)
	}
	insecureOK := strings.EqualFold(cfg.ListenerValue(l.Name, "sasl.without.tls.allowed"), "true")
	saslCfg := &server.SASLConfig{}
	for _, name := range names {
		if !l.Protocol.TLS() && !insecureOK && name != sasl.OAuthBearerMechanismName {
			return out, fmt.Errorf("listener %s: %s over %s sends credentials unencrypted; use SASL_SSL, or set sasl.without.tls.allowed=true",
				l.Name, name, l.Protocol)
		}
		m, err := mechanism(ctx, cfg, l.Name, name, meta, run)
		if err != nil {
			return out, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		saslCfg.Mechanisms = append(saslCfg.Mechanisms, m)
	}
	reauth, _ := strconv.ParseInt(cfg.ListenerValue(l.Name, "connections.max.reauth.ms"), 10, 64)
	saslCfg.MaxReauth = time.Duration(reauth) * time.Millisecond
	out.SASL = saslCfg
	return out, nil
}

func splitNames(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func mechanism(ctx context.Context, cfg config.Broker, listener, name string, meta *metadata.Node, run func(func())) (sasl.Mechanism, error) {
	switch name {
	case sasl.PlainMechanismName:
		users, err := plainUsers(cfg, listener)
		if err != nil {
			return nil, err
		}
		return sasl.NewPlain(users), nil
	case sasl.OAuthBearerMechanismName:
		return oauthBearer(ctx, cfg, listener, run)
	case "GSSAPI":
		return nil, fmt.Errorf("SASL mechanism GSSAPI (Kerberos) is not supported; use SCRAM-SHA-512, PLAIN or OAUTHBEARER")
	}
	if m, ok := sasl.ScramMechanismByName(name); ok {
		return sasl.NewScram(m, imageScramCredentials{meta}, sasl.ScramOptions{})
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q in sasl.enabled.mechanisms", name)
}

// plainUsers reads PLAIN's user_NAME="password" options from the
// listener's sasl.jaas.config, as Kafka's PlainServerCallbackHandler.
func plainUsers(cfg config.Broker, listener string) (sasl.StaticPlainUsers, error) {
	raw := cfg.MechanismValue(listener, sasl.PlainMechanismName, "sasl.jaas.config")
	if raw == "" {
		return nil, fmt.Errorf("PLAIN needs listener.name.%s.plain.sasl.jaas.config with user_NAME=\"password\" options", strings.ToLower(listener))
	}
	e, err := config.ParseJAAS(raw)
	if err != nil {
		return nil, err
	}
	users := sasl.StaticPlainUsers{}
	for k, v := range e.Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
			users[name] = v
		}
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("PLAIN's sasl.jaas.config names no user_NAME=\"password\" option")
	}
	return users, nil
}

// oauthBearer checks tokens against the JWKS of
// sasl.oauthbearer.jwks.endpoint.url: a file, or an https: URL the
// operator allowed (CVE-2025-27817: no config makes the broker fetch an
// arbitrary URL).
func oauthBearer(ctx context.Context, cfg config.Broker, listener string, run func(func())) (sasl.Mechanism, error) {
	value := func(name string) string { return cfg.MechanismValue(listener, sasl.OAuthBearerMechanismName, name) }
	oc := sasl.DefaultOAuthConfig()
	oc.ExpectedAudience = splitNames(value("sasl.oauthbearer.expected.audience"))
	oc.ExpectedIssuer = value("sasl.oauthbearer.expected.issuer")
	oc.SubClaimName = value("sasl.oauthbearer.sub.claim.name")
	oc.ScopeClaimName = value("sasl.oauthbearer.scope.claim.name")
	skew, _ := strconv.Atoi(value("sasl.oauthbearer.clock.skew.seconds"))
	oc.ClockSkew = time.Duration(skew) * time.Second
	raw := value("sasl.oauthbearer.jwks.endpoint.url")
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return nil, fmt.Errorf("OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url (a file: or https: URL)")
	}
	var keys sasl.KeySource
	switch u.Scheme {
	case "file":
		src, err := sasl.NewFileKeySource(u.Path, nil)
		if err != nil {
			return nil, err
		}
		keys = src
	case "https":
		if !slices.Contains(splitNames(cfg.ListenerValue(listener, "org.apache.kafka.sasl.oauthbearer.allowed.urls")), raw) {
			return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url %s is not in org.apache.kafka.sasl.oauthbearer.allowed.urls", raw)
		}
		opts := sasl.DefaultURLKeySourceOptions()
		refresh, _ := strconv.ParseInt(value("sasl.oauthbearer.jwks.endpoint.refresh.ms"), 10, 64)
		opts.RefreshInterval = time.Duration(refresh) * time.Millisecond
		src, err := sasl.NewURLKeySource(raw, &http.Client{Timeout: 30 * time.Second}, opts)
		if err != nil {
			return nil, err
		}
		run(func() { _ = src.Run(ctx) })
		keys = src
	default:
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url %s: only file: and https: URLs", raw)
	}
	return sasl.NewOAuthBearer(oc, keys)
}

// imageScramCredentials looks SCRAM credentials up in the newest metadata
// image, so that a credential altered or deleted counts from the next
// authentication on.
type imageScramCredentials struct{ meta *metadata.Node }

func (c imageScramCredentials) ScramCredential(m sasl.ScramMechanism, user string) (sasl.ScramCredential, bool) {
	cr, ok := c.meta.Image().ScramCredential(user, int8(m))
	if !ok {
		return sasl.ScramCredential{}, false
	}
	return sasl.ScramCredential{Mechanism: m, Salt: cr.Salt, StoredKey: cr.StoredKey, ServerKey: cr.ServerKey,
		Iterations: int(cr.Iterations)}, true
}

// ScramBootstrap is a credential `fjord server --add-scram` creates when the
// quorum has none for its user and mechanism, as kafka-storage format
// --add-scram does: the first users of a cluster whose listeners all
// require SASL.
type ScramBootstrap struct {
	Mechanism  sasl.ScramMechanism
	User       string
	Password   string
	Iterations int
}

// ParseAddScram parses kafka-storage's --add-scram syntax:
//
//	SCRAM-SHA-512=[name=alice,password=alice-secret,iterations=8192]
//
// with values optionally in double quotes.
func ParseAddScram(v string) (ScramBootstrap, error) {
	mechName, rest, ok := strings.Cut(v, "=")
	m, known := sasl.ScramMechanismByName(strings.TrimSpace(mechName))
	rest = strings.TrimSpace(rest)
	if !ok || !known || !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") {
		return ScramBootstrap{}, fmt.Errorf("--add-scram %q: want SCRAM-SHA-256=[name=NAME,password=PASSWORD] or SCRAM-SHA-512=[...]", v)
	}
	out := ScramBootstrap{Mechanism: m, Iterations: sasl.ScramDefaultIterations}
	for _, kv := range strings.Split(rest[1:len(rest)-1], ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return ScramBootstrap{}, fmt.Errorf("--add-scram %q: %q is not key=value", v, kv)
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		switch strings.TrimSpace(k) {
		case "name":
			out.User = val
		case "password":
			out.Password = val
		case "iterations":
			n, err := strconv.Atoi(val)
			if err != nil {
				return ScramBootstrap{}, fmt.Errorf("--add-scram %q: iterations %q", v, val)
			}
			out.Iterations = n
		default:
			return ScramBootstrap{}, fmt.Errorf("--add-scram %q: unknown key %q (name, password, iterations)", v, k)
		}
	}
	if out.User == "" || out.Password == "" {
		return ScramBootstrap{}, fmt.Errorf("--add-scram %q: name and password are required", v)
	}
	return out, nil
}

// bootstrapScram creates the credentials of users that have none yet.
func bootstrapScram(ctx context.Context, meta *metadata.Node, users []ScramBootstrap) error {
	var change metadata.SecurityChange
	for _, u := range users {
		if _, ok := meta.Image().ScramCredential(u.User, int8(u.Mechanism)); ok {
			continue
		}
		cred, err := sasl.NewScramCredential(u.Mechanism, u.Password, u.Iterations)
		if err != nil {
			return fmt.Errorf("--add-scram for %s: %w", u.User, err)
		}
		change.ScramUpserts = append(change.ScramUpserts, metadata.ScramCredentialRecord{User: u.User, Mechanism: int8(u.Mechanism),
			Salt: cred.Salt, StoredKey: cred.StoredKey, ServerKey: cred.ServerKey, Iterations: int32(cred.Iterations)})
	}
	if len(change.ScramUpserts) == 0 {
		return nil
	}
	res, err := meta.AlterSecurity(ctx, change)
	if err != nil {
		return fmt.Errorf("--add-scram: %w", err)
	}
	for i, err := range res.ScramUpserts {
		if err != nil {
			return fmt.Errorf("--add-scram for %s: %w", change.ScramUpserts[i].User, err)
		}
	}
	return nil
}

// interBrokerSecurity is how this broker connects to the others' listener
// named inter.broker.listener.name: with that listener's ssl.* settings
// for TLS (its trust store checks their certificates, its key store is
// this broker's certificate for mutual TLS), and with the username and
// password options of its sasl.jaas.config for the mechanism
// sasl.mechanism.inter.broker.protocol, as Kafka's brokers. A lone node,
// which never connects to another broker, may go without credentials.
func interBrokerSecurity(cfg config.Broker, logger *slog.Logger, clustered bool) (interbroker.Security, error) {
	var sec interbroker.Security
	l, ok := cfg.ListenerNamed(cfg.InterBrokerListener)
	if !ok {
		return sec, nil
	}
	if l.Protocol.TLS() {
		client, err := tlsconfig.NewClient(listenerProps(cfg, l.Name), tlsconfig.Options{OnReloadError: func(err error) {
			logger.Warn("inter-broker TLS stores changed but could not be loaded; the previous ones stay in use", "err", err)
		}})
		if err != nil {
			return sec, fmt.Errorf("inter-broker listener %s: %w", l.Name, err)
		}
		sec.TLS = client.TLSConfig
	}
	if !l.Protocol.SASL() {
		return sec, nil
	}
	mech := cfg.ListenerValue(l.Name, "sasl.mechanism.inter.broker.protocol")
	if mech == "" {
		if names := splitNames(cfg.ListenerValue(l.Name, "sasl.enabled.mechanisms")); len(names) > 0 {
			mech = names[0]
		}
	}
	raw := cfg.MechanismValue(l.Name, mech, "sasl.jaas.config")
	if raw == "" && !clustered {
		// A lone node never connects to another broker.
		return sec, nil
	}
	e, err := config.ParseJAAS(raw)
	if err != nil {
		return sec, fmt.Errorf("inter-broker listener %s needs listener.name.%s.%s.sasl.jaas.config with this broker's username and password: %w",
			l.Name, strings.ToLower(l.Name), strings.ToLower(mech), err)
	}
	user, pass := e.Options["username"], e.Options["password"]
	if (user == "" || pass == "") && !clustered {
		return sec, nil
	}
	if user == "" || pass == "" {
		return sec, fmt.Errorf("inter-broker listener %s: the %s sasl.jaas.config has no username and password options", l.Name, mech)
	}
	switch mech {
	case sasl.PlainMechanismName:
		sec.SASL = plain.Auth{User: user, Pass: pass}.AsMechanism()
	case "SCRAM-SHA-256":
		sec.SASL = scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		sec.SASL = scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	default:
		return sec, fmt.Errorf("inter-broker SASL mechanism %q: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", mech)
	}
	return sec, nil
}

// listenerProps are the broker's properties with a listener's
// listener.name.<listener>. overrides applied, for code that reads
// unprefixed names.
func listenerProps(cfg config.Broker, listener string) map[string]string {
	out := make(map[string]string, len(cfg.Props))
	prefix := "listener.name." + strings.ToLower(listener) + "."
	for k, v := range cfg.Props {
		if _, has := out[k]; !has {
			out[k] = v
		}
		if name, ok := strings.CutPrefix(k, prefix); ok {
			out[name] = v
		}
	}
	return out
}

// controllerTLS secures the controller listener (Raft and forwarded
// operations) when controller.listener.security.protocol is SSL: mutual
// TLS with the listener.name.controller.ssl.* settings (else ssl.*), client
// certificates always required, so that only holders of a certificate of
// the trusted CA (the cluster's nodes) can vote, register or fence.
func controllerTLS(cfg config.Broker, logger *slog.Logger) (metadata.NetworkTLS, error) {
	var out metadata.NetworkTLS
	switch proto := strings.ToUpper(cfg.ListenerValue("CONTROLLER", "controller.listener.security.protocol")); proto {
	case "", "PLAINTEXT":
		return out, nil
	case "SSL":
	default:
		return out, fmt.Errorf("controller.listener.security.protocol=%s: PLAINTEXT or SSL", proto)
	}
	props := listenerProps(cfg, "CONTROLLER")
	props["ssl.client.auth"] = "required"
	onErr := tlsconfig.Options{OnReloadError: func(err error) {
		logger.Warn("controller TLS stores changed but could not be loaded; the previous ones stay in use", "err", err)
	}}
	srv, err := tlsconfig.NewServer(props, "", onErr)
	if err != nil {
		return out, fmt.Errorf("controller listener: %w", err)
	}
	client, err := tlsconfig.NewClient(props, onErr)
	if err != nil {
		return out, fmt.Errorf("controller listener: %w", err)
	}
	out.Server, out.Client = srv.TLSConfig(), client.TLSConfig
	return out, nil
}

// connectionQuotas admits connections by Kafka's per-IP limits
// (max.connections.per.ip, its overrides, the ip entities'
// connection_creation_rate) and max.connection.creation.rate, for every
// listener of the node. max.connections itself is the server's own bound.
type connectionQuotas struct{ q *quota.ConnectionQuotas }

func newConnectionQuotas(cfg config.Broker, store *quota.Store) (connectionQuotas, error) {
	cc := quota.DefaultConnectionConfig()
	if cfg.MaxConnectionsPerIP > 0 {
		cc.MaxConnectionsPerIP = int(cfg.MaxConnectionsPerIP)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(cfg.Props["quota.window.num"])); err == nil && n > 1 {
		cc.NumSamples = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(cfg.Props["quota.window.size.seconds"])); err == nil && n > 0 {
		cc.WindowSize = time.Duration(n) * time.Second
	}
	overrides, err := quota.ParseOverrides(cfg.Props["max.connections.per.ip.overrides"])
	if err != nil {
		return connectionQuotas{}, fmt.Errorf("max.connections.per.ip.overrides: %w", err)
	}
	resolve := func(host string) (netip.Addr, error) {
		addrs, err := net.LookupHost(host)
		if err != nil || len(addrs) == 0 {
			return netip.Addr{}, fmt.Errorf("resolving %s: %v", host, err)
		}
		return netip.ParseAddr(addrs[0])
	}
	if cc.PerIPOverrides, err = quota.ResolveOverrides(overrides, resolve); err != nil {
		return connectionQuotas{}, fmt.Errorf("max.connections.per.ip.overrides: %w", err)
	}
	if v := strings.TrimSpace(cfg.Props["max.connection.creation.rate"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return connectionQuotas{}, fmt.Errorf("max.connection.creation.rate=%q: want a number of connections per second", v)
		}
		cc.MaxConnectionCreationRate = n
	}
	q, err := quota.NewConnectionQuotas(cc, store)
	if err != nil {
		return connectionQuotas{}, err
	}
	return connectionQuotas{q: q}, nil
}

func (c connectionQuotas) Admit(ip netip.Addr, now time.Time) (bool, time.Duration, error) {
	a := c.q.Accept(ip, now)
	return a.Action == quota.Accept, a.Delay, a.Err
}

func (c connectionQuotas) Release(ip netip.Addr) { _ = c.q.Release(ip) }

// run drops idle per-IP rate sensors until ctx ends.
func (c connectionQuotas) run(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.q.Expire(now)
		}
	}
}
