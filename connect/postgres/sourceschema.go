package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fjordhq/fjord/connect"
)

// columnKind is how the source reads a column's values.
type columnKind int8

const (
	kindText columnKind = iota // any other type, read as its text (cast in the query)
	kindInt16
	kindInt32
	kindInt64
	kindFloat32
	kindFloat64
	kindNumericFloat // numeric without a scale: float64
	kindDecimal
	kindBool
	kindString
	kindBytes
	kindDate
	kindTime
	kindTimestamp
)

// kindOf is the kind of a PostgreSQL type, by its pg_type.typname.
func kindOf(typeName string) columnKind {
	switch typeName {
	case "int2":
		return kindInt16
	case "int4":
		return kindInt32
	case "int8":
		return kindInt64
	case "float4":
		return kindFloat32
	case "float8":
		return kindFloat64
	case "numeric":
		return kindDecimal
	case "bool":
		return kindBool
	case "text", "varchar", "bpchar":
		return kindString
	case "bytea":
		return kindBytes
	case "date":
		return kindDate
	case "time":
		return kindTime
	case "timestamp", "timestamptz":
		return kindTimestamp
	}
	return kindText
}

// sourceColumn is a column of a table the source reads.
type sourceColumn struct {
	name     string
	typeName string
	kind     columnKind
	scale    int32 // of a Decimal
	pkPos    int   // position in the primary key from 1; 0 if not in it
	schema   *connect.Schema
}

// catalogRow is one column as the catalog describes it.
type catalogRow struct {
	schemaName, tableName, column, typeName string
	typmod                                  int32
	notNull                                 bool
	pkPos                                   int32
}

// readCatalog reads a table's columns in order; none means the table does
// not exist.
func readCatalog(ctx context.Context, conn *pgx.Conn, table string) ([]catalogRow, error) {
	const q = `SELECT n.nspname::text, c.relname::text, a.attname::text, t.typname::text, a.atttypmod,
		a.attnotnull, coalesce((SELECT k.n::int4 FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
			WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum), 0)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		JOIN pg_type t ON t.oid = a.atttypid
		WHERE c.oid = to_regclass($1) ORDER BY a.attnum`
	rows, err := conn.Query(ctx, q, table)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalogRow, error) {
		var r catalogRow
		err := row.Scan(&r.schemaName, &r.tableName, &r.column, &r.typeName, &r.typmod, &r.notNull, &r.pkPos)
		return r, err
	})
}

// signature describes the catalog rows, to notice a changed table.
func signature(rows []catalogRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%q %s %d %t %d\n", r.column, r.typeName, r.typmod, r.notNull, r.pkPos)
	}
	return b.String()
}

// newSourceColumn maps a catalog row to a column and its Connect schema.
func newSourceColumn(r catalogRow) sourceColumn {
	c := sourceColumn{name: r.column, typeName: r.typeName, kind: kindOf(r.typeName), pkPos: int(r.pkPos)}
	var b *connect.SchemaBuilder
	switch c.kind {
	case kindInt16:
		b = connect.NewSchemaBuilder(connect.TypeInt16)
	case kindInt32:
		b = connect.NewSchemaBuilder(connect.TypeInt32)
	case kindInt64:
		b = connect.NewSchemaBuilder(connect.TypeInt64)
	case kindFloat32:
		b = connect.NewSchemaBuilder(connect.TypeFloat32)
	case kindFloat64:
		b = connect.NewSchemaBuilder(connect.TypeFloat64)
	case kindDecimal:
		b = decimalColumn(&c, r.typmod)
	case kindBool:
		b = connect.NewSchemaBuilder(connect.TypeBoolean)
	case kindBytes:
		b = connect.NewSchemaBuilder(connect.TypeBytes)
	case kindDate:
		b = connect.DateBuilder()
	case kindTime:
		b = connect.TimeBuilder()
	case kindTimestamp:
		b = connect.TimestampBuilder()
	default:
		b = connect.NewSchemaBuilder(connect.TypeString)
	}
	if !r.notNull {
		b = b.Optional()
	}
	c.schema = b.MustBuild()
	return c
}

// decimalColumn maps numeric(p, s) to a Decimal of scale s, with p in
// connect.decimal.precision; numeric without a typmod has no scale to
// keep and becomes a float64.
func decimalColumn(c *sourceColumn, typmod int32) *connect.SchemaBuilder {
	if typmod < 4 { // -1: no typmod
		c.kind = kindNumericFloat
		return connect.NewSchemaBuilder(connect.TypeFloat64)
	}
	// The typmod packs the precision in the high 16 bits and the scale,
	// an 11-bit signed number, in the low bits, plus 4.
	packed := typmod - 4
	scale := packed & 0x7ff
	if scale&0x400 != 0 {
		scale -= 0x800
	}
	c.scale = scale
	precision := (packed >> 16) & 0xffff
	return connect.DecimalBuilder(scale).Parameter(decimalPrecisionParameter, strconv.Itoa(int(precision)))
}

// selectExpr is the column in the select list: as is, or as its text.
func (c *sourceColumn) selectExpr() string {
	quoted := pgx.Identifier{c.name}.Sanitize()
	if c.kind == kindText {
		return quoted + "::text"
	}
	return quoted
}

var errNotRepresentable = errors.New("value has no Connect representation")

// decode turns the value pgx read from a column into the Connect value of
// the column's schema.
func (c *sourceColumn) decode(raw any) (any, error) {
	if raw == nil {
		return nil, nil
	}
	var v any
	var ok bool
	switch c.kind {
	case kindInt16:
		v, ok = raw.(int16)
	case kindInt32:
		v, ok = raw.(int32)
	case kindInt64:
		v, ok = raw.(int64)
	case kindFloat32:
		v, ok = raw.(float32)
	case kindFloat64:
		v, ok = raw.(float64)
	case kindBool:
		v, ok = raw.(bool)
	case kindString, kindText:
		v, ok = raw.(string)
	case kindBytes:
		v, ok = raw.([]byte)
	case kindNumericFloat, kindDecimal:
		return c.decodeNumeric(raw)
	case kindDate:
		var t time.Time
		if t, ok = raw.(time.Time); ok {
			v = t.UTC()
		}
	case kindTime:
		var t pgtype.Time
		if t, ok = raw.(pgtype.Time); ok {
			v = time.UnixMicro(t.Microseconds).UTC().Truncate(time.Millisecond)
		}
	case kindTimestamp:
		var t time.Time
		if t, ok = raw.(time.Time); ok {
			v = t.UTC().Truncate(time.Millisecond) // Connect's Timestamp has milliseconds
		}
	}
	if !ok {
		return nil, fmt.Errorf("column %q (%s): %w: %v", c.name, c.typeName, errNotRepresentable, raw)
	}
	return v, nil
}

func (c *sourceColumn) decodeNumeric(raw any) (any, error) {
	n, ok := raw.(pgtype.Numeric)
	if c.kind == kindNumericFloat && ok {
		f, err := n.Float64Value()
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.name, err)
		}
		return f.Float64, nil
	}
	if !ok || n.NaN || n.InfinityModifier != pgtype.Finite || n.Int == nil {
		return nil, fmt.Errorf("column %q (%s): %w: %v", c.name, c.typeName, errNotRepresentable, raw)
	}
	if n.Exp < -math.MaxInt32 {
		return nil, fmt.Errorf("column %q: numeric exponent %d out of range", c.name, n.Exp)
	}
	d, err := connect.Decimal{Unscaled: n.Int, Scale: -n.Exp}.Rescale(c.scale)
	if err != nil {
		return nil, fmt.Errorf("column %q: %w", c.name, err)
	}
	return d, nil
}
