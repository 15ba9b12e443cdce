// Package console is fjord's web console: a single-page application
// embedded in the binary (plain HTML, CSS and JavaScript modules, no build
// step, nothing fetched from elsewhere) and the JSON API under /console/api/
// that the page polls.
//
// The API is a Kafka client. Every handler turns a request into Kafka
// requests through franz-go (kgo, kadm), so the console works against any
// Kafka cluster, fjord or not, and is no way around Kafka's authorization:
// it acts with the identity of its client (Options.ClientOpts). Whoever can
// reach the console's port acts as that identity, so it should listen on
// loopback or sit behind Options.BasicAuth, TLS and a network boundary.
//
// Limits: the message browser returns at most maxBrowseRecords records and
// reads at most maxBrowseBytes per partition fetch; request bodies are read
// up to maxBodyBytes; browses run at most maxConcurrentBrowses at a time,
// because each opens its own consumer client.
//
// Concurrency: HTTP handlers run on the server's goroutines and share the
// admin client (safe for concurrent use) and the sampler's history, which
// is guarded by Console.mu. Run is the only background goroutine: it
// samples end offsets and log sizes every Options.SampleInterval until its
// context ends; Close releases the client after Run has returned.
package console
