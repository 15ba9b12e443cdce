package converters

import (
	"errors"
	"unicode/utf8"
)

// The header parser follows Kafka's Values.Parser and Values.ValueParser
// step by step, quirks included (a peeked token, whitespace tokens skipped
// when a delimiter is expected, rewinding after a failed array or map),
// because which text becomes which value depends on exactly those steps.
// Where fjord differs on purpose, the code says so.

// maxHeaderDepth bounds how deeply arrays and maps nest in a header. Kafka
// has no limit but its thread's stack; Go recursion is cheap, but a bound
// keeps the work per header in proportion to its size and its value within
// connect.ValidateValue's depth. Real headers nest a level or two.
const maxHeaderDepth = 64

// Parse failures: they never leave the package. As in Kafka, a failed
// array or map makes the enclosing one fail too, and the whole header
// then reads as a string.
var (
	errHeaderTooDeep       = errors.New("arrays and maps nested too deeply")
	errHeaderSyntax        = errors.New("malformed array or map")
	errHeaderNotValue      = errors.New("unquoted text inside an array or map")
	errHeaderNullKey       = errors.New("map entry with a null key")
	errHeaderContainerKey  = errors.New("map key is an array or a map, which a Go map cannot hold")
	errHeaderCannotConvert = errors.New("element does not convert to the common schema")
)

// headerTokenizer splits header text as Kafka's Values.Parser: a token is
// one of the delimiters : , { } [ ] " or the run of bytes up to the next
// one; a backslash escapes the byte after it. Working on bytes gives
// Java's tokens, as every delimiter and blank is ASCII.
type headerTokenizer struct {
	text   string
	pos    int    // the next byte to scan
	peek   string // a token read ahead by isNext, when peeked
	peeked bool
}

func isHeaderDelimiter(c byte) bool {
	switch c {
	case ':', ',', '{', '}', '[', ']', '"':
		return true
	}
	return false
}

func (t *headerTokenizer) hasNext() bool { return t.peeked || t.pos < len(t.text) }

// mark is the position of the next token, including one peeked.
func (t *headerTokenizer) mark() int {
	if t.peeked {
		return t.pos - len(t.peek)
	}
	return t.pos
}

func (t *headerTokenizer) rewind(pos int) {
	t.pos, t.peek, t.peeked = pos, "", false
}

func (t *headerTokenizer) next() string {
	if t.peeked {
		token := t.peek
		t.peek, t.peeked = "", false
		return token
	}
	return t.scan()
}

func (t *headerTokenizer) scan() string {
	start, escaped := t.pos, false
	for ; t.pos < len(t.text); t.pos++ {
		c := t.text[t.pos]
		switch {
		case c == '\\':
			escaped = !escaped
			continue
		case isHeaderDelimiter(c) && !escaped:
			if start == t.pos {
				t.pos++
			}
			return t.text[start:t.pos]
		}
		escaped = false
	}
	return t.text[start:t.pos]
}

// isNext peeks at the next token, skipping blank ones that are not the
// last, and reports whether it is expected once trimmed.
func (t *headerTokenizer) isNext(expected string) bool {
	if !t.peeked {
		if !t.hasNext() {
			return false
		}
		t.peek, t.peeked = t.scan(), true
	}
	for isJavaBlank(t.peek) && t.pos < len(t.text) {
		t.peek = t.scan()
	}
	return javaTrim(t.peek) == expected
}

func (t *headerTokenizer) canConsume(expected string) bool {
	if t.isNext(expected) {
		t.peek, t.peeked = "", false
		return true
	}
	return false
}

// nextN returns the text of the next n tokens, or false (consuming
// nothing) when fewer remain.
func (t *headerTokenizer) nextN(n int) (string, bool) {
	start := t.mark()
	for range n {
		if !t.hasNext() {
			t.rewind(start)
			return "", false
		}
		t.next()
	}
	return t.text[start:t.pos], true
}

// javaTrim is Java's String.trim: it drops bytes up to ' ' (controls and
// space) at both ends.
func javaTrim(s string) string {
	for len(s) > 0 && s[0] <= ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] <= ' ' {
		s = s[:len(s)-1]
	}
	return s
}

func isJavaBlank(s string) bool { return javaTrim(s) == "" }

// headerValue is a parsed value with Kafka's schema for it. A nil
// *headerValue is Kafka's null.
type headerValue struct {
	schema *kafkaSchema
	value  any
}

func valueOf(v *headerValue) any {
	if v == nil {
		return nil
	}
	return v.value
}

// headerParser is Kafka's ValueParser.
type headerParser struct {
	tokens headerTokenizer
}

// parse reads the next value; embedded is true inside arrays and maps,
// where strings must be quoted and anything unreadable is an error.
func (p *headerParser) parse(embedded bool, depth int) (*headerValue, error) {
	t := &p.tokens
	switch {
	case !t.hasNext():
		return nil, nil
	case embedded && t.canConsume(`"`):
		return p.parseQuoted()
	case p.literal(embedded, "null"):
		return nil, nil
	case p.literal(embedded, "true"):
		return &headerValue{schema: kafkaBoolean, value: true}, nil
	case p.literal(embedded, "false"):
		return &headerValue{schema: kafkaBoolean, value: false}, nil
	}
	if v, ok := p.parseContainer(depth); ok {
		return v, nil
	}
	token := t.next()
	if isJavaBlank(token) {
		if !embedded {
			// Only after a failed array or map that follows leading
			// whitespace (or for blank text) is the top-level token blank.
			// Kafka then returns the whitespace alone, dropping the rest;
			// fjord returns the whole header, as for other failures.
			return &headerValue{schema: kafkaString, value: t.text}, nil
		}
		return &headerValue{schema: kafkaString, value: token}, nil
	}
	return p.parseToken(embedded, javaTrim(token))
}

// literal consumes null, true or false. At top level the literal must be
// all that is left: "true}" is a string.
func (p *headerParser) literal(embedded bool, literal string) bool {
	t := &p.tokens
	start := t.mark()
	if t.canConsume(literal) && (embedded || !t.hasNext()) {
		return true
	}
	t.rewind(start)
	return false
}

// parseContainer reads an array or a map if one starts here. On failure it
// rewinds, so that the caller reads the opening bracket as a token, which
// is then a string at top level and an error inside another container.
func (p *headerParser) parseContainer(depth int) (*headerValue, bool) {
	t := &p.tokens
	start := t.mark()
	var v *headerValue
	var err error
	switch {
	case t.canConsume("["):
		v, err = p.parseArray(depth + 1)
	case t.canConsume("{"):
		v, err = p.parseMap(depth + 1)
	default:
		return nil, false
	}
	if err != nil {
		t.rewind(start)
		return nil, false
	}
	return v, true
}

func (p *headerParser) parseArray(depth int) (*headerValue, error) {
	if depth > maxHeaderDepth {
		return nil, errHeaderTooDeep
	}
	t := &p.tokens
	elements := []any{}
	var common schemaMerger
	for t.hasNext() {
		if t.canConsume("]") {
			return common.array(elements)
		}
		if t.canConsume(",") {
			return nil, errHeaderSyntax // an empty element
		}
		e, err := p.parse(true, depth)
		if err != nil {
			return nil, err
		}
		common.merge(e)
		elements = append(elements, valueOf(e))
		end := t.mark()
		if t.canConsume("]") {
			t.rewind(end) // consumed by the loop; so [1,] is [1], as in Kafka
		} else if !t.canConsume(",") {
			return nil, errHeaderSyntax
		}
	}
	return nil, errHeaderSyntax // unterminated
}

func (p *headerParser) parseMap(depth int) (*headerValue, error) {
	if depth > maxHeaderDepth {
		return nil, errHeaderTooDeep
	}
	t := &p.tokens
	var entries headerEntries
	var keys, values schemaMerger
	for t.hasNext() {
		if t.canConsume("}") {
			return entries.build(&keys, &values)
		}
		if t.canConsume(",") {
			return nil, errHeaderSyntax // an empty entry
		}
		k, err := p.parse(true, depth)
		if err != nil {
			return nil, err
		}
		if k == nil {
			return nil, errHeaderNullKey
		}
		if !t.canConsume(":") {
			return nil, errHeaderSyntax
		}
		v, err := p.parse(true, depth)
		if err != nil {
			return nil, err
		}
		if err := entries.put(k.value, valueOf(v)); err != nil {
			return nil, err
		}
		t.canConsume(",") // Kafka lets the comma out where tokens part anyway
		keys.merge(k)
		values.merge(v)
	}
	return nil, errHeaderSyntax // unterminated
}

// parseQuoted reads a string after its opening quote, up to the next
// unescaped quote. Kafka joins the tokens up to that quote, skipping blank
// ones, and keeps the escapes; fjord takes the text as it is and undoes the
// two escapes its writer (and Kafka's) makes, so that strings read back as
// written. A quoted date, time or timestamp is one, as in Kafka.
func (p *headerParser) parseQuoted() (*headerValue, error) {
	t := &p.tokens
	escaped := false
	for i := t.pos; i < len(t.text); i++ {
		c := t.text[i]
		if c == '"' && !escaped {
			raw := t.text[t.pos:i]
			t.pos = i + 1
			if v := parseTemporal(raw); v != nil {
				return v, nil
			}
			return &headerValue{schema: kafkaString, value: unescapeHeaderString(raw)}, nil
		}
		escaped = c == '\\' && !escaped
	}
	// Unterminated: nothing is left to close the enclosing array or map,
	// which Kafka then rejects.
	return nil, errHeaderSyntax
}

// unescapeHeaderString turns \\ into \ and \" into ", the inverse of the
// writer's escaping; other backslashes stay, as Kafka keeps them.
func unescapeHeaderString(raw string) string {
	i := 0
	for i < len(raw) && raw[i] != '\\' {
		i++
	}
	if i == len(raw) {
		return raw
	}
	out := make([]byte, 0, len(raw))
	out = append(out, raw[:i]...)
	for ; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) && (raw[i+1] == '\\' || raw[i+1] == '"') {
			i++
		}
		out = append(out, raw[i])
	}
	return string(out)
}

// parseToken reads an unquoted token: a date, time or timestamp, a number,
// or (at top level only) the whole header as a string.
func (p *headerParser) parseToken(embedded bool, token string) (*headerValue, error) {
	first, _ := utf8.DecodeRuneInString(token)
	digit := isJavaDigit(first)
	if digit {
		if v := p.parseTemporalTokens(token); v != nil {
			return v, nil
		}
	}
	if digit || first == '+' || first == '-' {
		if v, ok := parseHeaderNumber(token); ok {
			return v, nil
		}
	}
	if embedded {
		return nil, errHeaderNotValue
	}
	return &headerValue{schema: kafkaString, value: p.tokens.text}, nil
}

// parseTemporalTokens tries token with the four tokens after it, as an
// unescaped time or timestamp is split at its colons, then token alone.
func (p *headerParser) parseTemporalTokens(token string) *headerValue {
	t := &p.tokens
	at := t.mark()
	if rest, ok := t.nextN(4); ok {
		if v := parseTemporal(token + rest); v != nil {
			return v
		}
	}
	t.rewind(at)
	return parseTemporal(token)
}
