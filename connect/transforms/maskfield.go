package transforms

import (
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// MaskField is Kafka's MaskField: it replaces the values of the listed
// fields with the null value of their type (0, false, "", an empty list or
// map, the epoch for dates and times), or with "replacement" converted to
// the field's type (numbers and strings only). Null keys or values pass
// unchanged.
type MaskField struct {
	versioned
	target                 Target
	fields                 []string
	replacement            *string
	replaceNullWithDefault bool
}

// NewMaskField returns an unconfigured MaskField$Key or $Value.
func NewMaskField(target Target) *MaskField { return &MaskField{target: target} }

const maskPurpose = "mask fields"

// nonEmptyList is Kafka's NonEmptyListValidator.
func nonEmptyList() connect.Validator {
	return connect.ValidatorFunc(func(_ string, value any) error {
		if list, ok := value.([]string); !ok || len(list) == 0 {
			return errors.New("Empty list")
		}
		return nil
	})
}

// Config defines fields, replacement and replace.null.with.default.
func (t *MaskField) Config() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "fields", Type: connect.ConfigList, Required: true, Validator: nonEmptyList(),
			Importance: connect.High, Documentation: "Names of fields to mask."}).
		Define(connect.ConfigKey{Name: "replacement", Type: connect.ConfigString, Validator: connect.NonEmptyString(),
			Importance: connect.Low, Documentation: "Custom value replacement, that will be applied to all" +
				" 'fields' values (numeric or non-empty string values only)."}).
		Define(replaceNullWithDefaultKey())
}

// Configure reads the configuration.
func (t *MaskField) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	t.fields = cfg.GetList("fields")
	t.replacement = nil
	if s, ok := cfg.Get("replacement").(string); ok {
		t.replacement = &s
	}
	t.replaceNullWithDefault = cfg.GetBoolean("replace.null.with.default")
	return nil
}

// Apply masks the fields.
func (t *MaskField) Apply(r connect.Record) (connect.Record, bool, error) {
	schema, value := t.target.get(r)
	if value == nil {
		return r, true, nil
	}
	if schema == nil {
		m, err := requireMap(value, maskPurpose)
		if err != nil {
			return r, false, err
		}
		out := maps.Clone(m)
		for _, f := range t.fields {
			// As Kafka, a field the map lacks is added as null.
			if out[f], err = t.masked(m[f]); err != nil {
				return r, false, err
			}
		}
		return t.target.with(r, nil, out), true, nil
	}
	s, err := requireStruct(value, maskPurpose)
	if err != nil {
		return r, false, err
	}
	values := map[string]any{}
	for _, f := range s.Schema().Fields() {
		v := fieldValue(s, f.Name, t.replaceNullWithDefault)
		if slices.Contains(t.fields, f.Name) {
			if v, err = t.masked(v); err != nil {
				return r, false, err
			}
		}
		values[f.Name] = v
	}
	out, err := putAll(s.Schema(), values)
	if err != nil {
		return r, false, err
	}
	return t.target.with(r, schema, out), true, nil
}

func (t *MaskField) masked(v any) (any, error) {
	switch {
	case v == nil:
		return nil, nil
	case t.replacement != nil:
		return maskWithReplacement(v, *t.replacement)
	}
	switch v := v.(type) {
	case bool:
		return false, nil
	case int8:
		return int8(0), nil
	case int16:
		return int16(0), nil
	case int32:
		return int32(0), nil
	case int64:
		return int64(0), nil
	case float32:
		return float32(0), nil
	case float64:
		return float64(0), nil
	case string:
		return "", nil
	case connect.Decimal:
		return connect.Decimal{Scale: v.Scale}, nil
	case time.Time:
		return time.UnixMilli(0).UTC(), nil
	case []any:
		return []any{}, nil
	case map[any]any:
		return map[any]any{}, nil
	}
	return nil, dataError("Cannot mask value of type: class %s", javaClass(v))
}

// maskWithReplacement converts the replacement to the type of v, as
// Kafka's Values.convertTo... do: a number may be written as a decimal
// ("12.5" is 12 for an integer field).
func maskWithReplacement(v any, replacement string) (any, error) {
	bad := func() error {
		return dataError("Unable to convert %s (class java.lang.String) to number", replacement)
	}
	switch v := v.(type) {
	case string:
		return replacement, nil
	case int8, int16, int32, int64:
		n, ok := parseJavaInteger(replacement)
		if !ok {
			return nil, bad()
		}
		switch v.(type) {
		case int8:
			if n >= math.MinInt8 && n <= math.MaxInt8 {
				return int8(n), nil
			}
		case int16:
			if n >= math.MinInt16 && n <= math.MaxInt16 {
				return int16(n), nil
			}
		case int32:
			if n >= math.MinInt32 && n <= math.MaxInt32 {
				return int32(n), nil
			}
		default:
			return n, nil
		}
		return nil, bad()
	case float32, float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(replacement), 64)
		if err != nil {
			return nil, bad()
		}
		if _, ok := v.(float32); ok {
			return float32(f), nil
		}
		return f, nil
	case connect.Decimal:
		d, err := connect.ParseDecimal(strings.TrimSpace(replacement))
		if err == nil {
			d, err = d.Rescale(v.Scale)
		}
		if err != nil {
			return nil, dataError("Unable to convert %s (class java.lang.String) to a decimal of scale %d", replacement, v.Scale)
		}
		return d, nil
	}
	return nil, dataError("Cannot mask value of type class %s with custom replacement.", javaClass(v))
}

// parseJavaInteger reads an integer, or a decimal number truncated toward
// zero, as Kafka's Values converts a string to an integer type.
func parseJavaInteger(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// Close does nothing.
func (t *MaskField) Close() error { return nil }
