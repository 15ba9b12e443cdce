package sasl

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Limits on a JWKS document, whatever its source.
const (
	// MaxJWKSBytes bounds a JWKS document; identity providers publish a
	// few kilobytes.
	MaxJWKSBytes = 1 << 20
	// MaxJWKSKeys bounds the keys of one document; providers rotate
	// through a handful.
	MaxJWKSKeys = 100
	// jwksMinRSABits is the smallest RSA modulus accepted, as jose4j (and
	// so Kafka) requires; jwksMaxRSABits bounds the cost of a verification.
	jwksMinRSABits = 2048
	jwksMaxRSABits = 8192
	// maxKeyIDBytes bounds a kid that may trigger a refresh, as Kafka does.
	maxKeyIDBytes = 1000
)

// ErrKeyNotFound is wrapped when a key source has no key for a token's kid
// and algorithm.
var ErrKeyNotFound = errors.New("no verification key found")

// KeySource supplies OAUTHBEARER verification keys. Implementations are safe
// for concurrent use and do not block on the network.
type KeySource interface {
	// VerificationKey returns the public key (*rsa.PublicKey or
	// *ecdsa.PublicKey) to verify a token signed with alg whose header
	// names kid, "" when it names none. An error wraps ErrKeyNotFound when
	// no such key is known.
	VerificationKey(kid, alg string) (crypto.PublicKey, error)
}

// KeySet is a parsed JWKS: an immutable set of signature verification keys.
type KeySet struct {
	keys    []jsonWebKey
	skipped []string
}

type jsonWebKey struct {
	id        string
	algorithm string // "" when the JWK does not restrict it
	key       crypto.PublicKey
}

// rawJSONWebKey holds the JWK members (RFC 7517, RFC 7518 section 6) used.
type rawJSONWebKey struct {
	KeyType   string `json:"kty"`
	KeyID     string `json:"kid"`
	Use       string `json:"use"`
	Algorithm string `json:"alg"`
	N         string `json:"n"`
	E         string `json:"e"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	Y         string `json:"y"`
}

// ParseJWKS parses a JWKS document. Keys that cannot verify signatures here
// (other key types, "use":"enc", unsupported curves, weak or malformed keys)
// are skipped and listed by Skipped; a document with no usable key is an
// error, so that a refresh that fetched one keeps the previous keys.
func ParseJWKS(document []byte) (*KeySet, error) {
	if len(document) > MaxJWKSBytes {
		return nil, fmt.Errorf("parse JWKS: %d bytes exceeds %d", len(document), MaxJWKSBytes)
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(document, &raw); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	if len(raw.Keys) > MaxJWKSKeys {
		return nil, fmt.Errorf("parse JWKS: %d keys exceeds %d", len(raw.Keys), MaxJWKSKeys)
	}
	set := &KeySet{}
	for i, message := range raw.Keys {
		var rawKey rawJSONWebKey
		if err := json.Unmarshal(message, &rawKey); err != nil {
			set.skipped = append(set.skipped, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		key, err := parseJSONWebKey(rawKey)
		if err != nil {
			set.skipped = append(set.skipped, fmt.Sprintf("key %d (kid %.64q): %v", i, rawKey.KeyID, err))
			continue
		}
		set.keys = append(set.keys, key)
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("parse JWKS: no usable signature key among %d (%s)", len(raw.Keys), strings.Join(set.skipped, "; "))
	}
	return set, nil
}

// Len is the number of usable keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Skipped describes the keys of the document that were not usable, for the
// broker's log.
func (s *KeySet) Skipped() []string { return s.skipped }

// VerificationKey implements KeySource. With a kid the key must carry it;
// without one the set must hold exactly one key fit for alg.
func (s *KeySet) VerificationKey(kid, alg string) (crypto.PublicKey, error) {
	var found crypto.PublicKey
	matches := 0
	for i := range s.keys {
		key := &s.keys[i]
		if kid != "" && key.id != kid {
			continue
		}
		if !key.fits(alg) {
			continue
		}
		if kid != "" {
			return key.key, nil
		}
		found = key.key
		matches++
	}
	switch {
	case matches == 1:
		return found, nil
	case matches > 1:
		return nil, fmt.Errorf("%w: token has no kid and %d keys fit %s", ErrKeyNotFound, matches, alg)
	default:
		return nil, fmt.Errorf("%w: kid %.64q, alg %.16q", ErrKeyNotFound, kid, alg)
	}
}

// fits reports whether the key may verify a signature made with alg: the
// JWK's own alg, when it has one, must match, and the key type and curve
// must be the algorithm's.
func (k *jsonWebKey) fits(alg string) bool {
	if k.algorithm != "" && k.algorithm != alg {
		return false
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return key.Curve == elliptic.P256()
		case "ES384":
			return key.Curve == elliptic.P384()
		case "ES512":
			return key.Curve == elliptic.P521()
		}
	}
	return false
}

func parseJSONWebKey(raw rawJSONWebKey) (jsonWebKey, error) {
	if raw.Use != "" && raw.Use != "sig" {
		return jsonWebKey{}, fmt.Errorf("use %.16q is not sig", raw.Use)
	}
	key := jsonWebKey{id: raw.KeyID, algorithm: raw.Algorithm}
	var err error
	switch raw.KeyType {
	case "RSA":
		key.key, err = parseRSAWebKey(raw)
	case "EC":
		key.key, err = parseECWebKey(raw)
	default:
		err = fmt.Errorf("unsupported key type %.16q", raw.KeyType)
	}
	return key, err
}

func parseRSAWebKey(raw rawJSONWebKey) (*rsa.PublicKey, error) {
	n, err := decodeBase64URL(raw.N)
	if err != nil {
		return nil, fmt.Errorf("modulus: %w", err)
	}
	modulus := new(big.Int).SetBytes(n)
	if bits := modulus.BitLen(); bits < jwksMinRSABits || bits > jwksMaxRSABits {
		return nil, fmt.Errorf("RSA modulus of %d bits outside [%d, %d]", bits, jwksMinRSABits, jwksMaxRSABits)
	}
	e, err := decodeBase64URL(raw.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("RSA exponent is not 1 to 4 bytes of base64url")
	}
	exponent := int(new(big.Int).SetBytes(e).Int64())
	if exponent < 3 || exponent%2 == 0 || exponent > 1<<31-1 {
		return nil, fmt.Errorf("RSA exponent %d is not odd and at least 3", exponent)
	}
	return &rsa.PublicKey{N: modulus, E: exponent}, nil
}

func parseECWebKey(raw rawJSONWebKey) (*ecdsa.PublicKey, error) {
	var curve elliptic.Curve
	switch raw.Curve {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	case "P-521":
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("unsupported curve %.16q", raw.Curve)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, errX := decodeBase64URL(raw.X)
	y, errY := decodeBase64URL(raw.Y)
	if errX != nil || errY != nil || len(x) != size || len(y) != size {
		return nil, fmt.Errorf("EC coordinates are not %d bytes of base64url", size)
	}
	point := make([]byte, 0, 1+2*size)
	point = append(point, 4) // Uncompressed point encoding (SEC 1).
	point = append(point, x...)
	point = append(point, y...)
	// Refuses points off the curve, which invalid-curve attacks rely on.
	key, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("EC point: %w", err)
	}
	return key, nil
}

// decodeBase64URL decodes base64url as JWKs use it: unpadded, though some
// providers pad.
func decodeBase64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
