// Package converters holds Kafka Connect's standard converters, which turn
// record keys, values and headers between Kafka's bytes and Connect data
// (package connect): JSONConverter (Kafka's JsonConverter, with its exact
// {"schema":...,"payload":...} envelope), StringConverter and
// ByteArrayConverter. Class names such as JSONConverterClass are the ones
// users write in key.converter and value.converter.
//
// The converters live apart from package connect, as Kafka ships its JSON
// converter apart from the connector API: a connector needs none of their
// code, and a worker or a program that reads Connect's JSON imports them
// alone.
//
// Each converter is configured once and then safe for concurrent use. Their
// zero values are configured with Kafka's defaults. Decoders take untrusted
// bytes: they return errors wrapping connect.ErrInvalidData, never panic,
// and allocate in proportion to their input.
package converters

// Kafka's class names of the converters, for the worker's registry.
const (
	JSONConverterClass         = "org.apache.kafka.connect.json.JsonConverter"
	StringConverterClass       = "org.apache.kafka.connect.storage.StringConverter"
	ByteArrayConverterClass    = "org.apache.kafka.connect.converters.ByteArrayConverter"
	SimpleHeaderConverterClass = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
)
