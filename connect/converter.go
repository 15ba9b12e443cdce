package connect

// Converter turns record keys and values between the bytes in Kafka and
// Connect data (Kafka's org.apache.kafka.connect.storage.Converter). A
// worker configures one for keys and one for values of each connector
// (key.converter, value.converter and their "key.converter."-prefixed
// properties).
//
// headers are the raw headers of the Kafka record being converted, as in
// Kafka, where converters see the record's own headers rather than the
// Connect ones: a converter may read them (for example a schema id) and, in
// FromConnectData, add to them; it must not keep them. The worker never
// passes a nil pointer.
//
// Configure is called once, before any conversion; after it, the
// conversion methods must be safe for concurrent use.
type Converter interface {
	Configure(config map[string]string, isKey bool) error
	// FromConnectData encodes value, of the given schema (nil for
	// schemaless data). A nil schema and a nil value give nil, Kafka's
	// null (a tombstone).
	FromConnectData(topic string, headers *RecordHeaders, schema *Schema, value any) ([]byte, error)
	// ToConnectData decodes data; nil data (Kafka's null) gives a
	// SchemaAndValue with a nil Value. Data comes from any producer and is
	// untrusted: a decoder must reject it with an error, never panic or
	// allocate far beyond its size.
	ToConnectData(topic string, headers RecordHeaders, data []byte) (SchemaAndValue, error)
}

// HeaderConverter turns Connect header values to and from the bytes of
// Kafka record headers (Kafka's HeaderConverter), configured by the
// worker's header.converter. ConfigureHeaders has its own name so that a
// type can be both a Converter and a HeaderConverter, as Kafka's JSON and
// string converters are.
type HeaderConverter interface {
	ConfigureHeaders(config map[string]string) error
	FromConnectHeader(topic, headerKey string, schema *Schema, value any) ([]byte, error)
	ToConnectHeader(topic, headerKey string, data []byte) (SchemaAndValue, error)
}
