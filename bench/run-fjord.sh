#!/usr/bin/env bash
# fjord's numbers, one round: targets 1 to 5 of docs/performance.md, each
# against `fjord server` as a separate process with its data on the same
# disk as the fio runs. Usage: bench/run-fjord.sh [ROUND].
#
# Environment: RECORDS (default 500000 x 1 KiB), RECORDS_100B (5000000),
# E2E_RECORDS (20000 at 2000/s), LATENCY_RECORDS (3000), and those of
# bench/run-lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
ROUND=${1:-1}
RECORDS=${RECORDS:-500000}
RECORDS_100B=${RECORDS_100B:-5000000}
E2E_RECORDS=${E2E_RECORDS:-20000}
LATENCY_RECORDS=${LATENCY_RECORDS:-3000}
BROKERS=127.0.0.1:$FJORD_PORT
# Kafka's default durability: never fsync because of a message count (the
# broker property for the topic default flush.messages).
RELAXED=log.flush.interval.messages=9223372036854775807

# The workload of every throughput run: acks=all, idempotent, linger 10 ms,
# 1 MB batches (fjord bench's defaults, spelled out).
produce() {
	"$FJORD" bench produce --brokers "$BROKERS" --quiet --acks all --idempotent=true \
		--linger 10ms --batch-bytes 1000000 "$@"
}

# produce_measured NAME ARGS... runs produce and records its summary with
# the broker's CPU seconds per GiB of record values ingested.
produce_measured() {
	local name=$1 load cpu0 cpu1 summary
	shift
	wait_quiet
	load=$(load1)
	cpu0=$(cpu_seconds "$BROKER_PID")
	summary=$(produce "$@")
	cpu1=$(cpu_seconds "$BROKER_PID")
	record "$name" "$ROUND" "$(jq -c --argjson c0 "$cpu0" --argjson c1 "$cpu1" \
		'{records_per_sec, mib_per_sec, latency_ms,
		  broker_cpu_seconds: ($c1 - $c0),
		  broker_cpu_s_per_gib: (($c1 - $c0) / (.bytes / 1073741824))}' <<<"$summary")" "$load"
}

# Target 1: durable produce (the default: fsync before ack, group commit).
dir=$BENCH_DATA/fjord-durable
retry_bind start_fjord "$dir"
produce_measured fjord.durable_1KiB --topic t1k --records "$RECORDS" --record-size 1024
stop_broker
drop_data "$dir"

# Targets 2 and 3: relaxed flush, 1 KiB then 100 B; target 4 reads the
# 1 KiB topic back while it is in the page cache.
dir=$BENCH_DATA/fjord-relaxed
retry_bind start_fjord "$dir" "$RELAXED"
produce_measured fjord.relaxed_1KiB --topic t1k --records "$RECORDS" --record-size 1024
wait_quiet
load=$(load1)
summary=$("$FJORD" bench consume --brokers "$BROKERS" --quiet --topic t1k --records "$RECORDS")
record fjord.consume_1KiB "$ROUND" "$(jq -c '{records_per_sec, mib_per_sec}' <<<"$summary")" "$load"
produce_measured fjord.relaxed_100B --topic t100 --records "$RECORDS_100B" --record-size 100
stop_broker
drop_data "$dir"

# Target 5a: one record in flight with fsync. fjord bench has no
# max-in-flight flag, so two measurements: the Go benchmark's closed loop
# (ProduceSync, one record at a time: records/s), and an open loop at
# 500 records/s with linger 0, slower than one round trip, so that a record
# is almost never sent before the previous one is acknowledged (p50).
wait_quiet
load=$(load1)
ns=$(FJORD_TEST_BINARY=$FJORD "$BIN_DIR/bench.test" -test.run '^$' \
	-test.bench '^BenchmarkProduceToAck$/^sync$' -test.benchtime "${LATENCY_RECORDS}x" |
	awk '$1 ~ /^BenchmarkProduceToAck\/sync/ { print $3 }')
record fjord.one_in_flight_closed_loop "$ROUND" \
	"$(jq -nc --argjson ns "$ns" '{records_per_sec: (1e9 / $ns), mean_ms: ($ns / 1e6)}')" "$load"

dir=$BENCH_DATA/fjord-latency
retry_bind start_fjord "$dir"
wait_quiet
load=$(load1)
summary=$(produce --topic lat --records "$LATENCY_RECORDS" --record-size 1024 --linger 0 --rate 500 --producers 1)
record fjord.one_in_flight_open_loop_500 "$ROUND" "$(jq -c '{records_per_sec, latency_ms}' <<<"$summary")" "$load"

# Target 5b: end-to-end at 2,000 records/s of 1 KiB, fsync before ack;
# with linger 0 (a latency-minded producer) and fjord bench's 10 ms.
e2e() {
	local name=$1 load summary
	shift
	wait_quiet
	load=$(load1)
	summary=$("$FJORD" bench e2e --brokers "$BROKERS" --quiet --rate 2000 --records "$E2E_RECORDS" \
		--record-size 1024 "$@")
	record "$name" "$ROUND" "$(jq -c '{records_per_sec, latency_ms}' <<<"$summary")" "$load"
}
e2e fjord.e2e_2000_fsync_linger0 --topic e2e0 --linger 0
e2e fjord.e2e_2000_fsync_linger10ms --topic e2e10 --linger 10ms
stop_broker
drop_data "$dir"

dir=$BENCH_DATA/fjord-latency-relaxed
retry_bind start_fjord "$dir" "$RELAXED"
e2e fjord.e2e_2000_relaxed_linger0 --topic e2e0 --linger 0
e2e fjord.e2e_2000_relaxed_linger10ms --topic e2e10 --linger 10ms
stop_broker
drop_data "$dir"
