package connect

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Validator checks the value of a configuration key (Kafka's
// ConfigDef.Validator). value has the key's Go type (see ConfigType), or is
// nil when the key has no value. The error says what is wrong with the
// value, without repeating it: the ConfigDef adds "Invalid value V for
// configuration N: ", hiding passwords. Validators must be safe for
// concurrent use.
type Validator interface {
	Validate(name string, value any) error
}

// ValidatorFunc adapts a function to Validator.
type ValidatorFunc func(name string, value any) error

// Validate calls f.
func (f ValidatorFunc) Validate(name string, value any) error { return f(name, value) }

// Recommender suggests values for a key and whether to show it, given the
// values parsed so far (Kafka's ConfigDef.Recommender). Validate calls it
// after parsing every key, so it may read the keys this one depends on.
type Recommender interface {
	ValidValues(name string, parsed map[string]any) ([]any, error)
	Visible(name string, parsed map[string]any) (bool, error)
}

// AtLeast accepts numbers of at least min (Kafka's Range.atLeast).
func AtLeast(min float64) Validator { return numberRange{min: min, hasMin: true} }

// Between accepts numbers from min to max inclusive (Kafka's
// Range.between).
func Between(min, max float64) Validator {
	return numberRange{min: min, max: max, hasMin: true, hasMax: true}
}

type numberRange struct {
	min, max       float64
	hasMin, hasMax bool
}

func (r numberRange) Validate(_ string, value any) error {
	var n float64
	switch v := value.(type) {
	case nil:
		return errors.New("Value must be non-null")
	case int16:
		n = float64(v)
	case int32:
		n = float64(v)
	case int64:
		n = float64(v)
	case float64:
		n = v
	default:
		return fmt.Errorf("Value must be a number, not %T", value)
	}
	if r.hasMin && n < r.min {
		return errors.New("Value must be at least " + formatBound(r.min))
	}
	if r.hasMax && n > r.max {
		return errors.New("Value must be no more than " + formatBound(r.max))
	}
	return nil
}

func (r numberRange) String() string {
	lo, hi := "...", "..."
	if r.hasMin {
		lo = formatBound(r.min)
	}
	if !r.hasMax {
		return "[" + lo + ",...]"
	}
	hi = formatBound(r.max)
	return "[" + lo + ",...," + hi + "]"
}

func formatBound(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// OneOf accepts the given strings, and lists whose every element is one of
// them (Kafka's ValidString.in and ValidList.in).
func OneOf(values ...string) Validator { return oneOf{values: slices.Clone(values)} }

// OneOfIgnoreCase accepts the given strings in any case (Kafka's
// CaseInsensitiveValidString.in).
func OneOfIgnoreCase(values ...string) Validator {
	upper := make([]string, len(values))
	for i, v := range values {
		upper[i] = strings.ToUpper(v)
	}
	return oneOf{values: upper, ignoreCase: true}
}

type oneOf struct {
	values     []string
	ignoreCase bool
}

func (o oneOf) Validate(_ string, value any) error {
	if list, ok := value.([]string); ok {
		for _, s := range list {
			if err := o.check(s, true); err != nil {
				return err
			}
		}
		return nil
	}
	s, ok := value.(string)
	return o.check(s, ok)
}

func (o oneOf) check(s string, isString bool) error {
	if o.ignoreCase {
		s = strings.ToUpper(s)
	}
	if isString && slices.Contains(o.values, s) {
		return nil
	}
	if o.ignoreCase {
		return errors.New("String must be one of (case insensitive): " + strings.Join(o.values, ", "))
	}
	return errors.New("String must be one of: " + strings.Join(o.values, ", "))
}

func (o oneOf) String() string {
	if o.ignoreCase {
		return "(case insensitive) [" + strings.Join(o.values, ", ") + "]"
	}
	return "[" + strings.Join(o.values, ", ") + "]"
}

// NonEmptyString refuses the empty string; it accepts nil, which Required
// refuses where needed (Kafka's NonEmptyString).
func NonEmptyString() Validator {
	return ValidatorFunc(func(_ string, value any) error {
		if s, ok := value.(string); ok && s == "" {
			return errors.New("String must be non-empty")
		}
		return nil
	})
}

// AllOf applies validators in order and returns the first error (Kafka's
// CompositeValidator).
func AllOf(validators ...Validator) Validator {
	validators = slices.Clone(validators)
	return ValidatorFunc(func(name string, value any) error {
		for _, v := range validators {
			if err := v.Validate(name, value); err != nil {
				return err
			}
		}
		return nil
	})
}
