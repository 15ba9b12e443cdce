#!/usr/bin/env bash
# CPU profiles of the broker under the throughput workloads, with Linux
# perf (the broker has no pprof endpoint; perf reads Go's symbols and frame
# pointers). Writes $BENCH_OUT/profile-NAME.txt: the top functions by self
# time and by time including callees. Usage: bench/run-profile.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
RECORDS=${RECORDS:-500000}
BROKERS=127.0.0.1:$FJORD_PORT
RELAXED=log.flush.interval.messages=9223372036854775807

# profile NAME COMMAND... records the broker's CPU while COMMAND runs. The
# cpu-clock event works in VMs without hardware counters.
profile() {
	local name=$1 perf_pid
	shift
	wait_quiet
	perf record -e cpu-clock -F 999 -g -p "$BROKER_PID" -o "$BENCH_OUT/perf-$name.data" \
		>/dev/null 2>&1 &
	perf_pid=$!
	"$@" >"$BENCH_OUT/profile-$name.summary.json"
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
	{
		echo "# $name: $(cat "$BENCH_OUT/profile-$name.summary.json")"
		echo "## self"
		perf report -i "$BENCH_OUT/perf-$name.data" --stdio --no-children --sort symbol \
			--percent-limit 1 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | sed 's/ *- *- *$//' | head -40 || true
		echo "## including callees"
		perf report -i "$BENCH_OUT/perf-$name.data" --stdio --children --sort symbol \
			--percent-limit 3 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | sed 's/ *- *- *$//' | head -50 || true
	} >"$BENCH_OUT/profile-$name.txt"
	log "profile $name -> $BENCH_OUT/profile-$name.txt"
}

produce() {
	"$FJORD" bench produce --brokers "$BROKERS" --quiet --acks all --idempotent=true \
		--linger 10ms --batch-bytes 1000000 "$@"
}

dir=$BENCH_DATA/fjord-profile
retry_bind start_fjord "$dir"
profile durable_1KiB produce --topic t1k --records "$RECORDS" --record-size 1024
stop_broker
drop_data "$dir"

retry_bind start_fjord "$dir" "$RELAXED"
profile relaxed_1KiB produce --topic t1k --records "$RECORDS" --record-size 1024
profile consume_1KiB "$FJORD" bench consume --brokers "$BROKERS" --quiet --topic t1k --records "$RECORDS"
profile relaxed_100B produce --topic t100 --records "${RECORDS_100B:-5000000}" --record-size 100
stop_broker
drop_data "$dir"
