package tlsconfig

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMappingRules parses arbitrary rule text and applies it to arbitrary
// names: no panic, and a parsed rule list written back with String parses
// to rules that map the name the same way.
func FuzzMappingRules(f *testing.F) {
	for _, seed := range []struct{ rules, dn string }{
		{"DEFAULT", "CN=a"},
		{"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT", "CN=Duke,OU=ServiceUsers,O=Org,C=US"},
		{"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U", "cn=duke,ou=sme,dc=mycp,dc=com"},
		{`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`, `CN=Tkac\, Adam,OU=ITZ`},
		{`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/`, "RULE:,"},
		{"RULE:(a)(b)?/$10${x}\\$/", "ab"},
		{"RULE:^(?P<u>[a-z]+)$/${u}1/", "abc"},
		{",, ,RULE:a|b|ab/[$0]/ ,", "ab"},
		{"RULE:(?=x)/y/", "x"},
		{"RULE:\\", ""},
	} {
		f.Add(seed.rules, seed.dn)
	}
	f.Fuzz(func(t *testing.T, text, dn string) {
		rules, err := ParseMappingRules(text)
		if err != nil {
			return
		}
		name, mapErr := rules.Map(dn)
		again, err := ParseMappingRules(rules.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", rules.String(), text, err)
		}
		name2, mapErr2 := again.Map(dn)
		if name != name2 || (mapErr == nil) != (mapErr2 == nil) {
			t.Fatalf("rules %q map %q to %q/%v, written back %q to %q/%v", text, dn, name, mapErr, rules.String(), name2, mapErr2)
		}
	})
}

// FuzzPrincipalName formats subjects built from arbitrary strings and
// checks the output unescapes back to the attributes, last RDN first.
func FuzzPrincipalName(f *testing.F) {
	for _, seed := range [][4]string{
		{"Duke", "JavaSoft", "Sun Microsystems", "US"},
		{` #lead`, `trail `, `a,b+c"d\e<f>g;h=i`, "\x00"},
		{"", "\r", "Zoë", "#"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, cn, ou, o, street string) {
		for _, s := range []string{cn, ou, o, street} {
			if !utf8.ValidString(s) {
				return // encoding/asn1 refuses to encode it
			}
		}
		name := pkix.Name{
			CommonName:         cn,
			OrganizationalUnit: []string{ou},
			Organization:       []string{o},
			StreetAddress:      []string{street},
		}
		der, err := asn1.Marshal(name.ToRDNSequence())
		if err != nil {
			return
		}
		got, err := PrincipalName(der)
		if err != nil {
			t.Fatalf("PrincipalName: %v", err)
		}
		// ToRDNSequence encodes STREET, O, OU, then CN unless it is empty,
		// one RDN each; Java prints them last first.
		want := []string{"STREET=" + street, "O=" + o, "OU=" + ou}
		if cn != "" {
			want = append(want, "CN="+cn)
		}
		for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
			want[i], want[j] = want[j], want[i]
		}
		if parts := splitUnescape(t, got); strings.Join(parts, "\x01") != strings.Join(want, "\x01") {
			t.Fatalf("PrincipalName = %q, unescaped %q, want %q", got, parts, want)
		}
	})
}

// splitUnescape splits an RFC 2253 string at unescaped ',' and '+' and
// undoes Java's escapes. It checks every special character is escaped.
func splitUnescape(t *testing.T, dn string) []string {
	var parts []string
	var cur strings.Builder
	inValue := false
	for i := 0; i < len(dn); i++ {
		c := dn[i]
		switch {
		case c == '\\':
			if strings.HasPrefix(dn[i+1:], "00") {
				cur.WriteByte(0)
				i += 2
				continue
			}
			if i+1 >= len(dn) {
				t.Fatalf("%q ends with a backslash", dn)
			}
			i++
			cur.WriteByte(dn[i])
		case c == ',' || c == '+':
			parts = append(parts, cur.String())
			cur.Reset()
			inValue = false
		case c == '=' && !inValue:
			cur.WriteByte(c)
			inValue = true
		case strings.IndexByte(`=<>#;"`, c) >= 0 || c == 0:
			t.Fatalf("unescaped %q in %q", c, dn)
		default:
			cur.WriteByte(c)
		}
	}
	if dn != "" {
		parts = append(parts, cur.String())
	}
	return parts
}

// FuzzPrincipalNameDER feeds arbitrary bytes as a subject: errors are
// fine, panics are not.
func FuzzPrincipalNameDER(f *testing.F) {
	f.Add(encodeName(f, one(printableAV(oidC, "US")), []av{utf8AV(oidCN, "a"), utf8AV(oidUID, "b")}))
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x05, 0x31, 0x03, 0x30, 0x01, 0x06})
	f.Fuzz(func(t *testing.T, der []byte) {
		_, _ = PrincipalName(der)
	})
}
