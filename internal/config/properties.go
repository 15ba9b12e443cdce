package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxPropertiesBytes bounds a properties file: a broker's configuration is a
// few kilobytes, so anything near this is a mistake, not a config.
const MaxPropertiesBytes = 4 << 20

// ErrPropertiesTooLarge is returned when a properties file exceeds MaxPropertiesBytes.
var ErrPropertiesTooLarge = errors.New("properties file too large")

// LoadProperties reads the subset of Java's .properties format that Kafka's
// server.properties files use: "key=value", "key: value" or "key value"
// lines; lines starting with # or ! are comments; whitespace around keys and
// before values is trimmed; a line ending in an odd number of backslashes
// continues on the next line (whose leading whitespace is dropped); \t \n \r
// \f \uXXXX and backslash-escaped characters are unescaped. A repeated key
// keeps its last value, as java.util.Properties does.
func LoadProperties(r io.Reader) (map[string]string, error) {
	scanner := bufio.NewScanner(io.LimitReader(r, MaxPropertiesBytes+1))
	scanner.Buffer(make([]byte, 0, 4096), MaxPropertiesBytes+1)
	props := make(map[string]string)
	var logical strings.Builder
	continuing := false
	read, lineNo := 0, 0
	for scanner.Scan() {
		raw := scanner.Text()
		lineNo++
		read += len(raw) + 1
		if read > MaxPropertiesBytes {
			return nil, fmt.Errorf("%w: over %d bytes", ErrPropertiesTooLarge, MaxPropertiesBytes)
		}
		line := strings.TrimLeft(raw, " \t\f")
		if !continuing && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if continuesOnNextLine(line) {
			logical.WriteString(line[:len(line)-1])
			continuing = true
			continue
		}
		logical.WriteString(line)
		continuing = false
		if err := addProperty(props, logical.String()); err != nil {
			return nil, fmt.Errorf("properties line %d: %w", lineNo, err)
		}
		logical.Reset()
	}
	if err := scanner.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: a line is over %d bytes", ErrPropertiesTooLarge, MaxPropertiesBytes)
		}
		return nil, fmt.Errorf("reading properties: %w", err)
	}
	if continuing {
		if err := addProperty(props, logical.String()); err != nil {
			return nil, fmt.Errorf("properties line %d: %w", lineNo, err)
		}
	}
	return props, nil
}

// continuesOnNextLine reports whether line ends with an odd number of
// backslashes: an even number is escaped backslashes.
func continuesOnNextLine(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func addProperty(props map[string]string, line string) error {
	keyEnd := len(line)
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' {
			i++
			continue
		}
		if line[i] == '=' || line[i] == ':' || line[i] == ' ' || line[i] == '\t' || line[i] == '\f' {
			keyEnd = i
			break
		}
	}
	rest := strings.TrimLeft(line[keyEnd:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	key, err := unescape(line[:keyEnd])
	if err != nil {
		return err
	}
	value, err := unescape(rest)
	if err != nil {
		return fmt.Errorf("value of %s: %w", key, err)
	}
	// Java keeps trailing spaces in values; Kafka trims config values when
	// parsing, and trailing blanks in a file are never intended, so trim.
	props[key] = strings.TrimRight(value, " \t\f")
	return nil
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", errors.New(`malformed \uXXXX escape`)
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", errors.New(`malformed \uXXXX escape`)
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
