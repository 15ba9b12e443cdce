// Package clientconf turns a Kafka client's properties into franz-go
// options. It is the one place fjord's clients (the command line, the
// Streams library, the Connect worker) read Kafka's client property names,
// so that a properties file written for a Java client or for librdkafka
// means the same to all of them.
//
// Model. Properties are a map from Kafka's names to values, read from a
// Java-style .properties file by LoadProperties (the parser is
// config.LoadProperties, shared with the broker's server.properties) or
// built in code. NewSecurity resolves the security ones once into a
// Security: the protocol (security.protocol), the SASL mechanism and
// credentials (sasl.mechanism, sasl.jaas.config, or librdkafka's
// sasl.username and sasl.password) and the TLS key material (ssl.*, with
// librdkafka's ssl.ca.location, ssl.certificate.location and
// ssl.key.location read as Kafka's ssl.truststore.location and key store).
// Every setting is checked then, and every file read then, so a bad value
// is refused with an error naming the property, never at the first
// connection. Security.Opts then gives the kgo options.
//
// Like Kafka's clients, a protocol without SASL ignores sasl.*, and one
// without TLS ignores ssl.*, so that one file can serve several listeners.
// Key material is PEM only (see package tlsconfig). Errors wrap ErrSecurity
// and never contain a password, token or private key; Security.String shows
// what a Security does without its secrets.
//
// Concurrency. A Security is immutable after NewSecurity and safe for
// concurrent use; the TLS material under it reloads itself when its files
// change, as package tlsconfig describes. The package has no global
// mutable state and starts no goroutines.
package clientconf
