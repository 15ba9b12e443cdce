package kafkastore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// offsetKey is an offsets topic key taken apart.
type offsetKey struct {
	// canonical is the key re-encoded with sorted object fields: two
	// keys naming the same source partition have the same canonical
	// form, whatever order the writer's map gave its fields (a Java
	// worker's HashMap order is not Go's sorted one).
	canonical string
	// connector is the key's first element; partitioned is whether the
	// key is [connector, {partition}], the form Kafka lists a connector's
	// partitions from. Other keys are kept but belong to no connector.
	connector   string
	partitioned bool
}

// parseOffsetKey decodes a key of the offsets topic. Numbers keep their
// literal form (1 and 1.0 are different partitions, as in Kafka, where one
// is a Long and the other a Double).
func parseOffsetKey(b []byte) (offsetKey, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return offsetKey{}, fmt.Errorf("%w: offset key %.64q: %w", errMalformed, b, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return offsetKey{}, fmt.Errorf("%w: offset key %.64q has trailing data", errMalformed, b)
	}
	canonical, err := marshalJSON(v)
	if err != nil {
		return offsetKey{}, fmt.Errorf("%w: offset key %.64q: %w", errMalformed, b, err)
	}
	k := offsetKey{canonical: string(canonical)}
	if parts, ok := v.([]any); ok && len(parts) == 2 {
		name, isString := parts[0].(string)
		_, isObject := parts[1].(map[string]any)
		if isString && isObject {
			k.connector, k.partitioned = name, true
		}
	}
	return k, nil
}

// checkOffsetValue accepts what a writer may put: nil (delete) or a JSON
// object.
func checkOffsetValue(b []byte) error {
	if b == nil {
		return nil
	}
	var o map[string]json.RawMessage
	if err := json.Unmarshal(b, &o); err != nil || o == nil {
		return fmt.Errorf("offset value %.64q is not a JSON object", b)
	}
	return nil
}
