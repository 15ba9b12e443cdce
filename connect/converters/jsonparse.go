package converters

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON reader. encoding/json does not fit: Kafka's reader (Jackson,
// with ALLOW_LEADING_ZEROS_FOR_NUMBERS) takes numbers such as 0012 that
// encoding/json refuses, and the order of an object's members must be kept
// for schema parameters, which Kafka keeps in insertion order. The reader
// is strict otherwise (RFC 8259): no comments, no trailing data, valid
// UTF-8, no raw control characters in strings.
//
// Bounds: a value nests at most maxDepth deep, and everything it allocates
// is proportional to the input, so a hostile record costs no more than its
// size.

// maxDepth is Jackson's default nesting limit (StreamReadConstraints), so
// that fjord reads whatever Kafka reads.
const maxDepth = 1000

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

var kindNames = [...]string{"null", "boolean", "number", "string", "array", "object"}

func (k jsonKind) String() string { return kindNames[k] }

// jsonValue is one parsed JSON value.
type jsonValue struct {
	kind    jsonKind
	boolean bool
	text    string // a string's contents or a number's literal
	elems   []*jsonValue
	members []jsonMember // in input order; keys may repeat
}

type jsonMember struct {
	key   string
	value *jsonValue
}

// get returns the member called key (the last one if it repeats, as
// Jackson keeps the last), or nil.
func (v *jsonValue) get(key string) *jsonValue {
	for i := len(v.members) - 1; i >= 0; i-- {
		if v.members[i].key == key {
			return v.members[i].value
		}
	}
	return nil
}

// integral reports whether a number is written without fraction or
// exponent, as Jackson tells integers from floating point numbers.
func (v *jsonValue) integral() bool {
	return v.kind == jsonNumber && !strings.ContainsAny(v.text, ".eE")
}

var errSyntax = errors.New("invalid JSON")

type jsonParser struct {
	data []byte
	pos  int
}

// parseJSON reads one JSON value that fills data, white space aside.
func parseJSON(data []byte) (*jsonValue, error) {
	p := &jsonParser{data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errorf("data after the JSON value")
	}
	return v, nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (*jsonValue, error) {
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.string()
		return &jsonValue{kind: jsonString, text: s}, err
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case p.literal("true"):
		return &jsonValue{kind: jsonBool, boolean: true}, nil
	case p.literal("false"):
		return &jsonValue{kind: jsonBool}, nil
	case p.literal("null"):
		return &jsonValue{kind: jsonNull}, nil
	}
	return nil, p.errorf("unexpected character %q", p.data[p.pos])
}

func (p *jsonParser) literal(word string) bool {
	if bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *jsonParser) object(depth int) (*jsonValue, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested deeper than %d", maxDepth)
	}
	v := &jsonValue{kind: jsonObject}
	p.pos++ // {
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("expected a member name")
		}
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("expected ':'")
		}
		p.pos++
		p.skipSpace()
		member, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		v.members = append(v.members, jsonMember{key: key, value: member})
		if done, err := p.endOfList('}'); done || err != nil {
			return v, err
		}
	}
}

func (p *jsonParser) array(depth int) (*jsonValue, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested deeper than %d", maxDepth)
	}
	v := &jsonValue{kind: jsonArray}
	p.pos++ // [
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		elem, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, elem)
		if done, err := p.endOfList(']'); done || err != nil {
			return v, err
		}
	}
}

// endOfList reads the ',' between items or the closing delimiter.
func (p *jsonParser) endOfList(closing byte) (bool, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, p.errorf("unexpected end of input")
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.errorf("expected ',' or %q", closing)
}

// number reads -?digits(.digits)?([eE][+-]?digits)?, leading zeros allowed.
func (p *jsonParser) number() (*jsonValue, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if !p.digits() {
		return nil, p.errorf("malformed number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if !p.digits() {
			return nil, p.errorf("malformed number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if !p.digits() {
			return nil, p.errorf("malformed number")
		}
	}
	return &jsonValue{kind: jsonNumber, text: string(p.data[start:p.pos])}, nil
}

func (p *jsonParser) digits() bool {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos > start
}

// string reads a string literal at p.pos and returns its contents.
func (p *jsonParser) string() (string, error) {
	p.pos++ // opening quote
	var b strings.Builder
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			b.Write(p.data[start:p.pos])
			p.pos++
			return b.String(), nil
		case c == '\\':
			b.Write(p.data[start:p.pos])
			if err := p.escape(&b); err != nil {
				return "", err
			}
			start = p.pos
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errorf("invalid UTF-8")
			}
			p.pos += size
		}
	}
	return "", p.errorf("unterminated string")
}

// escape reads one escape sequence at p.pos, a backslash, into b.
func (p *jsonParser) escape(b *strings.Builder) error {
	if p.pos+1 >= len(p.data) {
		return p.errorf("unterminated escape")
	}
	c := p.data[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		b.WriteByte(c)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return p.errorf("malformed \\u escape")
		}
		if utf16.IsSurrogate(r) {
			// A pair of escapes makes one rune; a lone half of a pair
			// cannot be UTF-8 and becomes U+FFFD.
			save := p.pos
			if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
				p.pos += 2
				if low, ok := p.hex4(); ok && utf16.DecodeRune(r, low) != utf8.RuneError {
					b.WriteRune(utf16.DecodeRune(r, low))
					return nil
				}
			}
			p.pos = save
			r = utf8.RuneError
		}
		b.WriteRune(r)
	default:
		return p.errorf("invalid escape \\%c", c)
	}
	return nil
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}
