package converters

import (
	"math"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// kafkaSchema is the schema Kafka's parser gives a value, which can be
// what connect.Schema cannot: an array or map without an element, key or
// value schema (nil here). The parser merges and aligns with these, as
// Kafka does, and only the final one is turned into a connect.Schema.
type kafkaSchema struct {
	typ     connect.Type
	logical string // connect.DateName, TimeName, TimestampName, DecimalName, or ""
	scale   int32  // of a Decimal
	key     *kafkaSchema
	elem    *kafkaSchema // an array's elements or a map's values
}

// The schemas of parsed scalars. Kafka's are all required.
var (
	kafkaInt8      = &kafkaSchema{typ: connect.TypeInt8}
	kafkaInt16     = &kafkaSchema{typ: connect.TypeInt16}
	kafkaInt32     = &kafkaSchema{typ: connect.TypeInt32}
	kafkaInt64     = &kafkaSchema{typ: connect.TypeInt64}
	kafkaFloat32   = &kafkaSchema{typ: connect.TypeFloat32}
	kafkaFloat64   = &kafkaSchema{typ: connect.TypeFloat64}
	kafkaBoolean   = &kafkaSchema{typ: connect.TypeBoolean}
	kafkaString    = &kafkaSchema{typ: connect.TypeString}
	kafkaDate      = &kafkaSchema{typ: connect.TypeInt32, logical: connect.DateName}
	kafkaTime      = &kafkaSchema{typ: connect.TypeInt32, logical: connect.TimeName}
	kafkaTimestamp = &kafkaSchema{typ: connect.TypeInt64, logical: connect.TimestampName}
)

var plainSchemas = map[connect.Type]*connect.Schema{
	connect.TypeInt8: connect.Int8Schema, connect.TypeInt16: connect.Int16Schema,
	connect.TypeInt32: connect.Int32Schema, connect.TypeInt64: connect.Int64Schema,
	connect.TypeFloat32: connect.Float32Schema, connect.TypeFloat64: connect.Float64Schema,
	connect.TypeBoolean: connect.BooleanSchema, connect.TypeString: connect.StringSchema,
}

func (s *kafkaSchema) container() bool {
	return s.typ == connect.TypeArray || s.typ == connect.TypeMap
}

// connectSchema returns the schema as a connect.Schema, or false if it has
// a missing part, which connect.Schema cannot express.
func (s *kafkaSchema) connectSchema() (*connect.Schema, bool) {
	if s == nil {
		return nil, false
	}
	var b *connect.SchemaBuilder
	switch {
	case s.typ == connect.TypeArray:
		elem, ok := s.elem.connectSchema()
		if !ok {
			return nil, false
		}
		b = connect.ArrayOf(elem)
	case s.typ == connect.TypeMap:
		key, keyOK := s.key.connectSchema()
		elem, elemOK := s.elem.connectSchema()
		if !keyOK || !elemOK {
			return nil, false
		}
		b = connect.MapOf(key, elem)
	case s.logical == connect.DecimalName:
		b = connect.DecimalBuilder(s.scale)
	case s.logical == connect.DateName:
		return connect.DateSchema, true
	case s.logical == connect.TimeName:
		return connect.TimeSchema, true
	case s.logical == connect.TimestampName:
		return connect.TimestampSchema, true
	default:
		return plainSchemas[s.typ], true
	}
	schema, err := b.Build()
	return schema, err == nil
}

// schemaMerger is Kafka's SchemaMerger: the schema common to the values
// seen so far, if they have one; nulls do not count.
type schemaMerger struct {
	common       *kafkaSchema
	incompatible bool
}

func (m *schemaMerger) merge(v *headerValue) {
	if v == nil || m.incompatible {
		return
	}
	if m.common == nil {
		m.common = v.schema
		return
	}
	m.common = mergeKafkaSchemas(m.common, v.schema)
	m.incompatible = m.common == nil
}

// mergeKafkaSchemas is Kafka's Values.mergeSchemas for the required
// schemas the parser makes: of two types, numbers widen to the wider (a
// float beats any integer), anything else has no common schema; of one
// type, the later schema wins, whatever its name, element schemas or
// scale. Kafka then converts every value to the winner, which can leave
// values that do not fit it (a date under a Time schema); fjord's final
// check catches those.
func mergeKafkaSchemas(previous, next *kafkaSchema) *kafkaSchema {
	if previous.typ == next.typ {
		return next
	}
	p, pOK := numericRank(previous.typ)
	n, nOK := numericRank(next.typ)
	switch {
	case !pOK || !nOK:
		return nil
	case p > n:
		return previous
	}
	return next
}

// numericRank orders the number types by width.
func numericRank(t connect.Type) (int, bool) {
	switch t {
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64, connect.TypeFloat32, connect.TypeFloat64:
		return int(t), true // the constants are declared in this order
	}
	return 0, false
}

// array builds an array once its elements are read: with the common
// schema, to which every element is converted, or with none.
func (m *schemaMerger) array(elements []any) (*headerValue, error) {
	if m.common == nil {
		return &headerValue{schema: &kafkaSchema{typ: connect.TypeArray}, value: elements}, nil
	}
	for i, e := range elements {
		converted, err := alignHeaderValue(m.common, e)
		if err != nil {
			return nil, err
		}
		elements[i] = converted
	}
	return &headerValue{schema: &kafkaSchema{typ: connect.TypeArray, elem: m.common}, value: elements}, nil
}

// headerEntries are a map's entries in the order read, a key read again
// replacing the earlier value in its place: Kafka's LinkedHashMap, keys
// compared as Java's equals does.
type headerEntries struct {
	keys, values []any
	index        map[any]int // by javaKey
}

// Java's equality of floats and dates differs from Go's ==, and a
// Decimal compares by pointer in Go; these give keys Java's equality.
type (
	javaFloatKey   uint32
	javaDoubleKey  uint64
	javaDateKey    int64
	javaDecimalKey struct {
		unscaled string
		scale    int32
	}
)

func javaKey(k any) (any, error) {
	switch k := k.(type) {
	case float32:
		return javaFloatKey(math.Float32bits(k)), nil
	case float64:
		return javaDoubleKey(math.Float64bits(k)), nil
	case time.Time:
		return javaDateKey(k.UnixMilli()), nil
	case connect.Decimal:
		return javaDecimalKey{unscaled: k.Unscaled.String(), scale: k.Scale}, nil
	case []any, map[any]any:
		return nil, errHeaderContainerKey
	}
	return k, nil
}

func (e *headerEntries) put(k, v any) error {
	jk, err := javaKey(k)
	if err != nil {
		return err
	}
	if i, ok := e.index[jk]; ok {
		e.values[i] = v
		return nil
	}
	if e.index == nil {
		e.index = map[any]int{}
	}
	e.index[jk] = len(e.keys)
	e.keys = append(e.keys, k)
	e.values = append(e.values, v)
	return nil
}

// build makes the map once its entries are read, as Kafka's parseMap: with
// key and value schemas if both are common, converting keys and values;
// with a key schema alone if only keys have one, converting keys; else
// with neither.
func (e *headerEntries) build(keys, values *schemaMerger) (*headerValue, error) {
	schema := &kafkaSchema{typ: connect.TypeMap, key: keys.common}
	if keys.common != nil {
		schema.elem = values.common
	}
	out := make(map[any]any, len(e.keys))
	for i, k := range e.keys {
		v := e.values[i]
		var err error
		if schema.key != nil {
			if k, err = alignHeaderValue(schema.key, k); err != nil {
				return nil, err
			}
		}
		if schema.elem != nil {
			if v, err = alignHeaderValue(schema.elem, v); err != nil {
				return nil, err
			}
		}
		out[k] = v // converted keys may now be equal: the later wins, as in Kafka
	}
	return &headerValue{schema: schema, value: out}, nil
}

// alignHeaderValue converts a parsed value to the common schema of its
// array or map, as Kafka's Values.convertTo does with no source schema for
// the cases merging can produce: a null is an error (the schemas are
// required); numbers widen (an integer becomes a float32 through a double,
// as in Java); an integer becomes a date (in days), a time or a timestamp
// (in milliseconds); a date, time or timestamp passes unchanged to a
// logical schema and is refused by a plain number. Everything else passes
// unchanged, as merging only puts it under a schema of its own type.
func alignHeaderValue(to *kafkaSchema, v any) (any, error) {
	if v == nil {
		return nil, errHeaderCannotConvert
	}
	if t, ok := v.(time.Time); ok {
		if to.logical == "" || to.logical == connect.DecimalName {
			return nil, errHeaderCannotConvert
		}
		return t, nil
	}
	n, isInteger := integerValue(v)
	switch {
	case to.logical == connect.DateName && isInteger:
		return headerMillisTime(n * millisPerDay)
	case to.logical == connect.TimeName && isInteger:
		if n < 0 || n > millisPerDay {
			return nil, errHeaderCannotConvert
		}
		return headerMillisTime(n)
	case to.logical == connect.TimestampName && isInteger:
		return headerMillisTime(n)
	case to.logical != "":
		return v, nil // a Decimal under a Decimal schema
	}
	if !isInteger && (to.typ == connect.TypeInt16 || to.typ == connect.TypeInt32 || to.typ == connect.TypeInt64) {
		return nil, errHeaderCannotConvert
	}
	switch to.typ {
	case connect.TypeInt16:
		return int16(n), nil
	case connect.TypeInt32:
		return int32(n), nil
	case connect.TypeInt64:
		return n, nil
	case connect.TypeFloat32:
		if isInteger {
			return float32(float64(n)), nil
		}
	case connect.TypeFloat64:
		if isInteger {
			return float64(n), nil
		}
		if f, ok := v.(float32); ok {
			return float64(f), nil
		}
	}
	return v, nil
}

// integerValue returns the value of an int8 to int64.
func integerValue(v any) (int64, bool) {
	switch v := v.(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

const millisPerDay = 24 * 60 * 60 * 1000

// The instants the date and time forms can write and read back: the years
// 0 to 9999.
var (
	minHeaderMillis = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxHeaderMillis = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
)

// headerMillisTime returns the instant ms milliseconds after the epoch, in
// UTC, built one way only so that equal instants are == as map keys.
func headerMillisTime(ms int64) (time.Time, error) {
	if ms < minHeaderMillis || ms > maxHeaderMillis {
		return time.Time{}, errHeaderCannotConvert
	}
	return time.UnixMilli(ms).UTC(), nil
}
