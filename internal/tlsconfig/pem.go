package tlsconfig

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// maxStoreBytes bounds a key store or trust store file or inline value. A
// trust store of a few hundred CAs is under 1 MiB; anything larger is a
// mistake (or a JKS bundle of something else), not key material.
const maxStoreBytes = 4 << 20

// pemBlock is one decoded PEM entry.
type pemBlock struct {
	label     string
	encrypted bool // legacy OpenSSL encryption header (Proc-Type: 4,ENCRYPTED)
	der       []byte
}

// decodePEM reads every PEM entry in text. It is more lenient than
// encoding/pem in the way Kafka's parser is: an inline property value often
// loses its line breaks (a .properties line continuation joins lines), so
// the base64 body may contain any whitespace or none, and text outside
// entries is ignored. Header lines ("Name: value") are skipped.
func decodePEM(text []byte) ([]pemBlock, error) {
	if len(text) > maxStoreBytes {
		return nil, fmt.Errorf("PEM data is %d bytes, more than the limit of %d", len(text), maxStoreBytes)
	}
	const begin, dashes = "-----BEGIN ", "-----"
	var blocks []pemBlock
	rest := text
	for {
		start := bytes.Index(rest, []byte(begin))
		if start < 0 {
			return blocks, nil
		}
		rest = rest[start+len(begin):]
		labelEnd := bytes.Index(rest, []byte(dashes))
		if labelEnd < 0 {
			return nil, errors.New("PEM header without closing dashes")
		}
		label := strings.TrimSpace(string(rest[:labelEnd]))
		rest = rest[labelEnd+len(dashes):]
		end := []byte("-----END " + label + dashes)
		bodyEnd := bytes.Index(rest, end)
		if bodyEnd < 0 {
			return nil, fmt.Errorf("PEM entry %q has no END line", label)
		}
		block, err := decodePEMBody(label, rest[:bodyEnd])
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, block)
		rest = rest[bodyEnd+len(end):]
	}
}

func decodePEMBody(label string, body []byte) (pemBlock, error) {
	block := pemBlock{label: label}
	var b64 strings.Builder
	for _, line := range strings.Split(string(body), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok {
			if strings.TrimSpace(name) == "Proc-Type" && strings.Contains(value, "ENCRYPTED") {
				block.encrypted = true
			}
			continue
		}
		for _, r := range line {
			if r != ' ' && r != '\t' && r != '\r' && r != '\f' && r != '\v' {
				b64.WriteRune(r)
			}
		}
	}
	der, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil {
		return pemBlock{}, fmt.Errorf("PEM entry %q: bad base64: %w", label, err)
	}
	block.der = der
	return block, nil
}

// certificatesFrom returns the certificates of every CERTIFICATE entry, in
// order (leaf first for a key store). Other entries are ignored.
func certificatesFrom(blocks []pemBlock) ([]*x509.Certificate, [][]byte, error) {
	var certs []*x509.Certificate
	var raw [][]byte
	for _, block := range blocks {
		if block.label != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.der)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, cert)
		raw = append(raw, block.der)
	}
	if len(certs) == 0 {
		return nil, nil, errors.New("no PEM CERTIFICATE entry found (JKS and PKCS12 stores are not supported; convert to PEM)")
	}
	return certs, raw, nil
}

// privateKeyFrom returns the one private key among blocks. Kafka accepts
// PKCS#8 entries ("PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" with
// ssl.key.password); fjord also reads the traditional unencrypted
// "RSA PRIVATE KEY" and "EC PRIVATE KEY" that openssl often writes.
func privateKeyFrom(blocks []pemBlock, password string, havePassword bool) (crypto.PrivateKey, error) {
	var keys []pemBlock
	for _, block := range blocks {
		if strings.HasSuffix(block.label, "PRIVATE KEY") {
			keys = append(keys, block)
		}
	}
	switch {
	case len(keys) == 0:
		return nil, errors.New("no PEM PRIVATE KEY entry found")
	case len(keys) > 1:
		return nil, fmt.Errorf("expected one private key, found %d", len(keys))
	}
	block := keys[0]
	if block.encrypted {
		return nil, fmt.Errorf("%q uses legacy OpenSSL PEM encryption, which is insecure and not supported; convert it with openssl pkcs8 -topk8 -v2 aes-256-cbc", block.label)
	}
	switch block.label {
	case "ENCRYPTED PRIVATE KEY":
		if !havePassword {
			return nil, fmt.Errorf("the private key is encrypted but %s is not set", PropKeyPassword)
		}
		der, err := decryptPKCS8(block.der, []byte(password))
		if err != nil {
			return nil, err
		}
		return x509.ParsePKCS8PrivateKey(der)
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		if havePassword {
			// Kafka refuses this combination too: a password for a plain
			// key means the operator expected a different file.
			return nil, fmt.Errorf("%s is set but the private key is not encrypted", PropKeyPassword)
		}
	default:
		return nil, fmt.Errorf("unsupported private key entry %q", block.label)
	}
	switch block.label {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.der)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.der)
	}
	return x509.ParsePKCS8PrivateKey(block.der)
}
