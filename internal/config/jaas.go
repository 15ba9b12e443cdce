package config

import (
	"fmt"
	"strings"
)

// JAASEntry is one login module of a sasl.jaas.config value:
//
//	org.apache.kafka.common.security.plain.PlainLoginModule required
//	    username="admin" password="admin-secret" user_alice="alice-secret";
//
// fjord reads only the options (PLAIN's user_NAME="password" entries); the
// class is never loaded, whatever it names (CVE-2023-25194).
type JAASEntry struct {
	LoginModule string
	Flag        string // required, requisite, sufficient or optional
	Options     map[string]string
}

// maxJAASBytes bounds a value parsed; configs are small.
const maxJAASBytes = 1 << 20

// ParseJAAS parses a sasl.jaas.config value holding one login module.
// Values are quoted strings (with \" and \\ escapes) or bare words.
func ParseJAAS(v string) (JAASEntry, error) {
	if len(v) > maxJAASBytes {
		return JAASEntry{}, fmt.Errorf("%w: sasl.jaas.config of %d bytes", ErrInvalidConfig, len(v))
	}
	s := jaasScanner{in: v}
	e := JAASEntry{Options: map[string]string{}}
	e.LoginModule = s.word()
	e.Flag = s.word()
	switch e.Flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return JAASEntry{}, fmt.Errorf("%w: sasl.jaas.config: login module %q needs a flag (required, requisite, sufficient or optional), not %q",
			ErrInvalidConfig, e.LoginModule, e.Flag)
	}
	for {
		s.skipSpace()
		if s.eat(';') {
			break
		}
		key := s.word()
		if key == "" || !s.eat('=') {
			return JAASEntry{}, fmt.Errorf("%w: sasl.jaas.config: expected key=value or ';' at byte %d", ErrInvalidConfig, s.pos)
		}
		value, err := s.value()
		if err != nil {
			return JAASEntry{}, fmt.Errorf("%w: sasl.jaas.config: option %s: %v", ErrInvalidConfig, key, err)
		}
		e.Options[key] = value
	}
	s.skipSpace()
	if s.pos != len(s.in) {
		return JAASEntry{}, fmt.Errorf("%w: sasl.jaas.config: only one login module is supported; text after ';'", ErrInvalidConfig)
	}
	return e, nil
}

type jaasScanner struct {
	in  string
	pos int
}

func (s *jaasScanner) skipSpace() {
	for s.pos < len(s.in) && strings.IndexByte(" \t\r\n", s.in[s.pos]) >= 0 {
		s.pos++
	}
}

func (s *jaasScanner) eat(c byte) bool {
	s.skipSpace()
	if s.pos < len(s.in) && s.in[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// word reads up to a space, '=', ';' or quote.
func (s *jaasScanner) word() string {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.in) && strings.IndexByte(" \t\r\n=;\"", s.in[s.pos]) < 0 {
		s.pos++
	}
	return s.in[start:s.pos]
}

func (s *jaasScanner) value() (string, error) {
	s.skipSpace()
	if s.pos >= len(s.in) || s.in[s.pos] != '"' {
		w := s.word()
		if w == "" {
			return "", fmt.Errorf("empty value")
		}
		return w, nil
	}
	s.pos++
	var b strings.Builder
	for s.pos < len(s.in) {
		c := s.in[s.pos]
		s.pos++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if s.pos >= len(s.in) {
				return "", fmt.Errorf("escape at the end")
			}
			c = s.in[s.pos]
			s.pos++
		}
		b.WriteByte(c)
	}
	return "", fmt.Errorf("unterminated quoted value")
}
