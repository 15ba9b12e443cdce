// Package transforms holds Kafka Connect's single message transforms and
// predicates (Kafka's org.apache.kafka.connect.transforms), with Kafka's
// class names, configuration keys, defaults and, where reasonable, error
// messages, on the data of package connect: schemaless values are
// map[any]any with string keys, values with a schema are *connect.Struct.
//
// Transformations that change a key or a value come in two variants, as in
// Kafka: "...$Key" and "...$Value" (InsertField, ReplaceField, MaskField,
// ExtractField, Cast, TimestampConverter); their constructors take a
// Target. The others act on the whole record (ValueToKey, RegexRouter,
// TimestampRouter, Filter). Predicates (HasHeaderKey, TopicNameMatches,
// RecordIsTombstone) decide where a transformation applies.
//
// A worker registers them all with Register and builds each connector's
// chain with connect.Registry.NewChain, from configurations such as:
//
//	transforms=route,drop
//	transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
//	transforms.route.regex=(.*)-raw
//	transforms.route.replacement=$1
//	transforms.drop.type=Filter
//	transforms.drop.predicate=isTombstone
//	predicates=isTombstone
//	predicates.isTombstone.type=RecordIsTombstone
//
// # Differences from Kafka
//
//   - Regular expressions (RegexRouter, TopicNameMatches) are Go's RE2
//     syntax, which is Java's without backreferences, lookaround,
//     possessive quantifiers and Java's own character classes; a pattern
//     that RE2 refuses is a configuration error. Replacements follow
//     Java's Matcher rules ($1, ${name}, \$), checked when configured.
//   - Date patterns (TimestampConverter, TimestampRouter) are Java's
//     SimpleDateFormat letters G y M L D d E u a H k K h m s S z Z X, in
//     UTC; the week-based letters Y w W F are refused. Parsing is lenient
//     as Java's, ignores text after the pattern as Java's does, reads a
//     two-digit "yy" year as 1969 to 2068 (Java slides that window with the
//     current date), and knows the zones UTC, GMT, UT, Z and numeric
//     offsets only.
//   - MaskField and ValueToKey pass a null key or value (a tombstone)
//     through, where Kafka fails the record.
//   - MaskField masks a Decimal with zero, and replaces it with the
//     replacement, at the field's scale, where Kafka's value of scale 0
//     fails later in the converter.
//   - Cast of a whole Date, Time or Timestamp to its own underlying type
//     (int32 or int64) drops the logical name from the schema, so that the
//     number is a valid value of it; Kafka keeps the name and fails later.
//   - Cast renders a Date, Time or Timestamp as a string in UTC; Kafka uses
//     the worker's default time zone.
//
// # Concurrency
//
// As connect.Transformation says, the worker makes an instance per task and
// calls it from one goroutine at a time; the transformations cache updated
// schemas (by schema pointer, up to 16, as Kafka's LRU cache) without locks.
package transforms

import (
	"fmt"

	"github.com/fjordhq/fjord/connect"
)

// Version is the version the transformations and predicates report in GET
// /connector-plugins: the Kafka release whose behaviour they follow.
const Version = "4.0.0"

// Kafka's class names, which users write in "transforms.<alias>.type" and
// "predicates.<alias>.type".
const (
	classPrefix     = "org.apache.kafka.connect.transforms."
	predicatePrefix = classPrefix + "predicates."

	InsertFieldKeyClass          = classPrefix + "InsertField$Key"
	InsertFieldValueClass        = classPrefix + "InsertField$Value"
	ReplaceFieldKeyClass         = classPrefix + "ReplaceField$Key"
	ReplaceFieldValueClass       = classPrefix + "ReplaceField$Value"
	MaskFieldKeyClass            = classPrefix + "MaskField$Key"
	MaskFieldValueClass          = classPrefix + "MaskField$Value"
	ExtractFieldKeyClass         = classPrefix + "ExtractField$Key"
	ExtractFieldValueClass       = classPrefix + "ExtractField$Value"
	CastKeyClass                 = classPrefix + "Cast$Key"
	CastValueClass               = classPrefix + "Cast$Value"
	TimestampConverterKeyClass   = classPrefix + "TimestampConverter$Key"
	TimestampConverterValueClass = classPrefix + "TimestampConverter$Value"
	ValueToKeyClass              = classPrefix + "ValueToKey"
	RegexRouterClass             = classPrefix + "RegexRouter"
	TimestampRouterClass         = classPrefix + "TimestampRouter"
	FilterClass                  = classPrefix + "Filter"

	HasHeaderKeyClass      = predicatePrefix + "HasHeaderKey"
	TopicNameMatchesClass  = predicatePrefix + "TopicNameMatches"
	RecordIsTombstoneClass = predicatePrefix + "RecordIsTombstone"
)

// Register adds every transformation and predicate of the package to r,
// under Kafka's class names.
func Register(r *connect.Registry) error {
	transformations := []connect.TransformationPlugin{
		{Class: InsertFieldKeyClass, New: func() connect.Transformation { return NewInsertField(Key) }},
		{Class: InsertFieldValueClass, New: func() connect.Transformation { return NewInsertField(Value) }},
		{Class: ReplaceFieldKeyClass, New: func() connect.Transformation { return NewReplaceField(Key) }},
		{Class: ReplaceFieldValueClass, New: func() connect.Transformation { return NewReplaceField(Value) }},
		{Class: MaskFieldKeyClass, New: func() connect.Transformation { return NewMaskField(Key) }},
		{Class: MaskFieldValueClass, New: func() connect.Transformation { return NewMaskField(Value) }},
		{Class: ExtractFieldKeyClass, New: func() connect.Transformation { return NewExtractField(Key) }},
		{Class: ExtractFieldValueClass, New: func() connect.Transformation { return NewExtractField(Value) }},
		{Class: CastKeyClass, New: func() connect.Transformation { return NewCast(Key) }},
		{Class: CastValueClass, New: func() connect.Transformation { return NewCast(Value) }},
		{Class: TimestampConverterKeyClass, New: func() connect.Transformation { return NewTimestampConverter(Key) }},
		{Class: TimestampConverterValueClass, New: func() connect.Transformation { return NewTimestampConverter(Value) }},
		{Class: ValueToKeyClass, New: func() connect.Transformation { return NewValueToKey() }},
		{Class: RegexRouterClass, New: func() connect.Transformation { return NewRegexRouter() }},
		{Class: TimestampRouterClass, New: func() connect.Transformation { return NewTimestampRouter() }},
		{Class: FilterClass, New: func() connect.Transformation { return NewFilter() }},
	}
	for _, p := range transformations {
		if err := r.RegisterTransformation(p); err != nil {
			return fmt.Errorf("transforms: %w", err)
		}
	}
	predicates := []connect.PredicatePlugin{
		{Class: HasHeaderKeyClass, New: func() connect.Predicate { return NewHasHeaderKey() }},
		{Class: TopicNameMatchesClass, New: func() connect.Predicate { return NewTopicNameMatches() }},
		{Class: RecordIsTombstoneClass, New: func() connect.Predicate { return NewRecordIsTombstone() }},
	}
	for _, p := range predicates {
		if err := r.RegisterPredicate(p); err != nil {
			return fmt.Errorf("transforms: %w", err)
		}
	}
	return nil
}
