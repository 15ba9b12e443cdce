package converters

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/fjordhq/fjord/connect"
)

// decoder turns parsed JSON into Connect schemas and values, as Kafka's
// JsonConverter.asConnectSchema and convertToConnect do, but strictly.
type decoder struct {
	replaceNull bool
}

var jsonTypes = map[string]connect.Type{
	"int8": connect.TypeInt8, "int16": connect.TypeInt16, "int32": connect.TypeInt32, "int64": connect.TypeInt64,
	"float": connect.TypeFloat32, "double": connect.TypeFloat64, "boolean": connect.TypeBoolean,
	"string": connect.TypeString, "bytes": connect.TypeBytes, "array": connect.TypeArray, "map": connect.TypeMap,
	"struct": connect.TypeStruct,
}

// schema reads a JSON schema; JSON null is no schema.
func (d *decoder) schema(n *jsonValue, depth int) (*connect.Schema, error) {
	if n.kind == jsonNull {
		return nil, nil
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("schema nests deeper than %d", maxDepth)
	}
	if n.kind != jsonObject {
		return nil, fmt.Errorf("schema must be an object, not %s", n.kind)
	}
	typeNode := n.get("type")
	if typeNode == nil || typeNode.kind != jsonString {
		return nil, errors.New("schema must contain a 'type' string")
	}
	t, ok := jsonTypes[typeNode.text]
	if !ok {
		return nil, fmt.Errorf("unknown schema type %q", typeNode.text)
	}
	b, err := d.schemaBuilder(t, n, depth)
	if err != nil {
		return nil, err
	}
	if err := d.schemaAttributes(b, n); err != nil {
		return nil, err
	}
	defaultNode := n.get("default")
	if defaultNode == nil {
		return b.Build()
	}
	plain, err := b.Build()
	if err != nil {
		return nil, err
	}
	def, err := d.value(plain, defaultNode, depth+1)
	if err != nil {
		return nil, fmt.Errorf("schema default: %w", err)
	}
	return b.Default(def).Build()
}

// schemaBuilder starts the schema of type t with its element, key, value
// or field schemas.
func (d *decoder) schemaBuilder(t connect.Type, n *jsonValue, depth int) (*connect.SchemaBuilder, error) {
	switch t {
	case connect.TypeArray:
		items, err := d.childSchema(n, "items", depth)
		if err != nil {
			return nil, err
		}
		return connect.ArrayOf(items), nil
	case connect.TypeMap:
		keys, err := d.childSchema(n, "keys", depth)
		if err != nil {
			return nil, err
		}
		values, err := d.childSchema(n, "values", depth)
		if err != nil {
			return nil, err
		}
		return connect.MapOf(keys, values), nil
	case connect.TypeStruct:
		b := connect.NewSchemaBuilder(t)
		fields := n.get("fields")
		if fields == nil || fields.kind != jsonArray {
			return nil, errors.New("struct schema's \"fields\" is not an array")
		}
		for _, f := range fields.elems {
			if f.kind != jsonObject {
				return nil, errors.New("struct schema's field is not an object")
			}
			name := f.get("field")
			if name == nil || name.kind != jsonString {
				return nil, errors.New("struct schema's field has no \"field\" name")
			}
			fs, err := d.schema(f, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", name.text, err)
			}
			b.Field(name.text, fs)
		}
		return b, nil
	}
	return connect.NewSchemaBuilder(t), nil
}

func (d *decoder) childSchema(n *jsonValue, member string, depth int) (*connect.Schema, error) {
	child := n.get(member)
	if child == nil || child.kind == jsonNull {
		return nil, fmt.Errorf("%s schema has no %q schema", n.get("type").text, member)
	}
	return d.schema(child, depth+1)
}

// schemaAttributes applies optional, name, version, doc and parameters.
// Members of the wrong JSON type are ignored, as Kafka ignores them, but
// for parameters, which must be strings.
func (d *decoder) schemaAttributes(b *connect.SchemaBuilder, n *jsonValue) error {
	if o := n.get("optional"); o != nil && o.kind == jsonBool && o.boolean {
		b.Optional()
	}
	if name := n.get("name"); name != nil && name.kind == jsonString {
		b.Name(name.text)
	}
	if v := n.get("version"); v != nil && v.integral() {
		version, err := strconv.ParseInt(v.text, 10, 32)
		if err != nil {
			return fmt.Errorf("schema version %s is out of range", v.text)
		}
		b.Version(int32(version))
	}
	if doc := n.get("doc"); doc != nil && doc.kind == jsonString {
		b.Doc(doc.text)
	}
	if params := n.get("parameters"); params != nil && params.kind == jsonObject {
		for _, p := range params.members {
			if p.value.kind != jsonString {
				return fmt.Errorf("schema parameter %q is not a string", p.key)
			}
			b.Parameter(p.key, p.value.text)
		}
	}
	return nil
}

// value reads a value of schema s (nil: schemaless). A nil n is a missing
// struct field, read as null.
func (d *decoder) value(s *connect.Schema, n *jsonValue, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nests deeper than %d", maxDepth)
	}
	if s == nil {
		return d.schemaless(n, depth)
	}
	if n == nil || n.kind == jsonNull {
		switch {
		case s.Default() != nil && d.replaceNull:
			return s.Default(), nil
		case s.Optional():
			return nil, nil
		}
		return nil, fmt.Errorf("null value for required %s", strings.ToUpper(s.Type().String()))
	}
	if v, done, err := d.logical(s, n); done {
		return v, err
	}
	switch s.Type() {
	case connect.TypeArray:
		return d.array(s.ValueSchema(), n, depth)
	case connect.TypeMap:
		return d.typedMap(s, n, depth)
	case connect.TypeStruct:
		return d.structValue(s, n, depth)
	}
	return primitive(s.Type(), n)
}

// logical reads the values of logical types; done is false for others.
func (d *decoder) logical(s *connect.Schema, n *jsonValue) (v any, done bool, err error) {
	switch {
	case s.Name() == connect.DecimalName && s.Type() == connect.TypeBytes:
		if n.kind == jsonNumber {
			// NUMERIC: the number, at the schema's scale.
			dec, err := connect.ParseDecimal(n.text)
			if err != nil {
				return nil, true, err
			}
			scale, err := connect.DecimalScale(s)
			if err != nil {
				return nil, true, err
			}
			v, err := dec.Rescale(scale)
			return v, true, err
		}
	case s.Name() == connect.DateName && s.Type() == connect.TypeInt32,
		s.Name() == connect.TimeName && s.Type() == connect.TypeInt32,
		s.Name() == connect.TimestampName && s.Type() == connect.TypeInt64:
	default:
		return nil, false, nil
	}
	encoded, err := primitive(s.Type(), n)
	if err != nil {
		return nil, true, err
	}
	v, err = connect.DecodeLogical(s, encoded)
	return v, true, err
}

// primitive reads a value of a primitive type.
func primitive(t connect.Type, n *jsonValue) (any, error) {
	want := jsonNumber
	switch t {
	case connect.TypeBoolean:
		want = jsonBool
	case connect.TypeString, connect.TypeBytes:
		want = jsonString
	}
	if (t == connect.TypeFloat32 || t == connect.TypeFloat64) && n.kind == jsonString {
		return nonFinite(t, n.text)
	}
	if n.kind != want {
		return nil, fmt.Errorf("%s value must be a JSON %s, not %s", strings.ToUpper(t.String()), want, n.kind)
	}
	switch t {
	case connect.TypeBoolean:
		return n.boolean, nil
	case connect.TypeString:
		return n.text, nil
	case connect.TypeBytes:
		b, err := base64.StdEncoding.DecodeString(n.text)
		if err != nil {
			return nil, fmt.Errorf("invalid base64 bytes: %w", err)
		}
		return b, nil
	case connect.TypeFloat32, connect.TypeFloat64:
		bits := 64
		if t == connect.TypeFloat32 {
			bits = 32
		}
		// Out of range gives ±Inf, as Java's doubleValue does.
		f, err := strconv.ParseFloat(n.text, bits)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("invalid number %s", n.text)
		}
		if bits == 32 {
			return float32(f), nil
		}
		return f, nil
	}
	return integer(t, n)
}

func integer(t connect.Type, n *jsonValue) (any, error) {
	bits := 64
	switch t {
	case connect.TypeInt8:
		bits = 8
	case connect.TypeInt16:
		bits = 16
	case connect.TypeInt32:
		bits = 32
	}
	if !n.integral() {
		return nil, fmt.Errorf("%s value must be an integer, not %s", strings.ToUpper(t.String()), n.text)
	}
	i, err := strconv.ParseInt(n.text, 10, bits)
	if err != nil {
		return nil, fmt.Errorf("%s value %s is out of range", strings.ToUpper(t.String()), n.text)
	}
	switch t {
	case connect.TypeInt8:
		return int8(i), nil
	case connect.TypeInt16:
		return int16(i), nil
	case connect.TypeInt32:
		return int32(i), nil
	}
	return i, nil
}

// nonFinite reads the strings Jackson writes for non-finite floats.
func nonFinite(t connect.Type, s string) (any, error) {
	var f float64
	switch s {
	case "NaN":
		f = math.NaN()
	case "Infinity":
		f = math.Inf(1)
	case "-Infinity":
		f = math.Inf(-1)
	default:
		return nil, fmt.Errorf("%s value must be a JSON number, not string", strings.ToUpper(t.String()))
	}
	if t == connect.TypeFloat32 {
		return float32(f), nil
	}
	return f, nil
}

func (d *decoder) array(elem *connect.Schema, n *jsonValue, depth int) (any, error) {
	if n.kind != jsonArray {
		return nil, fmt.Errorf("ARRAY value must be a JSON array, not %s", n.kind)
	}
	out := make([]any, len(n.elems))
	for i, e := range n.elems {
		v, err := d.value(elem, e, depth+1)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

func (d *decoder) structValue(s *connect.Schema, n *jsonValue, depth int) (any, error) {
	if n.kind != jsonObject {
		return nil, fmt.Errorf("STRUCT value must be a JSON object, not %s", n.kind)
	}
	st := connect.NewStruct(s)
	for _, f := range s.Fields() {
		v, err := d.value(f.Schema, n.get(f.Name), depth+1)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		if err := st.Put(f.Name, v); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// typedMap reads a map: an object when its keys are strings, otherwise an
// array of [key, value] pairs.
func (d *decoder) typedMap(s *connect.Schema, n *jsonValue, depth int) (any, error) {
	if s.KeySchema().Type() == connect.TypeString {
		return d.object(s.ValueSchema(), n, depth)
	}
	switch s.KeySchema().Type() {
	case connect.TypeBytes, connect.TypeArray, connect.TypeMap:
		return nil, fmt.Errorf("maps with %s keys are not supported: Go map keys must be comparable", s.KeySchema().Type())
	}
	if n.kind != jsonArray {
		return nil, fmt.Errorf("map with non-string keys must be a JSON array of [key, value] pairs, not %s", n.kind)
	}
	out := make(map[any]any, len(n.elems))
	for _, pair := range n.elems {
		if pair.kind != jsonArray || len(pair.elems) != 2 {
			return nil, errors.New("map entry must be a [key, value] array")
		}
		k, err := d.value(s.KeySchema(), pair.elems[0], depth+1)
		if err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		v, err := d.value(s.ValueSchema(), pair.elems[1], depth+1)
		if err != nil {
			return nil, fmt.Errorf("map value: %w", err)
		}
		out[k] = v
	}
	return out, nil
}

// object reads a JSON object as a map with string keys.
func (d *decoder) object(valueSchema *connect.Schema, n *jsonValue, depth int) (any, error) {
	if n.kind != jsonObject {
		return nil, fmt.Errorf("map with string keys must be a JSON object, not %s", n.kind)
	}
	out := make(map[any]any, len(n.members))
	for _, m := range n.members {
		v, err := d.value(valueSchema, m.value, depth+1)
		if err != nil {
			return nil, fmt.Errorf("map value %q: %w", m.key, err)
		}
		out[m.key] = v
	}
	return out, nil
}

// schemaless reads JSON without a schema: integers as int64, other numbers
// as float64, objects as map[any]any, arrays as []any.
func (d *decoder) schemaless(n *jsonValue, depth int) (any, error) {
	if n == nil {
		return nil, nil
	}
	switch n.kind {
	case jsonNull:
		return nil, nil
	case jsonBool:
		return n.boolean, nil
	case jsonString:
		return n.text, nil
	case jsonNumber:
		if n.integral() {
			return integer(connect.TypeInt64, n)
		}
		return primitive(connect.TypeFloat64, n)
	case jsonArray:
		return d.array(nil, n, depth)
	}
	return d.object(nil, n, depth)
}
