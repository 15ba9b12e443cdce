package clientconf

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/fjordhq/fjord/internal/config"
)

// MaxPropertiesBytes bounds a properties file: a client's configuration
// is a few kilobytes, so anything near this is the wrong file.
const MaxPropertiesBytes = config.MaxPropertiesBytes

// ReadProperties reads Kafka's .properties format from r: "key=value",
// "key: value" or "key value" lines; # and ! comment lines; a line ending
// in an odd number of backslashes continues on the next; the escapes \t
// \n \r \f \uXXXX and a backslash before any other character (\: \= \#
// \\ and \ followed by a space); whitespace around keys and values
// trimmed; a repeated key keeps its last value. Input over
// MaxPropertiesBytes is refused with config.ErrPropertiesTooLarge.
//
// The parser is config.LoadProperties, which also reads the broker's
// server.properties: one implementation of the format.
func ReadProperties(r io.Reader) (map[string]string, error) {
	return config.LoadProperties(r)
}

// LoadProperties reads the properties file at path, as ReadProperties
// does. Errors name the file.
func LoadProperties(path string) (map[string]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	defer file.Close()
	props, err := ReadProperties(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return props, nil
}

// WriteProperties writes props to w in the format ReadProperties reads,
// one "key=value" line per property in key order, escaped so that reading
// the output gives props back (except trailing blanks of a value, which
// Kafka trims).
func WriteProperties(w io.Writer, props map[string]string) error {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(props)) {
		b.WriteString(escapeProperty(k, true))
		b.WriteByte('=')
		b.WriteString(escapeProperty(props[k], false))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeProperty escapes what the reader would otherwise take for
// something else: backslashes and control characters anywhere, a key's
// spaces and separator and comment characters, a value's leading space.
// Unlike java.util.Properties.store it leaves non-ASCII as UTF-8, and the
// ':' and '=' of a value (a host:port) as they are.
func escapeProperty(s string, key bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == ' ' && (key || i == 0):
			b.WriteString(`\ `)
		case c == '\\' || key && strings.IndexByte(`=:#!`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
