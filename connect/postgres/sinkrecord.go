package postgres

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fjordhq/fjord/connect"
)

// tableRef names a table: schema "" means the first of the search_path.
type tableRef struct {
	schema, name string
}

func (t tableRef) ident() pgx.Identifier {
	if t.schema == "" {
		return pgx.Identifier{t.name}
	}
	return pgx.Identifier{t.schema, t.name}
}

// String is the table's quoted SQL name.
func (t tableRef) String() string { return t.ident().Sanitize() }

// tableFor returns the table of a topic by table.name.format.
func (c *sinkConfig) tableFor(topic string) tableRef {
	parts := make([]string, len(c.tableFormat))
	for i, p := range c.tableFormat {
		parts[i] = strings.ReplaceAll(p, topicPlaceholder, topic)
	}
	if len(parts) == 1 {
		return tableRef{name: parts[0]}
	}
	return tableRef{schema: parts[0], name: parts[1]}
}

// columnSource says where a column's value comes from.
type columnSource int8

const (
	fromKey        columnSource = iota + 1 // the whole, primitive key
	fromKeyField                           // a field of a struct key
	fromValueField                         // a field of the value
)

// sinkColumn is one column a record writes.
type sinkColumn struct {
	name   string
	source columnSource
	schema *connect.Schema
	pgType string
}

// shape is the columns records of one key and value schema write: the
// first keyCount columns are the primary key. Shapes are immutable.
type shape struct {
	columns   []sinkColumn
	keyCount  int
	signature string // the column names: rows of one signature share statements
}

func (s *shape) names() []string {
	names := make([]string, len(s.columns))
	for i, c := range s.columns {
		names[i] = c.name
	}
	return names
}

// shapeKey finds the shape of a key and value schema (nil value schema:
// a tombstone's) in a task's cache.
type shapeKey struct {
	key, value *connect.Schema
}

// maxShapes bounds a task's cache of shapes: converters that make a new
// schema for every record would otherwise grow it without end.
const maxShapes = 1024

// buildShape works out the columns of records with the given schemas.
func (c *sinkConfig) buildShape(keySchema, valueSchema *connect.Schema) (*shape, error) {
	var cols []sinkColumn
	switch c.pkMode {
	case pkModeRecordKey:
		keyCols, err := c.keyColumns(keySchema)
		if err != nil {
			return nil, err
		}
		cols = keyCols
	case pkModeRecordValue:
		names := c.pkFields
		if len(names) == 0 {
			names = fieldNames(valueSchema)
		}
		for _, n := range names {
			f, ok := valueSchema.Field(n)
			if !ok {
				return nil, fmt.Errorf("%w: pk.fields names %q, which the value schema %s lacks",
					connect.ErrInvalidData, n, valueSchema)
			}
			cols = append(cols, sinkColumn{name: n, source: fromValueField, schema: f.Schema})
		}
	}
	keyCount := len(cols)
	if valueSchema != nil {
		for _, f := range valueSchema.Fields() {
			if !containsColumn(cols[:keyCount], f.Name) {
				cols = append(cols, sinkColumn{name: f.Name, source: fromValueField, schema: f.Schema})
			}
		}
	}
	for i := range cols {
		t, err := columnType(cols[i].schema)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", cols[i].name, err)
		}
		cols[i].pgType = t
	}
	s := &shape{columns: cols, keyCount: keyCount}
	s.signature = strconv.Itoa(keyCount) + "\x00" + strings.Join(s.names(), "\x00")
	return s, nil
}

// keyColumns are the primary key's columns with pk.mode=record_key.
func (c *sinkConfig) keyColumns(keySchema *connect.Schema) ([]sinkColumn, error) {
	if keySchema.Type() != connect.TypeStruct {
		if len(c.pkFields) > 1 {
			return nil, fmt.Errorf("%w: pk.fields names %d columns, but the key is a primitive %s",
				connect.ErrInvalidData, len(c.pkFields), keySchema.Type())
		}
		name := defaultKeyColumn
		if len(c.pkFields) == 1 {
			name = c.pkFields[0]
		}
		return []sinkColumn{{name: name, source: fromKey, schema: keySchema}}, nil
	}
	names := c.pkFields
	if len(names) == 0 {
		names = fieldNames(keySchema)
	}
	cols := make([]sinkColumn, 0, len(names))
	for _, n := range names {
		f, ok := keySchema.Field(n)
		if !ok {
			return nil, fmt.Errorf("%w: pk.fields names %q, which the key schema %s lacks",
				connect.ErrInvalidData, n, keySchema)
		}
		cols = append(cols, sinkColumn{name: n, source: fromKeyField, schema: f.Schema})
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%w: the key struct %s has no fields for a primary key", connect.ErrInvalidData, keySchema)
	}
	return cols, nil
}

func fieldNames(s *connect.Schema) []string {
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name)
	}
	return names
}

func containsColumn(cols []sinkColumn, name string) bool {
	for _, c := range cols {
		if c.name == name {
			return true
		}
	}
	return false
}

// op is one row to write or delete, from one record.
type op struct {
	record connect.SinkRecord
	table  tableRef
	delete bool
	shape  *shape
	args   []any  // one per column of shape (key columns only for a delete), as pgx writes them
	key    string // the primary key's value in a canonical text, "" without a key
}

// errTombstone is wrapped by the error of a tombstone the sink cannot use.
var errTombstone = errors.New("a tombstone (null value) needs delete.enabled=true and pk.mode=record_key " +
	"to delete its row; drop tombstones with a transform or a filter otherwise")

// checkRecord checks a record against the configuration and returns its
// shape key. Its errors wrap connect.ErrInvalidData.
func (c *sinkConfig) checkRecord(r *connect.SinkRecord) (shapeKey, error) {
	if r.Value == nil {
		switch {
		case !c.deleteEnabled:
			return shapeKey{}, fmt.Errorf("%w: %w", connect.ErrInvalidData, errTombstone)
		case r.Key == nil:
			return shapeKey{}, fmt.Errorf("%w: a tombstone with a null key deletes nothing", connect.ErrInvalidData)
		}
	} else {
		if r.ValueSchema == nil {
			return shapeKey{}, fmt.Errorf("%w: the value has no schema (schemaless %T): the PostgreSQL sink "+
				"needs Struct values with schemas, such as JsonConverter with schemas.enable=true gives",
				connect.ErrInvalidData, r.Value)
		}
		if r.ValueSchema.Type() != connect.TypeStruct {
			return shapeKey{}, fmt.Errorf("%w: the value is a %s, not a Struct", connect.ErrInvalidData, r.ValueSchema.Type())
		}
		if err := connect.ValidateValue(r.ValueSchema, r.Value); err != nil {
			return shapeKey{}, fmt.Errorf("value: %w", err)
		}
	}
	if c.pkMode == pkModeRecordKey {
		if r.Key == nil || r.KeySchema == nil {
			return shapeKey{}, fmt.Errorf("%w: pk.mode=record_key needs a key with a schema", connect.ErrInvalidData)
		}
		if err := connect.ValidateValue(r.KeySchema, r.Key); err != nil {
			return shapeKey{}, fmt.Errorf("key: %w", err)
		}
	}
	return shapeKey{key: r.KeySchema, value: r.ValueSchema}, nil
}

// rowArgs returns the values of a record's columns and its canonical key.
func rowArgs(s *shape, r *connect.SinkRecord, deleteOnly bool) ([]any, string) {
	cols := s.columns
	if deleteOnly {
		cols = cols[:s.keyCount]
	}
	args := make([]any, len(cols))
	var key strings.Builder
	for i, c := range cols {
		var v any
		switch c.source {
		case fromKey:
			v = r.Key
		case fromKeyField:
			v = r.Key.(*connect.Struct).Get(c.name)
		case fromValueField:
			v = r.Value.(*connect.Struct).Get(c.name)
		}
		args[i] = encodeValue(c.schema, v)
		if i < s.keyCount {
			writeKeyPart(&key, v)
		}
	}
	return args, key.String()
}

// writeKeyPart writes a key value so that values PostgreSQL finds equal
// write the same text (1.0 and 1.00, int32 and int64 of one number).
func writeKeyPart(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case int8, int16, int32, int64:
		fmt.Fprintf(b, "i%d", v)
	case float32:
		b.WriteString("f" + strconv.FormatFloat(float64(v), 'g', -1, 64))
	case float64:
		b.WriteString("f" + strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		b.WriteString("s" + strconv.Quote(v))
	case []byte:
		b.WriteString("b" + hex.EncodeToString(v))
	case connect.Decimal:
		b.WriteString("n" + decimalRat(v).RatString())
	case time.Time:
		b.WriteString("t" + v.UTC().Format(time.RFC3339Nano))
	default:
		fmt.Fprintf(b, "%T%v", v, v)
	}
	b.WriteByte(0)
}

func decimalRat(d connect.Decimal) *big.Rat {
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	scale := big.NewInt(10)
	if d.Scale >= 0 {
		scale.Exp(scale, big.NewInt(int64(d.Scale)), nil)
		return new(big.Rat).SetFrac(u, scale)
	}
	scale.Exp(scale, big.NewInt(-int64(d.Scale)), nil)
	return new(big.Rat).SetInt(new(big.Int).Mul(u, scale))
}

// recordError names a record's topic, partition and offset in err.
func recordError(r *connect.SinkRecord, err error) error {
	return fmt.Errorf("postgres sink: record topic %s partition %d offset %d: %w", r.Topic, r.Partition, r.Offset, err)
}
