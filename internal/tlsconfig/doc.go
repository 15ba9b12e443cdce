// Package tlsconfig builds fjord's TLS settings from Kafka's ssl.* properties
// and maps a client certificate to a Kafka principal.
//
// Model. A Server (one per SSL or SASL_SSL listener) or a Client (inter-broker,
// controller and CLI connections) is built once from a property map with
// Kafka's names. Every property is validated at build time, so a bad value is
// refused with an error naming the property, never at the first handshake.
// For a listener, listener.name.<name>.ssl.X wins over ssl.X, key by key, as
// in Kafka.
//
// Key material is PEM only (KIP-651): a key store is a private key plus its
// certificate chain, from ssl.keystore.location or inline in
// ssl.keystore.key and ssl.keystore.certificate.chain; a trust store is a
// list of CA certificates from ssl.truststore.location or inline in
// ssl.truststore.certificates. Without a trust store the system roots are
// used, as Java falls back to its default trust store. Only TLS 1.2 and 1.3
// are ever enabled.
//
// The material in use is one immutable generation (certificate, trust pool and,
// on the server, the derived *tls.Config) behind an atomic pointer. When the
// key store or trust store files change (other inode, size or modification
// time), the next handshake at least ReloadCheckInterval after the previous
// check, or an explicit Reload, reads them again and swaps in a new
// generation. Handshakes that have started keep the generation they loaded;
// open connections are never touched. A replacement that fails to load leaves
// the old generation in place and is reported once through
// Options.OnReloadError (or Reload's error); it is retried when the files
// change again. Each generation has its own session ticket key, so a session
// resumed after a reload was authenticated with the material of that reload,
// as Kafka's new SSLContext on reconfiguration gives it a new session cache.
//
// Principals. PrincipalName formats a certificate subject exactly as Java's
// X500Principal.getName() does (RFC 2253), and MappingRules applies
// ssl.principal.mapping.rules (KIP-371) to it, with Kafka's rule syntax and
// Go's RE2 regular expressions.
//
// Concurrency. Server and Client are safe for concurrent use by any number of
// handshakes and one or more Reload callers. A single mutex (store.mu) guards
// the file check; a handshake that finds it held by another check does not
// wait and uses the current generation. OnReloadError is called with no lock
// held, from whichever goroutine ran the check. MappingRules is immutable
// after parsing. The package has no global mutable state and starts no
// goroutines.
package tlsconfig
