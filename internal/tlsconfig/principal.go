package tlsconfig

import (
	"crypto/tls"
	"fmt"
)

// AnonymousPrincipal is Kafka's principal for a connection without a client
// certificate (KafkaPrincipal.ANONYMOUS).
const AnonymousPrincipal = "User:ANONYMOUS"

// PrincipalFromState returns "User:<name>" for the client certificate of a
// finished handshake, where name is the subject in Java's RFC 2253 form
// mapped through rules (nil rules means DEFAULT). ok is false when the client
// sent no certificate; Kafka then uses AnonymousPrincipal. An error means the
// subject cannot be formatted or no rule applies; Kafka fails the
// authentication in both cases, and the caller should close the connection.
func PrincipalFromState(cs tls.ConnectionState, rules *MappingRules) (principal string, ok bool, err error) {
	if len(cs.PeerCertificates) == 0 {
		return "", false, nil
	}
	dn, err := PrincipalName(cs.PeerCertificates[0].RawSubject)
	if err != nil {
		return "", false, err
	}
	name := dn
	if rules != nil {
		if name, err = rules.Map(dn); err != nil {
			return "", false, fmt.Errorf("map client certificate subject: %w", err)
		}
	}
	return "User:" + name, true, nil
}
