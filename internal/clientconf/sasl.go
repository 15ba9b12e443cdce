package clientconf

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/fjordhq/fjord/internal/config"
)

// Options of sasl.jaas.config's login modules that fjord reads. Kafka's
// PlainLoginModule and ScramLoginModule take username and password;
// ScramLoginModule's tokenauth="true" marks a delegation token.
// OAuthBearerLoginModule gets its token from a Java login callback handler,
// which fjord cannot run, so a token obtained elsewhere is given in a token
// option; its extension_NAME options are SASL extensions (KIP-342), as
// Kafka's OAuthBearerLoginCallbackHandler sends them.
const (
	jaasUsername        = "username"
	jaasPassword        = "password"
	jaasTokenAuth       = "tokenauth"
	jaasToken           = "token"
	jaasExtensionPrefix = "extension_"
)

// propTokenEndpoint is Kafka's OAuth token endpoint; fjord fetches no
// token, so it only explains a missing one.
const propTokenEndpoint = "sasl.oauthbearer.token.endpoint.url"

// extensionName is the name rule Kafka's server applies to SASL
// extensions (OAuthBearerClientInitialResponse); "auth" is reserved.
var extensionName = regexp.MustCompile(`^[A-Za-z]+$`)

// resolveSASL fills the mechanism and credentials: the options of
// sasl.jaas.config, then sasl.username and sasl.password over them key by
// key.
func (s *Security) resolveSASL(props map[string]string, opts Options) error {
	s.Mechanism = SASLMechanism(props)
	switch s.Mechanism {
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer:
	case "":
		return securityErrorf("%s needs %s (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER); "+
			"Kafka's default, GSSAPI, is not supported", s.Protocol, PropSASLMechanism)
	default:
		return securityErrorf("%s %q is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", PropSASLMechanism, s.Mechanism)
	}
	options := map[string]string{}
	if v := props[PropSASLJAASConfig]; strings.TrimSpace(v) != "" {
		entry, err := config.ParseJAAS(v)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSecurity, err)
		}
		options = entry.Options
	}
	if s.Mechanism == MechanismOAuthBearer {
		return s.resolveToken(options, props, opts)
	}
	s.Username, s.password = options[jaasUsername], options[jaasPassword]
	s.scramToken = strings.EqualFold(options[jaasTokenAuth], "true")
	if v := props[PropSASLUsername]; v != "" {
		s.Username = v
	}
	if v := props[PropSASLPassword]; v != "" {
		s.password = v
	}
	if s.Username == "" || s.password == "" {
		return securityErrorf("%s needs a user name and a password: %s", s.Mechanism,
			orList(opts.CredentialsHint, PropSASLUsername+" and "+PropSASLPassword,
				"username and password options in "+PropSASLJAASConfig))
	}
	return nil
}

// resolveToken fills the OAUTHBEARER token, from Options.Token or the
// token option of sasl.jaas.config, and the SASL extensions.
func (s *Security) resolveToken(options, props map[string]string, opts Options) error {
	s.token = strings.TrimSpace(options[jaasToken])
	if opts.Token != "" {
		s.token = strings.TrimSpace(opts.Token)
	}
	if s.token == "" {
		hint := ""
		switch {
		case props[PropLoginCallback] != "":
			hint = "; fjord cannot run " + PropLoginCallback
		case props[propTokenEndpoint] != "":
			hint = "; fjord does not fetch tokens from " + propTokenEndpoint
		}
		return securityErrorf("OAUTHBEARER needs a token: %s%s",
			orList(opts.TokenHint, "a "+jaasToken+`="..." option in `+PropSASLJAASConfig), hint)
	}
	for key, value := range options {
		name, ok := strings.CutPrefix(key, jaasExtensionPrefix)
		if !ok {
			continue
		}
		if !extensionName.MatchString(name) || name == "auth" {
			return securityErrorf("%s: SASL extension %q: a name is letters only, and not auth", PropSASLJAASConfig, name)
		}
		if s.extensions == nil {
			s.extensions = map[string]string{}
		}
		s.extensions[name] = value
	}
	return nil
}

// orList joins the non-empty alternatives: "a, b or c".
func orList(alternatives ...string) string {
	var given []string
	for _, a := range alternatives {
		if a != "" {
			given = append(given, a)
		}
	}
	if len(given) < 2 {
		return strings.Join(given, "")
	}
	return strings.Join(given[:len(given)-1], ", ") + " or " + given[len(given)-1]
}

// SASL returns the client side of the SASL mechanism, or nil when the
// protocol has no SASL.
func (s *Security) SASL() sasl.Mechanism {
	switch s.Mechanism {
	case MechanismPlain:
		return plain.Auth{User: s.Username, Pass: s.password}.AsMechanism()
	case MechanismScramSHA256:
		return scram.Auth{User: s.Username, Pass: s.password, IsToken: s.scramToken}.AsSha256Mechanism()
	case MechanismScramSHA512:
		return scram.Auth{User: s.Username, Pass: s.password, IsToken: s.scramToken}.AsSha512Mechanism()
	case MechanismOAuthBearer:
		return oauth.Auth{Token: s.token, Extensions: s.extensions}.AsMechanism()
	}
	return nil
}
