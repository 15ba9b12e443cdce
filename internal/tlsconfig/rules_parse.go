package tlsconfig

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ruleParser walks an ssl.principal.mapping.rules value (see rules.go for
// the grammar). Every step consumes input, so parsing is linear.
type ruleParser struct {
	text string
	pos  int
}

// isJavaSpace is Java's regex \s, which Kafka's rule splitter uses.
func isJavaSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\x0b' || c == '\f' || c == '\r'
}

// trimJava is Java's String.trim: it drops every char up to ' '.
func trimJava(s string) string {
	start, end := 0, len(s)
	for start < end && s[start] <= ' ' {
		start++
	}
	for end > start && s[end-1] <= ' ' {
		end--
	}
	return s[start:end]
}

func (p *ruleParser) skipSpace() {
	for p.pos < len(p.text) && isJavaSpace(p.text[p.pos]) {
		p.pos++
	}
}

// next returns the next rule, or false at the end. Empty rules are skipped.
func (p *ruleParser) next() (mappingRule, bool, error) {
	for {
		p.skipSpace()
		if p.pos >= len(p.text) {
			return mappingRule{}, false, nil
		}
		if p.text[p.pos] != ',' {
			break
		}
		p.pos++
	}
	start := p.pos
	var rule mappingRule
	switch rest := p.text[p.pos:]; {
	case strings.HasPrefix(rest, "RULE:"):
		var err error
		if rule, err = p.parseRule(); err != nil {
			return mappingRule{}, false, err
		}
	case strings.HasPrefix(rest, "DEFAULT"):
		p.pos += len("DEFAULT")
		rule = mappingRule{isDefault: true}
	default:
		return mappingRule{}, false, fmt.Errorf("invalid rule %q: expected DEFAULT or RULE:pattern/replacement/[LU]", p.upToComma(start))
	}
	ruleEnd := p.pos
	p.skipSpace()
	if p.pos < len(p.text) {
		if p.text[p.pos] != ',' {
			return mappingRule{}, false, fmt.Errorf("invalid rule %q: unexpected %q after it", p.text[start:ruleEnd], p.upToComma(ruleEnd))
		}
		p.pos++
	}
	return rule, true, nil
}

// upToComma returns the text from start to the next comma, for errors.
func (p *ruleParser) upToComma(start int) string {
	end := strings.IndexByte(p.text[start:], ',')
	if end < 0 {
		return p.text[start:]
	}
	return p.text[start : start+end]
}

func (p *ruleParser) parseRule() (mappingRule, error) {
	start := p.pos
	p.pos += len("RULE:")
	pattern, err := p.part(start)
	if err != nil {
		return mappingRule{}, err
	}
	replacement, err := p.part(start)
	if err != nil {
		return mappingRule{}, err
	}
	rule := mappingRule{}
	if p.pos < len(p.text) {
		switch p.text[p.pos] {
		case 'L':
			rule.caseChange = toLower
			p.pos++
		case 'U':
			rule.caseChange = toUpper
			p.pos++
		}
	}
	invalid := func(err error) (mappingRule, error) {
		return mappingRule{}, fmt.Errorf("invalid rule %q: %w", p.text[start:p.pos], err)
	}
	if rule.pattern, rule.whole, err = compilePattern(pattern); err != nil {
		return invalid(err)
	}
	if rule.replacement, err = parseReplacement(replacement, rule.pattern); err != nil {
		return invalid(err)
	}
	return rule, nil
}

// part reads a pattern or replacement up to its unescaped closing "/",
// keeping escapes as written: Kafka hands both to Java's regex and
// replacement parsers unchanged, and "\/" means "/" to each.
func (p *ruleParser) part(ruleStart int) (string, error) {
	start := p.pos
	for p.pos < len(p.text) {
		switch c := p.text[p.pos]; c {
		case '/':
			part := p.text[start:p.pos]
			p.pos++
			return part, nil
		case '\\':
			r, size := utf8.DecodeRuneInString(p.text[p.pos+1:])
			if size == 0 || isLineTerminator(r) {
				return "", fmt.Errorf("invalid rule %q: a backslash must escape a character on the same line", p.upToComma(ruleStart))
			}
			p.pos += 1 + size
		default:
			p.pos++
		}
	}
	return "", fmt.Errorf("invalid rule %q: expected RULE:pattern/replacement/[LU] (write \"/\" inside them as \"\\/\")", p.text[ruleStart:])
}

// isLineTerminator is what Java's "." does not match.
func isLineTerminator(r rune) bool {
	return r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029'
}

// replacementPart is literal text (group < 0) or a capture group reference.
type replacementPart struct {
	literal string
	group   int
}

// parseReplacement reads Java's replacement syntax (Matcher.appendReplacement)
// with Kafka's literal treatment of "$n" beyond the group count.
func parseReplacement(text string, pattern *regexp.Regexp) ([]replacementPart, error) {
	groups := pattern.NumSubexp()
	var parts []replacementPart
	var literal strings.Builder
	flush := func() {
		if literal.Len() > 0 {
			parts = append(parts, replacementPart{literal: literal.String(), group: -1})
			literal.Reset()
		}
	}
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == '\\':
			if i+1 == len(text) {
				return nil, fmt.Errorf("replacement %q ends with an unescaped backslash", text)
			}
			_, size := utf8.DecodeRuneInString(text[i+1:])
			literal.WriteString(text[i+1 : i+1+size])
			i += 1 + size
		case c == '$' && i+1 < len(text) && text[i+1] == '{':
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("replacement %q: ${ without }", text)
			}
			name := text[i+2 : i+end]
			index := pattern.SubexpIndex(name)
			if name == "" || index < 0 {
				return nil, fmt.Errorf("replacement %q: no group named %q", text, name)
			}
			flush()
			parts = append(parts, replacementPart{group: index})
			i += end + 1
		case c == '$' && i+1 < len(text) && isDigit(text[i+1]):
			group := int(text[i+1] - '0')
			if group > groups {
				if groups == 0 {
					return nil, fmt.Errorf("replacement %q refers to group %d but the pattern has no groups", text, group)
				}
				// Kafka escapes a reference past the group count: literal.
				literal.WriteString(text[i : i+2])
				i += 2
				continue
			}
			i += 2
			// Java takes further digits while they still name a group.
			for i < len(text) && isDigit(text[i]) {
				next := group*10 + int(text[i]-'0')
				if next > groups {
					break
				}
				group = next
				i++
			}
			flush()
			parts = append(parts, replacementPart{group: group})
		case c == '$':
			return nil, fmt.Errorf("replacement %q: \"$\" must be followed by a group number or {name} (write \\$ for a dollar)", text)
		default:
			literal.WriteByte(c)
			i++
		}
	}
	flush()
	return parts, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// replacementString writes parts back in Java's syntax, so that parsing
// it again gives the same parts.
func replacementString(parts []replacementPart) string {
	var b strings.Builder
	afterGroup := false
	for _, part := range parts {
		if part.group >= 0 {
			b.WriteString("$" + strconv.Itoa(part.group))
			afterGroup = true
			continue
		}
		// Byte by byte: every escaped character is ASCII, and other bytes,
		// even invalid UTF-8, go back unchanged.
		for i := 0; i < len(part.literal); i++ {
			c := part.literal[i]
			// A digit right after "$n" would extend the reference.
			if c == '\\' || c == '$' || c == '/' || (afterGroup && isDigit(c)) {
				b.WriteByte('\\')
			}
			afterGroup = false
			b.WriteByte(c)
		}
	}
	return b.String()
}

// replaceAll is Java's String.replaceAll with parsed parts: every
// leftmost-first match is replaced, unmatched groups expand to nothing.
func replaceAll(pattern *regexp.Regexp, s string, parts []replacementPart) string {
	var b strings.Builder
	last := 0
	for _, match := range pattern.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:match[0]])
		for _, part := range parts {
			if part.group < 0 {
				b.WriteString(part.literal)
			} else if start := match[2*part.group]; start >= 0 {
				b.WriteString(s[start:match[2*part.group+1]])
			}
		}
		last = match[1]
	}
	b.WriteString(s[last:])
	return b.String()
}
