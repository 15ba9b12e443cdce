package tlsconfig

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"os"
	"strings"
	"testing"
)

// Attribute OIDs used in the tables.
var (
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidL      = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidST     = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidStreet = asn1.ObjectIdentifier{2, 5, 4, 9}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidDC     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidUID    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidEmail  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// av is one attribute with an explicit ASN.1 string tag.
type av struct {
	oid   asn1.ObjectIdentifier
	tag   int
	value []byte
}

func utf8AV(oid asn1.ObjectIdentifier, s string) av {
	return av{oid: oid, tag: asn1.TagUTF8String, value: []byte(s)}
}

func printableAV(oid asn1.ObjectIdentifier, s string) av {
	return av{oid: oid, tag: asn1.TagPrintableString, value: []byte(s)}
}

// encodeName builds a DER Name from RDNs given first to last, as encoded.
func encodeName(t testing.TB, rdns ...[]av) []byte {
	t.Helper()
	var seq []rawRDNSET
	for _, rdn := range rdns {
		var set rawRDNSET
		for _, a := range rdn {
			set = append(set, rawAttribute{Type: a.oid, Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: a.tag, Bytes: a.value}})
		}
		seq = append(seq, set)
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatalf("marshal name: %v", err)
	}
	return der
}

func one(a av) []av { return []av{a} }

// dnCases pairs subjects with what Java 17's X500Principal.getName() prints
// for them (checked with a JDK: new X500Principal(der).getName()).
func dnCases(t testing.TB) []struct {
	name string
	der  []byte
	want string
} {
	return []struct {
		name string
		der  []byte
		want string
	}{
		{"classic", encodeName(t, one(printableAV(oidC, "US")), one(utf8AV(oidO, "Sun Microsystems")), one(utf8AV(oidOU, "JavaSoft")), one(utf8AV(oidCN, "Duke"))),
			"CN=Duke,OU=JavaSoft,O=Sun Microsystems,C=US"},
		{"specials", encodeName(t, one(utf8AV(oidCN, `a,b+c"d\e<f>g;h`))), `CN=a\,b\+c\"d\\e\<f\>g\;h`},
		{"hash and equals", encodeName(t, one(utf8AV(oidCN, "#a=b#"))), `CN=\#a\=b\#`},
		{"leading spaces", encodeName(t, one(utf8AV(oidCN, "  ab"))), `CN=\ \ ab`},
		{"trailing spaces", encodeName(t, one(utf8AV(oidCN, "ab  "))), `CN=ab\ \ `},
		{"inner spaces kept", encodeName(t, one(utf8AV(oidCN, "a  b"))), `CN=a  b`},
		{"only spaces", encodeName(t, one(utf8AV(oidCN, "   "))), `CN=\ \ \ `},
		{"carriage return edges", encodeName(t, one(utf8AV(oidCN, "\rx\r"))), "CN=\\\rx\\\r"},
		{"newline not escaped", encodeName(t, one(utf8AV(oidCN, "a\nb"))), "CN=a\nb"},
		{"empty value", encodeName(t, one(utf8AV(oidCN, ""))), `CN=`},
		{"nul", encodeName(t, one(utf8AV(oidCN, "a\x00b"))), `CN=a\00b`},
		{"non-ASCII", encodeName(t, one(utf8AV(oidCN, "Zoë Ærø"))), "CN=Zoë Ærø"},
		{"multi-valued RDN", encodeName(t, one(utf8AV(oidO, "org")), []av{utf8AV(oidCN, "alice"), utf8AV(oidUID, "u1")}),
			"CN=alice+UID=u1,O=org"},
		{"multi-valued RDN with OID", encodeName(t, []av{utf8AV(oidOU, "x"), printableAV(oidSerial, "42")}),
			"OU=x+2.5.4.5=#13023432"},
		{"keywords", encodeName(t, one(utf8AV(oidDC, "com")), one(utf8AV(oidDC, "example")), one(utf8AV(oidST, "CA")), one(utf8AV(oidL, "SF")), one(utf8AV(oidStreet, "1 Main St"))),
			"STREET=1 Main St,L=SF,ST=CA,DC=example,DC=com"},
		{"email as OID", encodeName(t, one(av{oid: oidEmail, tag: asn1.TagIA5String, value: []byte("a@b.c")}), one(utf8AV(oidCN, "x"))),
			"CN=x,1.2.840.113549.1.9.1=#16056140622e63"},
		{"IA5 and T61 CN as text", encodeName(t, one(av{oid: oidCN, tag: asn1.TagIA5String, value: []byte("ia5")}), one(av{oid: oidOU, tag: asn1.TagT61String, value: []byte("t61")})),
			"OU=t61,CN=ia5"},
		{"BMPString read as UTF-8", encodeName(t, one(av{oid: oidCN, tag: asn1.TagBMPString, value: []byte{0, 'a', 0, 'b'}})), `CN=\00a\00b`},
		{"invalid UTF-8", encodeName(t, one(av{oid: oidCN, tag: asn1.TagUTF8String, value: []byte{'a', 0xff, 'b'}})), "CN=a\uFFFDb"},
		{"non-string CN", encodeName(t, one(av{oid: oidCN, tag: asn1.TagInteger, value: []byte{5}})), "CN=#020105"},
		{"unknown OID", encodeName(t, one(utf8AV(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, "v"))), "1.3.6.1.4.1.99999.1=#0c0176"},
		{"empty name", encodeName(t), ""},
	}
}

func TestPrincipalNameMatchesJava(t *testing.T) {
	for _, tc := range dnCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PrincipalName(tc.der)
			if err != nil {
				t.Fatalf("PrincipalName: %v", err)
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestDumpDNCases writes the table's DER in hex for checking against a JDK:
// FJORD_DN_DUMP=/tmp/dn.txt go test -run TestDumpDNCases.
func TestDumpDNCases(t *testing.T) {
	path := os.Getenv("FJORD_DN_DUMP")
	if path == "" {
		t.Skip("FJORD_DN_DUMP not set")
	}
	var b strings.Builder
	for _, tc := range dnCases(t) {
		b.WriteString(tc.name + "\t" + hexString(tc.der) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestPrincipalNameOfPkixName(t *testing.T) {
	// pkix.Name encodes RDNs C, O, OU, ..., CN in that order, one per RDN.
	name := pkix.Name{Country: []string{"US"}, Organization: []string{"Org, Inc."}, CommonName: "svc"}
	der, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	got, err := PrincipalName(der)
	if err != nil {
		t.Fatal(err)
	}
	if want := `CN=svc,O=Org\, Inc.,C=US`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPrincipalNameRejectsGarbage(t *testing.T) {
	for _, der := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x31, 0x00, 0x00}, append(encodeName(t), 0)} {
		if _, err := PrincipalName(der); err == nil {
			t.Errorf("PrincipalName(%x) succeeded", der)
		}
	}
}
