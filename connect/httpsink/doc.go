// Package httpsink holds fjord's HTTP sink connector, which sends the
// values of Kafka records in the bodies of HTTP requests to one URL, as
// Confluent's HTTP Sink connector does and with its configuration names,
// so that configurations and habits carry over. Register adds it to a
// connect.Registry as HttpSinkConnector (io.fjord.connect.http.HttpSinkConnector,
// alias HttpSink). It uses only the public connector API: packages connect
// and converters (for Kafka's string forms of values).
//
//	connector.class=HttpSink
//	topics=orders
//	http.api.url=https://api.example.com/v1/orders
//	request.method=POST
//	request.body.format=json
//	batch.max.size=50
//	headers=X-Source:fjord|X-Tenant:shop
//	auth.type=basic
//	connection.user=fjord
//	connection.password=${file:/etc/fjord/secrets.properties:http.password}
//	max.retries=10
//	retry.backoff.ms=3000
//	errors.tolerance=all
//	errors.deadletterqueue.topic.name=orders-http-dlq
//
// # Bodies
//
// Each request carries the values of up to batch.max.size records, in the
// order they were put. With request.body.format=json a value is written as
// JSON: a Struct as an object with its fields in schema order (a null
// field as null, an unset one as its default), a map as an object (keys in
// sorted order; a map whose keys are not all strings as an array of
// [key, value] pairs, as Kafka's JsonConverter writes it), an array as an
// array, numbers and booleans as themselves, float NaN and infinities as
// the strings "NaN", "Infinity" and "-Infinity" (JSON has no such
// numbers), bytes as a base64 string, a Decimal as a JSON number in its
// exact decimal form (123.45, 1.5E+3: a receiver parsing numbers as
// doubles may round it), a Date as "2024-03-01", a Time as
// "13:45:30.123" and a Timestamp as "2024-03-01T13:45:30.123Z" (ISO 8601,
// UTC). With batch.max.size=1 the body is the one value; above 1 it is
// always a JSON array of the values, even of a single record, so that the
// receiver sees one shape. The Content-Type is application/json.
//
// With request.body.format=string (the default, as in Confluent's) a value
// is written in its string form, as Kafka's StringConverter writes it (a
// string or bytes as they are, a Struct as Struct{id=42}), and the body is
// batch.prefix, the values joined by batch.separator, then batch.suffix.
// Those three keys are taken as written, white space included, so that a
// separator may be a newline. The Content-Type is text/plain;
// charset=utf-8. A Content-Type in headers overrides either.
//
// A record with a null value (a tombstone) is skipped with
// behavior.on.null.values=ignore, the default, and is a failed record with
// fail. A value that cannot be written (a Go type outside Connect's data
// model) is a failed record too.
//
// # Delivery
//
// Put buffers records and sends a request as soon as batch.max.size
// records wait; Flush sends what is left. Requests are sent one at a time
// and synchronously, so records reach the endpoint in the order of each
// partition, and Flush returns nil only when every request since the last
// Flush succeeded: the worker commits offsets only after delivery. Delivery
// is at least once: a record is sent again after a retry whose first
// attempt did reach the server, or after a restart before its offset was
// committed.
//
// Responses: 2xx is success. 5xx, 408, 429 and failures to get a response
// at all (refused connections, timeouts of http.request.timeout.ms) are
// retried up to max.retries times, after a backoff that starts at
// retry.backoff.ms and doubles at each retry up to retry.backoff.max.ms,
// with jitter (a random half of each wait), or after the wait a
// Retry-After header asks for (in seconds, or as an HTTP date measured
// against the response's Date header), capped at retry.backoff.max.ms too.
// Once the retries are spent the task fails. Other 4xx responses mean the
// endpoint refuses these records: they go to the worker's errant record
// reporter when the connector has one (errors.tolerance=all with a dead
// letter queue), with an error naming the status and the start of the
// response body, and the task goes on; without one the task fails with
// that error (a StatusError). Redirects are not followed: a 3xx fails the
// task, as it means the URL needs fixing, not the records.
//
// # Differences from Confluent's connector
//
//   - No ${topic} or ${key} substitution in http.api.url, no OAuth2, proxy
//     or TLS keys (the proxy comes from HTTPS_PROXY and the other usual
//     variables, certificates from the system), no behavior.on.error,
//     retry.on.status.codes, report.errors.as or success and error topics.
//   - request.method takes POST, PUT and PATCH; behavior.on.null.values
//     takes ignore and fail (not log or delete).
//   - JSON batches are arrays whenever batch.max.size is above 1; there is
//     no batch.json.as.array, and batch.prefix, batch.suffix and
//     batch.separator apply to the string format only.
//   - retry.backoff.max.ms caps the exponential backoff and Retry-After.
//   - A batch is also sent once its values reach 16 MiB, whatever
//     batch.max.size says, to bound a task's memory.
//
// # Concurrency
//
// As package connect says, the worker calls the connector and each task
// from one goroutine at a time; they hold no locks and start no goroutines
// (the HTTP client's connections have their own, closed by Stop). A task
// blocks in Put or Flush while it sends and retries; canceling the call's
// context ends the wait at once, keeping the unsent records buffered for
// the next Flush.
package httpsink

import (
	"fmt"

	"github.com/fjordhq/fjord/connect"
)

// Version is the connector's version, as GET /connector-plugins shows it.
const Version = "0.1.0"

// Class is the connector's class name; Kafka's automatic aliases make
// "HttpSinkConnector" and "HttpSink" find it too.
const Class = "io.fjord.connect.http.HttpSinkConnector"

// Register adds the HTTP sink connector to r.
func Register(r *connect.Registry) error {
	if err := r.Register(connect.Plugin{Class: Class, New: func() connect.Connector { return &HttpSinkConnector{} }}); err != nil {
		return fmt.Errorf("http sink connector: %w", err)
	}
	return nil
}
