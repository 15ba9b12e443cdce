package postgres

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fjordhq/fjord/connect"
)

// decimalPrecisionParameter is the schema parameter in which Kafka's
// converters and the JDBC connectors keep a Decimal's precision.
const decimalPrecisionParameter = "connect.decimal.precision"

// maxNumericPrecision is the largest precision PostgreSQL declares.
const maxNumericPrecision = 1000

// logicalName returns the Kafka logical type of a schema, "" if none.
func logicalName(s *connect.Schema) string {
	switch {
	case s.Name() == connect.DecimalName && s.Type() == connect.TypeBytes,
		s.Name() == connect.DateName && s.Type() == connect.TypeInt32,
		s.Name() == connect.TimeName && s.Type() == connect.TypeInt32,
		s.Name() == connect.TimestampName && s.Type() == connect.TypeInt64:
		return s.Name()
	}
	return ""
}

// columnType is the PostgreSQL type of a column for values of schema s.
func columnType(s *connect.Schema) (string, error) {
	switch logicalName(s) {
	case connect.DecimalName:
		return numericType(s)
	case connect.DateName:
		return "date", nil
	case connect.TimeName:
		return "time", nil
	case connect.TimestampName:
		return "timestamptz", nil
	}
	switch s.Type() {
	case connect.TypeInt8, connect.TypeInt16:
		return "smallint", nil
	case connect.TypeInt32:
		return "integer", nil
	case connect.TypeInt64:
		return "bigint", nil
	case connect.TypeFloat32:
		return "real", nil
	case connect.TypeFloat64:
		return "double precision", nil
	case connect.TypeBoolean:
		return "boolean", nil
	case connect.TypeString:
		return "text", nil
	case connect.TypeBytes:
		return "bytea", nil
	}
	return "", fmt.Errorf("%w: schema type %s has no column type: only primitive and logical types can be written",
		connect.ErrInvalidData, s.Type())
}

// numericType declares a Decimal's column with its scale.
func numericType(s *connect.Schema) (string, error) {
	scale, err := connect.DecimalScale(s)
	if err != nil {
		return "", err
	}
	if scale < 0 || scale > maxNumericPrecision {
		return "numeric", nil // PostgreSQL declares no such scale: keep any
	}
	precision := int64(maxNumericPrecision)
	if text, ok := s.Parameter(decimalPrecisionParameter); ok {
		if p, err := strconv.ParseInt(text, 10, 32); err == nil && p >= int64(scale) && p >= 1 && p <= maxNumericPrecision {
			precision = p
		}
	}
	return fmt.Sprintf("numeric(%d,%d)", precision, scale), nil
}

// encodeValue turns a valid Connect value into the value pgx writes to the
// column of columnType(s).
func encodeValue(s *connect.Schema, v any) any {
	if v == nil {
		return nil
	}
	switch logicalName(s) {
	case connect.DecimalName:
		d := v.(connect.Decimal)
		unscaled := d.Unscaled
		if unscaled == nil {
			unscaled = new(big.Int)
		}
		return pgtype.Numeric{Int: unscaled, Exp: -d.Scale, Valid: true}
	case connect.DateName:
		return pgtype.Date{Time: v.(time.Time), Valid: true}
	case connect.TimeName:
		return pgtype.Time{Microseconds: v.(time.Time).UnixMicro(), Valid: true}
	}
	if i, ok := v.(int8); ok {
		return int16(i)
	}
	return v
}
