package clientconf

import (
	"fmt"
	"io"
	"os"

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
