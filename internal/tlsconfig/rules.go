package tlsconfig

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// ssl.principal.mapping.rules (KIP-371), as Kafka's SslPrincipalMapper
// reads it:
//
//	rules   = rule *("," rule)        ; whitespace around rules is ignored,
//	                                  ; empty rules (",,") are skipped
//	rule    = "DEFAULT" / "RULE:" pattern "/" replacement "/" ["L" / "U"]
//
// pattern and replacement may contain commas; a "/" inside them is written
// "\/" and a backslash escapes any character. A rule applies when its
// pattern matches the whole distinguished name; the name is then rewritten
// with Java's String.replaceAll(pattern, replacement) and optionally lower-
// or upper-cased. DEFAULT returns the name unchanged. The first rule that
// applies wins. When none applies Kafka fails the authentication
// (SslPrincipalMapper.NoMatchingRule), and so does fjord: ErrNoMatchingRule.
// The default rule list is "DEFAULT".
//
// Differences from Kafka, all refused at parse time with an error where
// Kafka would accept the rule:
//   - Patterns are Go (RE2) regular expressions. Java constructs RE2 lacks
//     (lookaround, backreferences, possessive quantifiers, atomic groups,
//     \Z, \G, class intersection "&&") are refused with an error naming
//     the construct. Character classes such as \w, \d and \s are ASCII in
//     both; "." excludes only "\n" in Go but all line terminators in Java.
//   - Replacement syntax is Java's: "$n" group references (digits taken
//     while they name an existing group; a first digit above the group
//     count is literal text, as Kafka escapes it), "${name}", "\x" for a
//     literal x. A "$" not followed by a digit or "{", a trailing "\", a
//     "$n" in a pattern without groups and an unknown "${name}" make Java
//     throw at the first matching name; fjord refuses them up front.
//   - A line terminator after a rule, a rule text Kafka would silently skip
//     past, is an error here.
//   - Go's replaceAll skips an empty match right after a previous match
//     where Java's does not: for a pattern that can match the empty string
//     at the end of the name (RULE:.*/x/ gives "xx" in Java) the results
//     differ. Anchored patterns ("^...$"), the usual form, are unaffected.

// Limits on rule text: an operator writes a handful of short rules; the
// bounds keep parsing and matching cheap whatever the input.
const (
	maxRulesBytes       = 64 << 10
	maxRules            = 256
	maxPrincipalDNBytes = 64 << 10
)

// ErrNoMatchingRule is returned when no mapping rule applies to a name.
var ErrNoMatchingRule = errors.New("no ssl.principal.mapping.rules rule applies")

// MappingRules is a parsed ssl.principal.mapping.rules value. It is
// immutable and safe for concurrent use.
type MappingRules struct {
	rules []mappingRule
}

type caseChange byte

const (
	keepCase caseChange = iota
	toLower
	toUpper
)

type mappingRule struct {
	isDefault   bool
	pattern     *regexp.Regexp // as written, for replaceAll
	whole       *regexp.Regexp // \A(?:pattern)\z, for Java's Matcher.matches()
	replacement []replacementPart
	caseChange  caseChange
}

// ParseMappingRules parses an ssl.principal.mapping.rules value. "" (or
// only whitespace) means Kafka's default, "DEFAULT": Kafka reads an
// explicitly empty value as no rules at all, failing every certificate,
// which is never what an operator means. A value of only commas is a list
// of no rules, as in Kafka.
func ParseMappingRules(text string) (*MappingRules, error) {
	if len(text) > maxRulesBytes {
		return nil, fmt.Errorf("mapping rules are %d bytes, more than the limit of %d", len(text), maxRulesBytes)
	}
	text = trimJava(text)
	if text == "" {
		return &MappingRules{rules: []mappingRule{{isDefault: true}}}, nil
	}
	p := ruleParser{text: text}
	var rules []mappingRule
	for {
		rule, ok, err := p.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if len(rules) == maxRules {
			return nil, fmt.Errorf("more than %d mapping rules", maxRules)
		}
		rules = append(rules, rule)
	}
	return &MappingRules{rules: rules}, nil
}

// Map returns the mapped name of a distinguished name (without "User:").
func (m *MappingRules) Map(dn string) (string, error) {
	if len(dn) > maxPrincipalDNBytes {
		return "", fmt.Errorf("distinguished name of %d bytes is over the limit of %d", len(dn), maxPrincipalDNBytes)
	}
	for _, rule := range m.rules {
		if name, ok := rule.apply(dn); ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w to %q", ErrNoMatchingRule, dn)
}

func (r mappingRule) apply(dn string) (string, bool) {
	if r.isDefault {
		return dn, true
	}
	// Java's matches() asks whether any match spans the whole name, which
	// is not the same as the leftmost-first match spanning it ("a|ab" on
	// "ab"); the anchored copy answers exactly that.
	if !r.whole.MatchString(dn) {
		return "", false
	}
	result := replaceAll(r.pattern, dn, r.replacement)
	switch r.caseChange {
	case toLower:
		result = strings.ToLower(result)
	case toUpper:
		result = strings.ToUpper(result)
	}
	return result, true
}

// String writes the rules back in Kafka's syntax, for logs. A list of no
// rules (",") writes as "," because "" would mean DEFAULT.
func (m *MappingRules) String() string {
	if len(m.rules) == 0 {
		return ","
	}
	parts := make([]string, len(m.rules))
	for i, r := range m.rules {
		if r.isDefault {
			parts[i] = "DEFAULT"
			continue
		}
		parts[i] = "RULE:" + r.pattern.String() + "/" + replacementString(r.replacement) + "/" + [...]string{"", "L", "U"}[r.caseChange]
	}
	return strings.Join(parts, ",")
}

// compilePattern compiles a rule's pattern with RE2 and turns RE2's
// refusals of Java syntax into errors that say what to change.
func compilePattern(pattern string) (*regexp.Regexp, *regexp.Regexp, error) {
	if strings.Contains(pattern, "&&") {
		return nil, nil, fmt.Errorf("pattern %q: Java character class intersection (&&) is not supported by Go regular expressions", pattern)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, nil, explainSyntaxError(pattern, err)
	}
	whole, err := regexp.Compile(`\A(?:` + pattern + `)\z`)
	if err != nil {
		return nil, nil, explainSyntaxError(pattern, err)
	}
	return re, whole, nil
}

// explainSyntaxError names the Java construct behind an RE2 refusal.
func explainSyntaxError(pattern string, err error) error {
	var syntaxErr *syntax.Error
	if !errors.As(err, &syntaxErr) {
		return fmt.Errorf("pattern %q: %w", pattern, err)
	}
	hint := ""
	switch expr := syntaxErr.Expr; {
	case strings.HasPrefix(expr, "(?=") || strings.HasPrefix(expr, "(?!") || strings.HasPrefix(expr, "(?<=") || strings.HasPrefix(expr, "(?<!"):
		hint = "lookahead and lookbehind are Java-only"
	case strings.HasPrefix(expr, "(?>"):
		hint = "atomic groups are Java-only"
	case syntaxErr.Code == syntax.ErrInvalidEscape && len(expr) == 2 && expr[1] >= '1' && expr[1] <= '9':
		hint = "backreferences are Java-only"
	case syntaxErr.Code == syntax.ErrInvalidEscape && (expr == `\Z` || expr == `\G`):
		hint = `use \z or $ instead of Java's \Z and \G`
	case syntaxErr.Code == syntax.ErrInvalidRepeatOp && strings.HasSuffix(expr, "+"):
		hint = "possessive quantifiers are Java-only"
	}
	if hint != "" {
		return fmt.Errorf("pattern %q: %v (%s; Go regular expressions are RE2)", pattern, syntaxErr, hint)
	}
	return fmt.Errorf("pattern %q: %w (Go regular expressions are RE2)", pattern, syntaxErr)
}
