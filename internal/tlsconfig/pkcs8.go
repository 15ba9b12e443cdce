package tlsconfig

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

// Encrypted PKCS#8 keys (RFC 8018 PBES2) are what Kafka's PEM key stores
// hold when ssl.key.password is set, and what "openssl pkcs8 -topk8" writes
// by default (PBKDF2 with HMAC-SHA256, AES-256-CBC). The standard library
// has every primitive (crypto/pbkdf2 since Go 1.24), so fjord decrypts PBES2
// itself. The older PBES1 schemes (PBE-MD5-DES and friends, and PKCS#12's
// PBE-SHA1-3DES) are refused: they are weak and need primitives the standard
// library does not expose.

var (
	oidPBES2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC   = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	errWrongKeyPass = errors.New("cannot decrypt the private key: wrong " + PropKeyPassword + " or corrupt key")
)

// maxPBKDF2Iterations bounds the work a key file can ask for at startup.
// OpenSSL writes 2048 and Java 10000; a million is already ~1 s of CPU.
const maxPBKDF2Iterations = 10_000_000

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm     algorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc algorithmIdentifier
	EncryptionScheme  algorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                 `asn1:"optional"`
	PRF            algorithmIdentifier `asn1:"optional"`
}

// decryptPKCS8 returns the DER of the PKCS#8 PrivateKeyInfo inside an
// EncryptedPrivateKeyInfo.
func decryptPKCS8(der, password []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, errors.New("ENCRYPTED PRIVATE KEY is not a valid EncryptedPrivateKeyInfo")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("private key encryption %s is not supported; re-encrypt with openssl pkcs8 -topk8 -v2 aes-256-cbc", info.Algorithm.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("bad PBES2 parameters: %w", err)
	}
	block, iv, err := newBlockCipher(params.EncryptionScheme, password, params.KeyDerivationFunc)
	if err != nil {
		return nil, err
	}
	data := info.EncryptedData
	if len(data) == 0 || len(data)%block.BlockSize() != 0 {
		return nil, errWrongKeyPass
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	return unpad(plain, block.BlockSize())
}

// newBlockCipher derives the key with PBKDF2 and returns the cipher and IV.
func newBlockCipher(scheme algorithmIdentifier, password []byte, kdf algorithmIdentifier) (cipher.Block, []byte, error) {
	var keyLength int
	var newCipher func([]byte) (cipher.Block, error)
	switch {
	case scheme.Algorithm.Equal(oidAES128CBC):
		keyLength, newCipher = 16, aes.NewCipher
	case scheme.Algorithm.Equal(oidAES192CBC):
		keyLength, newCipher = 24, aes.NewCipher
	case scheme.Algorithm.Equal(oidAES256CBC):
		keyLength, newCipher = 32, aes.NewCipher
	case scheme.Algorithm.Equal(oidDESEDE3CBC):
		keyLength, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, nil, fmt.Errorf("private key cipher %s is not supported (AES-CBC or DES-EDE3-CBC expected)", scheme.Algorithm)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(scheme.Parameters.FullBytes, &iv); err != nil {
		return nil, nil, fmt.Errorf("bad cipher IV: %w", err)
	}
	key, err := deriveKey(kdf, password, keyLength)
	if err != nil {
		return nil, nil, err
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, nil, err
	}
	if len(iv) != block.BlockSize() {
		return nil, nil, fmt.Errorf("cipher IV is %d bytes, want %d", len(iv), block.BlockSize())
	}
	return block, iv, nil
}

func deriveKey(kdf algorithmIdentifier, password []byte, keyLength int) ([]byte, error) {
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("key derivation %s is not supported (PBKDF2 expected)", kdf.Algorithm)
	}
	var params pbkdf2Params
	if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("bad PBKDF2 parameters: %w", err)
	}
	if params.IterationCount < 1 || params.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PBKDF2 iteration count %d is outside [1, %d]", params.IterationCount, maxPBKDF2Iterations)
	}
	if params.KeyLength != 0 && params.KeyLength != keyLength {
		return nil, fmt.Errorf("PBKDF2 key length %d does not match the cipher's %d", params.KeyLength, keyLength)
	}
	var newHash func() hash.Hash
	prf := params.PRF.Algorithm
	switch {
	case len(prf) == 0 || prf.Equal(oidHMACSHA1):
		newHash = sha1.New // RFC 8018's default PRF
	case prf.Equal(oidHMACSHA224):
		newHash = sha256.New224
	case prf.Equal(oidHMACSHA256):
		newHash = sha256.New
	case prf.Equal(oidHMACSHA384):
		newHash = sha512.New384
	case prf.Equal(oidHMACSHA512):
		newHash = sha512.New
	default:
		return nil, fmt.Errorf("PBKDF2 function %s is not supported", prf)
	}
	return pbkdf2.Key(newHash, string(password), params.Salt, params.IterationCount, keyLength)
}

// unpad removes PKCS#7 padding; bad padding almost always means a wrong
// password, so that is what the error says.
func unpad(plain []byte, blockSize int) ([]byte, error) {
	n := int(plain[len(plain)-1])
	if n == 0 || n > blockSize || n > len(plain) {
		return nil, errWrongKeyPass
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			return nil, errWrongKeyPass
		}
	}
	return plain[:len(plain)-n], nil
}
