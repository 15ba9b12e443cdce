package kafkastore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// errMalformed marks a record value that is not what its key calls for.
// Such records are skipped, as Kafka's stores skip them (with a log line):
// they are data from the topic, not a reason to stop.
var errMalformed = errors.New("malformed record")

// marshalJSON encodes v as Kafka's JsonConverter writes values with
// schemas.enable=false: compact, struct fields in declaration order (the
// stores declare them in the order of Kafka's schemas), and '<', '>' and
// '&' written as themselves, as Jackson does.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// jsonObject is a record value as Kafka's stores see it after the
// schemaless JsonConverter: a map whose fields they look up by exact name
// and check one by one. (Go's decoding into structs would match names
// regardless of case, which Kafka does not.)
type jsonObject map[string]json.RawMessage

// decodeObject decodes a value that must be a JSON object.
func decodeObject(b []byte) (jsonObject, error) {
	var o jsonObject
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if o == nil {
		return nil, fmt.Errorf("%w: %.64q is not a JSON object", errMalformed, b)
	}
	return o, nil
}

// str returns the named field when it is a JSON string.
func (o jsonObject) str(name string) (string, bool) {
	raw, ok := o[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// isNull reports whether the named field is missing or JSON null, which
// Kafka's stores do not tell apart.
func (o jsonObject) isNull(name string) bool {
	raw, ok := o[name]
	return !ok || string(raw) == "null"
}

// integer returns the named field when it is an integral JSON number in
// range: what Kafka's converter gives as a Long. 1.0 and 1e0 are doubles
// to Kafka, and so not integers here either.
func (o jsonObject) integer(name string, bits int) (int64, bool) {
	raw, ok := o[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, bits)
	return n, err == nil
}

// boolean returns the named field when it is true or false.
func (o jsonObject) boolean(name string) (value, ok bool) {
	switch string(o[name]) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// stringMap returns the named field when it is an object of strings, as
// a connector's properties are. A null property is left out: Kafka's
// configs read a null value as unset.
func (o jsonObject) stringMap(name string) (map[string]string, error) {
	raw, ok := o[name]
	if !ok {
		return nil, fmt.Errorf("%w: no %q field", errMalformed, name)
	}
	inner, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("field %q: %w", name, err)
	}
	out := make(map[string]string, len(inner))
	for k := range inner {
		if inner.isNull(k) {
			continue
		}
		s, ok := inner.str(k)
		if !ok {
			return nil, fmt.Errorf("%w: field %q: property %q is not a string", errMalformed, name, k)
		}
		out[k] = s
	}
	return out, nil
}
