// Package bench implements `fjord bench`, a load generator in the manner of
// Kafka's producer and consumer performance tools, on franz-go's kgo client:
//
//   - produce: C producer clients write N records of a fixed size, as fast
//     as they can or at --rate, and the run reports records/s, MiB/s and the
//     per-record produce latency (enqueue to acknowledgement) percentiles;
//   - consume: one client reads N records from the start of every partition
//     (direct partition consumption, no group) and reports records/s, MiB/s;
//   - e2e: one producer writes records carrying their send time while a
//     consumer reads them back, and the run reports end-to-end latency.
//
// Every run prints one JSON summary line on stdout (see Summary) and, unless
// --quiet, a progress line on stderr every second. MiB/s counts record keys
// and values only, 2^20 bytes to the MiB. With --in-process the run starts
// its own broker by exec'ing this binary as `fjord server` on a temporary
// directory and stops it with SIGTERM afterwards; the package never imports
// the broker.
//
// Latencies go into Histogram, a log-linear (HDR-style) histogram with a
// relative error under 1/128, which workers keep separately and merge.
//
// Concurrency: a run is owned by the goroutine calling Run or Execute. It
// starts one goroutine per producer client, one consumer goroutine for e2e,
// one progress goroutine and, with --in-process, one goroutine reading the
// broker's stdout; all end before Execute returns, and cancelling ctx ends a
// run promptly. kgo calls produce promises on its own goroutines: they touch
// only the meter's atomics and a per-client latency recorder behind its
// mutex. Limits: every flag has a bounded range (see options.go); a wait for
// an acknowledgement or for the next record is bounded by --timeout.
package bench
