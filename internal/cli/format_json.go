package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The JSON form of a record, printed by `fjord consume --format json` and
// read by `fjord produce --format json`, one object a line:
//
//	{"topic":"orders","partition":0,"offset":42,"timestamp":1700000000000,
//	 "key":"alice","value":"{\"total\":3}",
//	 "headers":[{"key":"source","value":"web"}]}
//
// timestamp is in milliseconds since the Unix epoch. A key or value, of the
// record or of a header, is a JSON string holding the bytes when they are
// valid UTF-8; otherwise it holds them in standard base64 (with padding)
// and the object says so with "key_encoding":"base64" or
// "value_encoding":"base64" beside it. A null key or value is JSON null.
// Headers keep their order, and a key may repeat, as in Kafka.
//
// On input topic, partition, timestamp, key, value and headers may each be
// absent (null key or value, the partitioner's choice, the time of
// producing); offset is accepted and ignored, so that consumed records can
// be produced again; any other field is an error.
const (
	// FormatJSON is the --format of consume and produce that selects JSON.
	FormatJSON = "json"
	// encodingBase64 is the only value of a *_encoding field.
	encodingBase64 = "base64"
)

// jsonRecord is one record in JSON. Pointers tell null from empty.
type jsonRecord struct {
	Topic         string       `json:"topic,omitempty"`
	Partition     *int32       `json:"partition,omitempty"`
	Offset        *int64       `json:"offset,omitempty"`
	Timestamp     *int64       `json:"timestamp,omitempty"`
	Key           *string      `json:"key"`
	KeyEncoding   string       `json:"key_encoding,omitempty"`
	Value         *string      `json:"value"`
	ValueEncoding string       `json:"value_encoding,omitempty"`
	Headers       []jsonHeader `json:"headers"`
}

// jsonHeader is one record header in JSON.
type jsonHeader struct {
	Key           *string `json:"key"`
	KeyEncoding   string  `json:"key_encoding,omitempty"`
	Value         *string `json:"value"`
	ValueEncoding string  `json:"value_encoding,omitempty"`
}

// encodeBytes is the JSON form of a key or value: nil for null, the text
// itself when valid UTF-8, else base64 and the encoding that says so.
func encodeBytes(b []byte) (text *string, encoding string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, encodingBase64
}

// decodeBytes is the inverse of encodeBytes; field names the JSON field
// for errors.
func decodeBytes(text *string, encoding, field string) ([]byte, error) {
	switch encoding {
	case "":
		if text == nil {
			return nil, nil
		}
		return []byte(*text), nil
	case encodingBase64:
		if text == nil {
			return nil, nil
		}
		b, err := base64.StdEncoding.DecodeString(*text)
		if err != nil {
			return nil, fmt.Errorf("%s is not valid base64: %w", field, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s_encoding %q is not %q (leave it out for UTF-8 text)", field, encoding, encodingBase64)
}

// appendJSONRecord appends r as one JSON object and a newline.
func appendJSONRecord(dst []byte, r *kgo.Record) []byte {
	partition, offset, timestamp := r.Partition, r.Offset, r.Timestamp.UnixMilli()
	j := jsonRecord{Topic: r.Topic, Partition: &partition, Offset: &offset, Timestamp: &timestamp,
		Headers: make([]jsonHeader, 0, len(r.Headers))}
	j.Key, j.KeyEncoding = encodeBytes(r.Key)
	j.Value, j.ValueEncoding = encodeBytes(r.Value)
	for _, h := range r.Headers {
		var jh jsonHeader
		jh.Key, jh.KeyEncoding = encodeBytes([]byte(h.Key))
		jh.Value, jh.ValueEncoding = encodeBytes(h.Value)
		j.Headers = append(j.Headers, jh)
	}
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // '<' stays '<': the output is read by people and programs, not browsers
	if err := enc.Encode(j); err != nil {
		// Every field is a string, number or slice of them: Encode cannot
		// fail.
		panic(fmt.Sprintf("encoding a record as JSON: %v", err))
	}
	return buf.Bytes()
}

// parseJSONRecord reads one input line of `fjord produce --format json`.
// The record's Topic is the line's topic, "" when it has none;
// partitionGiven tells a partition 0 from none.
func parseJSONRecord(line []byte) (r *kgo.Record, partitionGiven bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var j jsonRecord
	if err := dec.Decode(&j); err != nil {
		return nil, false, describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false, errors.New("more than one JSON object, or text after it, on the line")
	}
	r = &kgo.Record{Topic: j.Topic}
	if r.Key, err = decodeBytes(j.Key, j.KeyEncoding, "key"); err != nil {
		return nil, false, err
	}
	if r.Value, err = decodeBytes(j.Value, j.ValueEncoding, "value"); err != nil {
		return nil, false, err
	}
	if j.Partition != nil {
		if *j.Partition < 0 || *j.Partition > maxPartitions {
			return nil, false, fmt.Errorf("partition must be between 0 and %d, got %d", maxPartitions, *j.Partition)
		}
		r.Partition = *j.Partition
	}
	if j.Timestamp != nil {
		if *j.Timestamp < 0 {
			return nil, false, fmt.Errorf("timestamp must not be negative, got %d", *j.Timestamp)
		}
		r.Timestamp = time.UnixMilli(*j.Timestamp)
	}
	if len(j.Headers) > maxHeaders {
		return nil, false, fmt.Errorf("more than %d headers", maxHeaders)
	}
	for i, h := range j.Headers {
		if h.Key == nil {
			return nil, false, fmt.Errorf("header %d has no key", i)
		}
		key, err := decodeBytes(h.Key, h.KeyEncoding, fmt.Sprintf("header %d key", i))
		if err != nil {
			return nil, false, err
		}
		value, err := decodeBytes(h.Value, h.ValueEncoding, fmt.Sprintf("header %d value", i))
		if err != nil {
			return nil, false, err
		}
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: string(key), Value: value})
	}
	return r, j.Partition != nil, nil
}

// describeJSONError words a decoding error for a person reading stdin.
func describeJSONError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("not a JSON object: %v", syntax)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Errorf("field %q must be %s, not a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Errorf("not a JSON object but a JSON %s", typeErr.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("incomplete JSON object")
	}
	return err // "json: unknown field \"x\"" says what it needs to
}

// jsonKind names a Go kind the way the JSON format above does.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string or null"
	case "slice":
		return "an array"
	case "struct":
		return "an object"
	}
	return "an integer"
}
