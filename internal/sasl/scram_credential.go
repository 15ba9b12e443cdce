package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"math/big"
)

// ScramMechanism is a SCRAM hash family. Its values are Kafka's mechanism
// type codes, as carried by DescribeUserScramCredentials and
// AlterUserScramCredentials.
type ScramMechanism int8

const (
	// ScramSHA256 is SCRAM-SHA-256, type 1.
	ScramSHA256 ScramMechanism = 1
	// ScramSHA512 is SCRAM-SHA-512, type 2.
	ScramSHA512 ScramMechanism = 2
)

// Iteration limits of Kafka's ScramMechanism, the same for both hashes.
const (
	// ScramMinIterations is the fewest PBKDF2 iterations a credential may
	// have; fewer makes offline guessing of a leaked credential cheap.
	ScramMinIterations = 4096
	// ScramMaxIterations is the most; each login's client pays for them.
	ScramMaxIterations = 16384
	// ScramDefaultIterations is what Kafka's tools use when none is given,
	// and what an unknown user is offered.
	ScramDefaultIterations = 4096
	// scramMaxSaltBytes bounds a stored salt, which every server-first
	// message repeats. Kafka's tools make 25-26 byte salts.
	scramMaxSaltBytes = 1024
)

// ErrInvalidScramCredential is wrapped by every credential validation error.
// The broker answers AlterUserScramCredentials with UNACCEPTABLE_CREDENTIAL.
var ErrInvalidScramCredential = errors.New("invalid SCRAM credential")

// String returns the SASL mechanism name, such as "SCRAM-SHA-256".
func (m ScramMechanism) String() string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	default:
		return fmt.Sprintf("SCRAM-UNKNOWN(%d)", int8(m))
	}
}

// ScramMechanismByName returns the mechanism named name, if it is one.
func ScramMechanismByName(name string) (ScramMechanism, bool) {
	switch name {
	case "SCRAM-SHA-256":
		return ScramSHA256, true
	case "SCRAM-SHA-512":
		return ScramSHA512, true
	default:
		return 0, false
	}
}

// Valid reports whether m is a known mechanism.
func (m ScramMechanism) Valid() bool { return m == ScramSHA256 || m == ScramSHA512 }

// KeyBytes is the length of the mechanism's keys and salted password.
func (m ScramMechanism) KeyBytes() int {
	if m == ScramSHA512 {
		return sha512.Size
	}
	return sha256.Size
}

func (m ScramMechanism) newHash() func() hash.Hash {
	if m == ScramSHA512 {
		return sha512.New
	}
	return sha256.New
}

// ScramCredential is what the broker stores for a SCRAM user: enough to
// verify a client's proof and sign the server-final message, but not to
// log in as the user.
type ScramCredential struct {
	Mechanism  ScramMechanism
	Salt       []byte
	StoredKey  []byte // H(HMAC(SaltedPassword, "Client Key"))
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key")
	Iterations int
}

// NewScramCredential derives a credential from a password with a fresh
// random salt, as kafka-configs does.
func NewScramCredential(mechanism ScramMechanism, password string, iterations int) (ScramCredential, error) {
	if err := validateScramParameters(mechanism, iterations); err != nil {
		return ScramCredential{}, err
	}
	random := make([]byte, 17)
	rand.Read(random) // Never fails since Go 1.24.
	salt := kafkaStyleSalt(random)
	salted, err := pbkdf2.Key(mechanism.newHash(), password, salt, iterations, mechanism.KeyBytes())
	if err != nil {
		return ScramCredential{}, fmt.Errorf("derive %s salted password: %w", mechanism, err)
	}
	return ScramCredentialFromSaltedPassword(mechanism, salt, salted, iterations)
}

// ScramCredentialFromSaltedPassword builds the credential from what an
// AlterUserScramCredentials upsertion carries: the salt, the client-computed
// SaltedPassword and the iteration count. The result is validated.
func ScramCredentialFromSaltedPassword(mechanism ScramMechanism, salt, saltedPassword []byte, iterations int) (ScramCredential, error) {
	if err := validateScramParameters(mechanism, iterations); err != nil {
		return ScramCredential{}, err
	}
	if len(saltedPassword) != mechanism.KeyBytes() {
		return ScramCredential{}, fmt.Errorf("%w: %s salted password is %d bytes, want %d",
			ErrInvalidScramCredential, mechanism, len(saltedPassword), mechanism.KeyBytes())
	}
	newHash := mechanism.newHash()
	clientKey := hmacSum(newHash, saltedPassword, []byte("Client Key"))
	storedKey := newHash()
	storedKey.Write(clientKey)
	credential := ScramCredential{
		Mechanism:  mechanism,
		Salt:       append([]byte(nil), salt...),
		StoredKey:  storedKey.Sum(nil),
		ServerKey:  hmacSum(newHash, saltedPassword, []byte("Server Key")),
		Iterations: iterations,
	}
	return credential, credential.Validate()
}

// Validate checks the credential as Kafka does before storing one: a known
// mechanism, iterations within [ScramMinIterations, ScramMaxIterations], a
// salt, and keys as long as the hash.
func (c ScramCredential) Validate() error {
	if err := validateScramParameters(c.Mechanism, c.Iterations); err != nil {
		return err
	}
	if len(c.Salt) == 0 || len(c.Salt) > scramMaxSaltBytes {
		return fmt.Errorf("%w: salt is %d bytes, want 1 to %d", ErrInvalidScramCredential, len(c.Salt), scramMaxSaltBytes)
	}
	if len(c.StoredKey) != c.Mechanism.KeyBytes() || len(c.ServerKey) != c.Mechanism.KeyBytes() {
		return fmt.Errorf("%w: %s keys are %d and %d bytes, want %d", ErrInvalidScramCredential,
			c.Mechanism, len(c.StoredKey), len(c.ServerKey), c.Mechanism.KeyBytes())
	}
	return nil
}

func validateScramParameters(mechanism ScramMechanism, iterations int) error {
	if !mechanism.Valid() {
		return fmt.Errorf("%w: unknown mechanism %d", ErrInvalidScramCredential, int8(mechanism))
	}
	if iterations < ScramMinIterations {
		return fmt.Errorf("%w: %d iterations is less than the minimum %d for %s",
			ErrInvalidScramCredential, iterations, ScramMinIterations, mechanism)
	}
	if iterations > ScramMaxIterations {
		return fmt.Errorf("%w: %d iterations is more than the maximum %d for %s",
			ErrInvalidScramCredential, iterations, ScramMaxIterations, mechanism)
	}
	return nil
}

func hmacSum(newHash func() hash.Hash, key, message []byte) []byte {
	mac := hmac.New(newHash, key)
	mac.Write(message)
	return mac.Sum(nil)
}

// kafkaStyleSalt renders 130 bits of random as base 36, the shape of the
// salts Kafka's tools generate. Real salts made here and the fake salts of
// unknown users share the shape, so a salt's look says nothing about whether
// the user exists.
func kafkaStyleSalt(random []byte) []byte {
	n := new(big.Int).SetBytes(random[:17])
	n.Rsh(n, 17*8-130)
	return []byte(n.Text(36))
}
