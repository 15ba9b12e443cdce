package tlsconfig

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMappingRulesValid(t *testing.T) {
	// Rule lists Kafka accepts (SslPrincipalMapperTest), plus splitting
	// corner cases: commas inside patterns, empty rules, whitespace.
	for _, text := range []string{
		"",
		"DEFAULT",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
		"RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
		"RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
		"RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/",
		",   , , ,      , , ,   ",
		",,RULE://,,,DEFAULT,,",
		"  RULE:   /     / ,  DEFAULT  ",
		`RULE:\/\\\(\)\n\t/\/\//`,
		`RULE:\**\/+/*/L,RULE:\/*\**/**/`,
		`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT`,
		"RULE:^CN=(?P<user>[^,]+),.*$/${user}/",
	} {
		if _, err := ParseMappingRules(text); err != nil {
			t.Errorf("ParseMappingRules(%q): %v", text, err)
		}
	}
}

func TestParseMappingRulesSplitting(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"", "DEFAULT"},
		{"  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  ", "RULE:([A-Z]*)/$1/U,RULE:([a-z]+)/$1/,DEFAULT"},
		{"RULE:,RULE:,/,RULE:,\\//U,RULE:,/RULE:,/", `RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/`},
		{",,,", ","},
	} {
		rules, err := ParseMappingRules(tc.text)
		if err != nil {
			t.Fatalf("ParseMappingRules(%q): %v", tc.text, err)
		}
		if got := rules.String(); got != tc.want {
			t.Errorf("ParseMappingRules(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestParseMappingRulesInvalid(t *testing.T) {
	for _, tc := range []struct{ text, wantInError string }{
		// Refused by Kafka too.
		{"default", "expected DEFAULT or RULE"},
		{"DEFAUL", "expected DEFAULT or RULE"},
		{"DEFAULT/L", `unexpected "/L"`},
		{"DEFAULT/U", `unexpected "/U"`},
		{"RULE:CN=(.*?),OU=ServiceUsers.*/$1", "expected RULE:pattern/replacement/"},
		{"rule:^CN=(.*?),OU=ServiceUsers.*$/$1/", "expected DEFAULT or RULE"},
		{"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U", `unexpected "/U"`},
		{"RULE:^CN=(.*?),OU=ServiceUsers.*$/L", "expected RULE:pattern/replacement/"},
		{"RULE:^CN=(.*?),OU=ServiceUsers.*$/LU", "expected RULE:pattern/replacement/"},
		{"RULE:a/b/LU", `unexpected "U"`},
		{"RULE:(/x/", "missing closing )"},
		// Java syntax RE2 lacks.
		{"RULE:^CN=(?=x).*$/x/", "lookahead and lookbehind"},
		{"RULE:^CN=(?<!x).*$/x/", "lookahead and lookbehind"},
		{"RULE:^(a)\\1$/x/", "backreferences"},
		{"RULE:^a*+$/x/", "possessive"},
		{"RULE:^(?>a)$/x/", "atomic groups"},
		{"RULE:^a\\Z/x/", `\Z`},
		{"RULE:^[a-z&&[^b]]$/x/", "intersection"},
		// Replacements Java would throw on at the first match.
		{"RULE:^CN=x$/$1/", "has no groups"},
		{"RULE:^CN=(x)$/$a/", `"$" must be followed`},
		{"RULE:^CN=(x)$/a\\/", "expected RULE:pattern/replacement/"},
		{"RULE:^CN=(x)$/${nope}/", `no group named "nope"`},
		{"RULE:^CN=(x)$/${user/", "${ without }"},
		// Bounds.
		{strings.Repeat("DEFAULT,", maxRules+1), "more than"},
		{strings.Repeat(" ", maxRulesBytes+1), "limit"},
	} {
		_, err := ParseMappingRules(tc.text)
		if err == nil {
			t.Errorf("ParseMappingRules(%.60q) succeeded", tc.text)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantInError) {
			t.Errorf("ParseMappingRules(%.60q) = %v, want it to mention %q", tc.text, err, tc.wantInError)
		}
	}
}

func TestMappingRulesMap(t *testing.T) {
	kafka := strings.Join([]string{
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
		"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
		"DEFAULT",
	}, ", ")
	for _, tc := range []struct{ rules, dn, want string }{
		// SslPrincipalMapperTest's expectations.
		{kafka, "CN=Duke,OU=ServiceUsers,O=Org,C=US", "duke"},
		{kafka, "CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US", "duke@sme"},
		{kafka, "cn=duke,ou=sme,dc=mycp,dc=com", "DUKE@SME"},
		{kafka, "cN=duke,OU=JavaSoft,O=Sun Microsystems", "DUKE"},
		{kafka, "OU=JavaSoft,O=Sun Microsystems,C=US", "OU=JavaSoft,O=Sun Microsystems,C=US"},
		{`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`, `CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz`, `Tkac\, Adam`},
		// Replacement syntax.
		{"RULE:^CN=([^,]+),O=(.*)$/$2:$1/", "CN=a,O=b", "b:a"},
		{"RULE:^CN=([^,]+).*$/$5-$1/", "CN=a,O=b", "$5-a"},  // past the group count: literal
		{"RULE:^CN=([^,]+).*$/$10/", "CN=a,O=b", "a0"},      // $1 then "0"
		{"RULE:^CN=([^,]+).*$/\\$1 $0/", "CN=a", "$1 CN=a"}, // escaped dollar; $0 is the match
		{"RULE:^CN=(?P<user>[^,]+).*$/${user}/U", "CN=bob,O=x", "BOB"},
		{"RULE:^CN=([^,]+)(,OU=(x))?.*$/$1[$3]/", "CN=a,O=b", "a[]"}, // unmatched group: empty
		{`RULE:^CN=([^,]+)\/.*$/$1\/x/`, "CN=a/b", "a/x"},
		// Java's matches() only asks that some match spans the name; then
		// replaceAll replaces each leftmost-first match, here "a" and "b".
		{"RULE:a|b|ab/[$0]/", "ab", "[a][b]"},
	} {
		rules, err := ParseMappingRules(tc.rules)
		if err != nil {
			t.Fatalf("ParseMappingRules(%q): %v", tc.rules, err)
		}
		got, err := rules.Map(tc.dn)
		if err != nil {
			t.Errorf("Map(%q) with %q: %v", tc.dn, tc.rules, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Map(%q) with %q = %q, want %q", tc.dn, tc.rules, got, tc.want)
		}
	}
}

func TestMappingRulesNoMatch(t *testing.T) {
	rules, err := ParseMappingRules("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = rules.Map("CN=x,OU=Other")
	if !errors.Is(err, ErrNoMatchingRule) {
		t.Fatalf("Map = %v, want ErrNoMatchingRule", err)
	}
	empty, err := ParseMappingRules(", ,")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Map("CN=x"); !errors.Is(err, ErrNoMatchingRule) {
		t.Fatalf("Map with no rules = %v, want ErrNoMatchingRule", err)
	}
}
