package clientconf

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	fjordsasl "github.com/fjordhq/fjord/internal/sasl"
)

// secret is in every password, token and key of these tests; no error
// text and no String may contain it.
const secret = "s3cr3t-Value"

const (
	plainJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="` + secret + `";`
	scramJAAS = `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="` + secret + `";`
	oauthJAAS = `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required token="eyJ.` + secret +
		`" extension_logicalCluster="lkc-1" extension_identityPoolId=pool-2;`
)

func TestNewSecuritySASL(t *testing.T) {
	tests := []struct {
		name          string
		props         map[string]string
		opts          Options
		wantProtocol  string
		wantMechanism string
		wantUser      string
		wantPassword  string
		wantToken     string
		wantExtension map[string]string
	}{
		{name: "nothing is PLAINTEXT", wantProtocol: ProtocolPlaintext},
		{name: "PLAIN from sasl.jaas.config, any case",
			props:        map[string]string{PropSecurityProtocol: "sasl_plaintext", PropSASLMechanism: "plain", PropSASLJAASConfig: plainJAAS},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismPlain, wantUser: "alice", wantPassword: secret},
		{name: "SCRAM-SHA-512 from sasl.jaas.config",
			props:        map[string]string{PropSecurityProtocol: "SASL_PLAINTEXT", PropSASLMechanism: "SCRAM-SHA-512", PropSASLJAASConfig: scramJAAS},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismScramSHA512, wantUser: "alice", wantPassword: secret},
		{name: "librdkafka's names",
			props: map[string]string{PropSecurityProtocol: "SASL_PLAINTEXT", PropSASLMechanisms: "SCRAM-SHA-256",
				PropSASLUsername: "bob", PropSASLPassword: secret},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismScramSHA256, wantUser: "bob", wantPassword: secret},
		{name: "sasl.username replaces the JAAS user name only",
			props: map[string]string{PropSecurityProtocol: "SASL_PLAINTEXT", PropSASLMechanism: "PLAIN",
				PropSASLJAASConfig: plainJAAS, PropSASLUsername: "carol"},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismPlain, wantUser: "carol", wantPassword: secret},
		{name: "sasl.mechanism wins over sasl.mechanisms",
			props: map[string]string{PropSecurityProtocol: "SASL_PLAINTEXT", PropSASLMechanism: "PLAIN",
				PropSASLMechanisms: "SCRAM-SHA-256", PropSASLJAASConfig: plainJAAS},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismPlain, wantUser: "alice", wantPassword: secret},
		{name: "OAUTHBEARER token and extensions from sasl.jaas.config",
			props:        map[string]string{PropSecurityProtocol: "SASL_PLAINTEXT", PropSASLMechanism: "OAUTHBEARER", PropSASLJAASConfig: oauthJAAS},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismOAuthBearer, wantToken: "eyJ." + secret,
			wantExtension: map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-2"}},
		{name: "Options.Token replaces the JAAS token",
			props:        map[string]string{PropSecurityProtocol: "SASL_PLAINTEXT", PropSASLMechanism: "OAUTHBEARER", PropSASLJAASConfig: oauthJAAS},
			opts:         Options{Token: " other." + secret + "\n"},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismOAuthBearer, wantToken: "other." + secret,
			wantExtension: map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-2"}},
		{name: "sasl.* is ignored without SASL, as Kafka does",
			props:        map[string]string{PropSASLMechanism: "GSSAPI", PropSASLJAASConfig: "not JAAS"},
			wantProtocol: ProtocolPlaintext},
		{name: "ssl.* is ignored without TLS, as Kafka does",
			props:        map[string]string{"ssl.truststore.type": "JKS", "ssl.truststore.location": "/nonexistent"},
			wantProtocol: ProtocolPlaintext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSecurity(tt.props, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Protocol != tt.wantProtocol || s.Mechanism != tt.wantMechanism || s.Username != tt.wantUser ||
				s.password != tt.wantPassword || s.token != tt.wantToken || !maps.Equal(s.extensions, tt.wantExtension) {
				t.Fatalf("got %s (password %q, token %q, extensions %v)", s, s.password, s.token, s.extensions)
			}
			if s.TLSConfig("localhost") != nil {
				t.Errorf("%s has TLS", s.Protocol)
			}
			if strings.Contains(s.String(), secret) || strings.Contains(fmt.Sprintf("%v %+v", s, s), secret) {
				t.Errorf("String shows a secret: %s", s)
			}
			if err := authenticate(t, s, tt.wantPassword); err != nil {
				t.Error(err)
			}
			if n := len(s.Opts(0)); n != map[bool]int{false: 0, true: 1}[tt.wantMechanism != ""] {
				t.Errorf("%d kgo options for %s", n, s)
			}
		})
	}
}

// authenticate runs s's SASL mechanism against fjord's server side of it,
// which knows the user's password (PLAIN, SCRAM), or reads the token and
// extensions from the client's first message (OAUTHBEARER).
func authenticate(t *testing.T, s *Security, password string) error {
	t.Helper()
	client := s.SASL()
	if client == nil {
		return nil
	}
	session, message, err := client.Authenticate(t.Context(), "localhost:9092")
	if err != nil {
		return err
	}
	var server fjordsasl.Mechanism
	switch s.Mechanism {
	case MechanismOAuthBearer:
		want := "auth=Bearer " + s.token + "\x01"
		for k, v := range s.extensions {
			if !strings.Contains(string(message), "\x01"+k+"="+v+"\x01") {
				return fmt.Errorf("OAUTHBEARER does not send extension %s", k)
			}
		}
		if !strings.Contains(string(message), want) {
			return fmt.Errorf("OAUTHBEARER does not send the token")
		}
		return nil
	case MechanismPlain:
		server = fjordsasl.NewPlain(fjordsasl.StaticPlainUsers{s.Username: password})
	default:
		mechanism, _ := fjordsasl.ScramMechanismByName(s.Mechanism)
		credential, err := fjordsasl.NewScramCredential(mechanism, password, fjordsasl.ScramMinIterations)
		if err != nil {
			return err
		}
		if server, err = fjordsasl.NewScram(mechanism, scramUser{s.Username, credential}, fjordsasl.ScramOptions{}); err != nil {
			return err
		}
	}
	exchange := server.Start(fjordsasl.ConnInfo{})
	for range 4 {
		challenge, done, err := exchange.Step(message)
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		clientDone, next, err := session.Challenge(challenge)
		if done || err != nil {
			if err == nil && !clientDone {
				err = errors.New("server done, client not")
			}
			return err
		}
		message = next
	}
	return errors.New("exchange did not end")
}

// scramUser is a credential store of one user.
type scramUser struct {
	name       string
	credential fjordsasl.ScramCredential
}

func (u scramUser) ScramCredential(_ fjordsasl.ScramMechanism, user string) (fjordsasl.ScramCredential, bool) {
	return u.credential, user == u.name
}

// TestWrongPasswordFails checks the check: authenticate refuses a
// credential that is not the server's.
func TestWrongPasswordFails(t *testing.T) {
	for _, mechanism := range []string{MechanismPlain, MechanismScramSHA256} {
		s, err := NewSecurity(map[string]string{PropSecurityProtocol: ProtocolSASLPlaintext, PropSASLMechanism: mechanism,
			PropSASLUsername: "u", PropSASLPassword: "wrong"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := authenticate(t, s, secret); !errors.Is(err, fjordsasl.ErrAuthentication) {
			t.Errorf("%s with a wrong password: %v", mechanism, err)
		}
	}
}

func TestNewSecuritySASLErrors(t *testing.T) {
	sasl := func(mechanism string, more ...string) map[string]string {
		props := map[string]string{PropSecurityProtocol: ProtocolSASLPlaintext, PropSASLMechanism: mechanism}
		for i := 0; i+1 < len(more); i += 2 {
			props[more[i]] = more[i+1]
		}
		return props
	}
	tests := []struct {
		name  string
		props map[string]string
		opts  Options
		want  string
	}{
		{"unknown protocol", map[string]string{PropSecurityProtocol: "TLS"}, Options{}, `security.protocol "TLS" is not`},
		{"no mechanism", sasl(""), Options{}, "SASL_PLAINTEXT needs sasl.mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER); " +
			"Kafka's default, GSSAPI, is not supported"},
		{"unknown mechanism", sasl("GSSAPI"), Options{}, `sasl.mechanism "GSSAPI" is not`},
		{"no password", sasl("PLAIN", PropSASLUsername, "a"), Options{},
			"PLAIN needs a user name and a password: sasl.username and sasl.password or username and password options in sasl.jaas.config"},
		{"no password, with the caller's hint", sasl("SCRAM-SHA-512", PropSASLPassword, secret), Options{CredentialsHint: "--user"},
			"needs a user name and a password: --user, sasl.username and sasl.password or username"},
		{"bad JAAS", sasl("PLAIN", PropSASLJAASConfig, `x.PlainLoginModule required password="`+secret), Options{},
			"sasl.jaas.config: option password: unterminated"},
		{"no token", sasl("OAUTHBEARER"), Options{TokenHint: "--token-file"},
			`OAUTHBEARER needs a token: --token-file or a token="..." option in sasl.jaas.config`},
		{"no token, a callback handler", sasl("OAUTHBEARER", PropLoginCallback, "org.example.Handler"), Options{},
			"fjord cannot run sasl.login.callback.handler.class"},
		{"no token, a token endpoint", sasl("OAUTHBEARER", propTokenEndpoint, "https://idp.example/token"), Options{},
			"fjord does not fetch tokens from sasl.oauthbearer.token.endpoint.url"},
		{"bad extension name", sasl("OAUTHBEARER", PropSASLJAASConfig, `M required token="`+secret+`" extension_auth="x";`), Options{},
			`SASL extension "auth"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSecurity(tt.props, tt.opts)
			if !errors.Is(err, ErrSecurity) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrSecurity saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestIsSecurityProperty(t *testing.T) {
	for name, want := range map[string]bool{
		"security.protocol": true, "sasl.jaas.config": true, "sasl.username": true, "ssl.truststore.location": true,
		"ssl.ca.location": true, "ssl.endpoint.identification.algorithm": true, "ssl.keymanager.algorithm": false,
		"ssl.truststore.locaton": false, "sasl.kerberos.service.name": false, "bootstrap.servers": false,
		"sasl.login.callback.handler.class": false,
	} {
		if got := IsSecurityProperty(name); got != want {
			t.Errorf("IsSecurityProperty(%q) = %v", name, got)
		}
	}
}

func TestOrList(t *testing.T) {
	for want, in := range map[string][]string{"": {"", ""}, "a": {"", "a"}, "a or b": {"a", "", "b"}, "a, b or c": {"a", "b", "c"}} {
		if got := orList(in...); got != want {
			t.Errorf("orList(%q) = %q, want %q", in, got, want)
		}
	}
}
