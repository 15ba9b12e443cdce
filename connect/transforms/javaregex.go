package transforms

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fjordhq/fjord/connect"
)

// javaPattern is a regular expression used as Java's Pattern is by Kafka's
// transforms: matches() tests the whole input, replaceFirst() replaces the
// first match. The syntax is Go's RE2.
type javaPattern struct {
	find  *regexp.Regexp // unanchored, for replaceFirst
	whole *regexp.Regexp // anchored at both ends, for matches
}

// compileJavaPattern compiles expr, refusing what RE2 refuses.
func compileJavaPattern(expr string) (*javaPattern, error) {
	find, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	// expr compiled alone, so it closes every group it opens and the
	// wrapping cannot change its meaning.
	whole, err := regexp.Compile(`\A(?:` + expr + `)\z`)
	if err != nil {
		return nil, err
	}
	return &javaPattern{find: find, whole: whole}, nil
}

// regexValidator is Kafka's RegexValidator.
func regexValidator() connect.Validator {
	return connect.ValidatorFunc(func(_ string, value any) error {
		s, ok := value.(string)
		if !ok {
			return nil
		}
		if _, err := compileJavaPattern(s); err != nil {
			return errors.New("Invalid regex: " + err.Error())
		}
		return nil
	})
}

// javaReplacement is a replacement string of Java's Matcher: literal text
// and group references.
type javaReplacement []replacementPart

type replacementPart struct {
	literal string
	group   int // -1 for literal text
}

// parseJavaReplacement reads a replacement as Java's
// Matcher.appendReplacement does, for a pattern with groups groups and the
// group names given (index i names group i): "\x" is x, "$n" is group n
// (further digits are taken while the number stays a group), "${name}" is
// a named group. It refuses what Java would refuse when replacing.
func parseJavaReplacement(repl string, groups int, names []string) (javaReplacement, error) {
	var out javaReplacement
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, replacementPart{literal: lit.String(), group: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(repl); {
		switch repl[i] {
		case '\\':
			if i+1 >= len(repl) {
				return nil, errors.New("character to be escaped is missing")
			}
			_, size := utf8.DecodeRuneInString(repl[i+1:])
			lit.WriteString(repl[i+1 : i+1+size])
			i += 1 + size
		case '$':
			group, next, err := groupReference(repl, i+1, groups, names)
			if err != nil {
				return nil, err
			}
			flush()
			out = append(out, replacementPart{group: group})
			i = next
		default:
			lit.WriteByte(repl[i])
			i++
		}
	}
	flush()
	return out, nil
}

// groupReference reads the group after a '$' at i.
func groupReference(repl string, i, groups int, names []string) (int, int, error) {
	if i >= len(repl) {
		return 0, 0, errors.New("Illegal group reference: group index is missing")
	}
	if repl[i] == '{' {
		end := strings.IndexByte(repl[i:], '}')
		if end < 0 {
			return 0, 0, errors.New("named capturing group is missing trailing '}'")
		}
		name := repl[i+1 : i+end]
		if name == "" {
			return 0, 0, errors.New("named capturing group has 0 length name")
		}
		for g, n := range names {
			if n == name && g > 0 {
				return g, i + end + 1, nil
			}
		}
		return 0, 0, fmt.Errorf("No group with name {%s}", name)
	}
	if repl[i] < '0' || repl[i] > '9' {
		return 0, 0, errors.New("Illegal group reference")
	}
	group := int(repl[i] - '0')
	i++
	for i < len(repl) && repl[i] >= '0' && repl[i] <= '9' {
		next := group*10 + int(repl[i]-'0')
		if next > groups {
			break
		}
		group = next
		i++
	}
	if group > groups {
		return 0, 0, errors.New("No group " + strconv.Itoa(group))
	}
	return group, i, nil
}

// replaceFirst replaces the first match of p in s with repl, as Java's
// Matcher.replaceFirst. A group that did not take part in the match adds
// nothing.
func (p *javaPattern) replaceFirst(s string, repl javaReplacement) string {
	m := p.find.FindStringSubmatchIndex(s)
	if m == nil {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:m[0]])
	for _, part := range repl {
		if part.group < 0 {
			b.WriteString(part.literal)
		} else if start, end := m[2*part.group], m[2*part.group+1]; start >= 0 {
			b.WriteString(s[start:end])
		}
	}
	b.WriteString(s[m[1]:])
	return b.String()
}
