package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Config is a connector's or a task's configuration: Kafka's
// Map<String, String>. It decodes as Kafka's JSON mapper does, so that
// request bodies a Kafka worker accepts are accepted here: a number or a
// boolean becomes its text ("tasks.max": 1 is "1"); an object, an array
// or a null is refused.
type Config map[string]string

// UnmarshalJSON decodes a JSON object of scalars.
func (c *Config) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		*c = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	out := make(Config, len(raw))
	for key, value := range raw {
		text, isNull, err := scalarText(value)
		if err != nil {
			return fmt.Errorf("config %q: %w", key, err)
		}
		if isNull {
			return fmt.Errorf("config %q: value is null", key)
		}
		out[key] = text
	}
	*c = out
	return nil
}

// ConfigPatch is the body of PATCH /connectors/{name}/config (KIP-477):
// keys to set, and keys to remove (a nil value, null in the JSON).
type ConfigPatch map[string]*string

// UnmarshalJSON decodes a JSON object of scalars and nulls.
func (p *ConfigPatch) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		*p = nil
		return nil
	}
	out := make(ConfigPatch, len(raw))
	for key, value := range raw {
		text, isNull, err := scalarText(value)
		if err != nil {
			return fmt.Errorf("config %q: %w", key, err)
		}
		if isNull {
			out[key] = nil
			continue
		}
		out[key] = &text
	}
	*p = out
	return nil
}

// scalarText returns the text of a JSON string, number or boolean, and
// whether the value is null.
func scalarText(value json.RawMessage) (text string, isNull bool, err error) {
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) == 0 {
		return "", false, errors.New("empty value")
	}
	switch trimmed[0] {
	case '"':
		err = json.Unmarshal(trimmed, &text)
		return text, false, err
	case 'n':
		return "", true, nil
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		// Already validated JSON: the literal's text is the value, as
		// Jackson's string coercion gives it.
		return string(trimmed), false, nil
	default:
		return "", false, errors.New("value is not a string, number or boolean")
	}
}

// readBody reads a request's body, at most limitBytes of it.
func readBody(w http.ResponseWriter, r *http.Request, limitBytes int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limitBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &Error{Kind: ErrRequestTooLarge,
			Message: fmt.Sprintf("Request body is larger than %d bytes", tooLarge.Limit)}
	}
	if err != nil {
		return nil, BadRequestf("Cannot read request body: %v", err)
	}
	return body, nil
}

// decodeBody decodes one JSON value from body into v, refusing an empty
// body and anything after the value. Numbers in untyped places decode as
// json.Number.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return BadRequestf("Request body is missing")
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	if err := decoder.Decode(v); err != nil {
		return &Error{Kind: ErrBadRequest, Message: "Invalid JSON in request body: " + err.Error(), Cause: err}
	}
	if _, err := decoder.Token(); err != io.EOF {
		return BadRequestf("Invalid JSON in request body: unexpected data after the JSON value")
	}
	return nil
}
