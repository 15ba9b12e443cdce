package sasl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// scramMaxExtensions bounds the extensions of one SCRAM message; Kafka knows
// one (tokenauth), so a handful is generous.
const scramMaxExtensions = 16

var (
	errScramMalformed      = errors.New("invalid SCRAM message format")
	errScramChannelBinding = errors.New("channel binding requested; SCRAM-PLUS is not supported")
)

// scramClientFirst is a parsed client-first-message (RFC 5802 section 7).
type scramClientFirst struct {
	gs2Header  string // "n,," or "n,a=<authzid>,", as sent
	authzid    string // unescaped; "" when absent
	user       string // unescaped saslname of n=
	nonce      string
	bare       string // client-first-message-bare, as sent, for AuthMessage
	extensions map[string]string
}

// tokenAuth reports whether the client asks for delegation-token
// authentication (KIP-48), whose "true" Kafka compares case-insensitively.
func (m *scramClientFirst) tokenAuth() bool {
	return strings.EqualFold(m.extensions["tokenauth"], "true")
}

// parseScramClientFirst parses gs2-header client-first-message-bare. Only the
// "n" channel-binding flag is accepted: fjord supports no SCRAM-PLUS, and a
// "y" would claim the client believes the server does not either.
func parseScramClientFirst(message string) (scramClientFirst, error) {
	var m scramClientFirst
	flag, rest, ok := strings.Cut(message, ",")
	if !ok {
		return m, fmt.Errorf("%w: no gs2 header", errScramMalformed)
	}
	switch {
	case flag == "n":
	case flag == "y" || strings.HasPrefix(flag, "p="):
		return m, errScramChannelBinding
	default:
		return m, fmt.Errorf("%w: gs2 channel binding flag %.16q", errScramMalformed, flag)
	}
	authzidField, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return m, fmt.Errorf("%w: gs2 header not terminated", errScramMalformed)
	}
	if authzidField != "" {
		value, ok := strings.CutPrefix(authzidField, "a=")
		if !ok {
			return m, fmt.Errorf("%w: gs2 authzid field", errScramMalformed)
		}
		authzid, err := unescapeSaslname(value)
		if err != nil {
			return m, fmt.Errorf("authzid: %w", err)
		}
		m.authzid = authzid
	}
	m.gs2Header = message[:len(message)-len(bare)]
	m.bare = bare

	field, rest, _ := strings.Cut(bare, ",")
	if strings.HasPrefix(field, "m=") {
		return m, fmt.Errorf("%w: mandatory extension not supported", errScramMalformed)
	}
	value, ok := strings.CutPrefix(field, "n=")
	if !ok {
		return m, fmt.Errorf("%w: username expected", errScramMalformed)
	}
	user, err := unescapeSaslname(value)
	if err != nil {
		return m, fmt.Errorf("username: %w", err)
	}
	m.user = user
	field, rest, more := strings.Cut(rest, ",")
	nonce, ok := strings.CutPrefix(field, "r=")
	if !ok || !validScramNonce(nonce) {
		return m, fmt.Errorf("%w: nonce expected", errScramMalformed)
	}
	m.nonce = nonce
	if more {
		m.extensions, err = parseScramExtensions(rest)
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

// scramClientFinal is a parsed client-final-message.
type scramClientFinal struct {
	channelBinding string // the c= value, base64 as sent
	nonce          string
	withoutProof   string // client-final-message-without-proof, for AuthMessage
	proof          []byte
}

// parseScramClientFinal parses channel-binding "," nonce ["," extensions]
// "," proof. Extensions are allowed by the grammar and ignored, as Kafka
// does; the proof must be the last attribute.
func parseScramClientFinal(message string) (scramClientFinal, error) {
	var m scramClientFinal
	proofAt := strings.LastIndex(message, ",p=")
	if proofAt < 0 {
		return m, fmt.Errorf("%w: proof expected", errScramMalformed)
	}
	m.withoutProof = message[:proofAt]
	proof, err := base64.StdEncoding.Strict().DecodeString(message[proofAt+len(",p="):])
	if err != nil || len(proof) == 0 {
		return m, fmt.Errorf("%w: proof is not base64", errScramMalformed)
	}
	m.proof = proof

	field, rest, _ := strings.Cut(m.withoutProof, ",")
	binding, ok := strings.CutPrefix(field, "c=")
	if !ok {
		return m, fmt.Errorf("%w: channel binding expected", errScramMalformed)
	}
	m.channelBinding = binding
	field, rest, more := strings.Cut(rest, ",")
	nonce, ok := strings.CutPrefix(field, "r=")
	if !ok || !validScramNonce(nonce) {
		return m, fmt.Errorf("%w: nonce expected", errScramMalformed)
	}
	m.nonce = nonce
	if more {
		if _, err := parseScramExtensions(rest); err != nil {
			return m, err
		}
	}
	return m, nil
}

// parseScramExtensions parses key=value pairs separated by commas. Keys are
// letters, as in Kafka's SCRAM extension grammar; duplicates are refused so
// that no two readers of the message can disagree on a value.
func parseScramExtensions(s string) (map[string]string, error) {
	extensions := make(map[string]string)
	for {
		field, rest, more := strings.Cut(s, ",")
		key, value, ok := strings.Cut(field, "=")
		if !ok || !isLetters(key) {
			return nil, fmt.Errorf("%w: extension %.32q", errScramMalformed, field)
		}
		if _, dup := extensions[key]; dup {
			return nil, fmt.Errorf("%w: duplicate extension %q", errScramMalformed, key)
		}
		if len(extensions) == scramMaxExtensions {
			return nil, fmt.Errorf("%w: more than %d extensions", errScramMalformed, scramMaxExtensions)
		}
		extensions[key] = value
		if !more {
			return extensions, nil
		}
		s = rest
	}
}

// validScramNonce reports whether s is a non-empty run of printable ASCII
// other than the comma (RFC 5802's "printable").
func validScramNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// unescapeSaslname decodes RFC 5802's saslname: UTF-8 without NUL, with ","
// and "=" written as "=2C" and "=3D". Any other "=" is an error.
func unescapeSaslname(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty saslname", errScramMalformed)
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("%w: saslname is not UTF-8 without NUL", errScramMalformed)
	}
	if strings.IndexByte(s, '=') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", fmt.Errorf("%w: bad escape in saslname", errScramMalformed)
		}
		i += 2
	}
	return b.String(), nil
}
