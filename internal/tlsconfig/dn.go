package tlsconfig

import (
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The subject string Kafka maps is Java's X500Principal.getName(), the RFC
// 2253 form as the JDK writes it (sun.security.x509.AVA.toRFC2253String):
//
//   - RDNs from the last in the certificate to the first, joined by ",";
//     the attributes of a multi-valued RDN in encoded order, joined by "+".
//   - Types CN, C, L, ST, O, OU, STREET, DC and UID by keyword; every other
//     type (emailAddress, serialNumber, title ...) as its dotted OID.
//   - A value of a dotted-OID type, or of a non-string ASN.1 type, is "#"
//     and the lower-case hex of its whole DER encoding (tag and length too).
//   - Otherwise the value bytes are read as UTF-8 whatever the string type
//     (so a BMPString shows NULs and a T61String's Latin-1 shows U+FFFD:
//     Java does the same), ',' '=' '+' '<' '>' '#' ';' '"' and '\' anywhere
//     get a backslash, NUL becomes "\00", and each leading or trailing space
//     or CR gets a backslash. Nothing else is escaped.
//
// The RDN structure comes from the certificate's raw subject, because
// pkix.Name flattens multi-valued RDNs and re-encodes values.

// maxSubjectAttributes bounds the work on a hostile certificate; real
// subjects have under a dozen.
const maxSubjectAttributes = 256

var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// ASN.1 universal string tags Java renders as text (AVA.isDerString).
var textTags = map[int]bool{
	asn1.TagUTF8String:      true,
	asn1.TagPrintableString: true,
	asn1.TagT61String:       true,
	asn1.TagIA5String:       true,
	27:                      true, // GeneralString
	asn1.TagBMPString:       true,
}

type rawAttribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rawRDNSET is one RelativeDistinguishedName; the SET suffix makes
// encoding/asn1 expect a SET OF.
type rawRDNSET []rawAttribute

// PrincipalName formats a DER-encoded Name (x509.Certificate.RawSubject) as
// Java's X500Principal.getName() does.
func PrincipalName(rawSubject []byte) (string, error) {
	var rdns []rawRDNSET
	rest, err := asn1.Unmarshal(rawSubject, &rdns)
	if err != nil {
		return "", fmt.Errorf("parse certificate subject: %w", err)
	}
	if len(rest) != 0 {
		return "", errors.New("parse certificate subject: trailing data")
	}
	count := 0
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if len(rdns[i]) == 0 {
			return "", errors.New("parse certificate subject: empty RDN")
		}
		if i < len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, attr := range rdns[i] {
			if count++; count > maxSubjectAttributes {
				return "", fmt.Errorf("certificate subject has more than %d attributes", maxSubjectAttributes)
			}
			if j > 0 {
				b.WriteByte('+')
			}
			writeAttribute(&b, attr)
		}
	}
	return b.String(), nil
}

func writeAttribute(b *strings.Builder, attr rawAttribute) {
	oid := attr.Type.String()
	keyword, named := rfc2253Keywords[oid]
	if !named {
		keyword = oid
	}
	b.WriteString(keyword)
	b.WriteByte('=')
	v := attr.Value
	if !named || v.Class != asn1.ClassUniversal || v.IsCompound || !textTags[v.Tag] {
		b.WriteByte('#')
		b.WriteString(hex.EncodeToString(v.FullBytes))
		return
	}
	b.WriteString(escapeValue(v.Bytes))
}

// escapeValue applies Java's RFC 2253 value escaping to the value bytes.
func escapeValue(value []byte) string {
	var escaped []rune
	for len(value) > 0 {
		r, size := utf8.DecodeRune(value)
		value = value[size:]
		switch {
		case strings.ContainsRune(`,=+<>#;"\`, r):
			escaped = append(escaped, '\\', r)
		case r == 0:
			escaped = append(escaped, '\\', '0', '0')
		default:
			escaped = append(escaped, r) // RuneError for bad UTF-8, as Java's decoder
		}
	}
	lead := 0
	for lead < len(escaped) && isEdgeSpace(escaped[lead]) {
		lead++
	}
	trail := len(escaped) - 1
	for trail >= 0 && isEdgeSpace(escaped[trail]) {
		trail--
	}
	var b strings.Builder
	for i, r := range escaped {
		if i < lead || i > trail {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isEdgeSpace(r rune) bool { return r == ' ' || r == '\r' }
