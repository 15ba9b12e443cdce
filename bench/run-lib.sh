# shellcheck shell=bash
# Shared helpers for the bench/run-*.sh scripts; sourced, never run. Every
# measurement appends one JSON object to $BENCH_OUT/results.jsonl with its
# name, round, the 1-minute load average when it started and its numbers;
# bench/run-report.sh turns that file into the medians of docs/performance.md.
#
# Environment (all optional):
#   BENCH_OUT       results directory             (default /var/tmp/fjord-bench/out)
#   BENCH_DATA      scratch data directory, must be on the disk being measured
#                                                 (default /var/tmp/fjord-bench/data)
#   FJORD           fjord binary                  (default /var/tmp/fjord-bench/bin/fjord)
#   KFAKE           kfake peer binary             (default /var/tmp/fjord-bench/bin/kfake)
#   NATS_SERVER     nats-server v2.15.2           (default $(go env GOPATH)/bin/nats-server)
#   NATS            natscli v0.2.4                (default /usr/local/bin/nats)
#   QUIET_LOAD      1-minute load to wait for before each run  (default 0.5)
#   QUIET_MAX_WAIT  seconds to wait for quiet before running anyway (default 120)
#   QUIET_TOTAL_WAIT  seconds a whole run may spend waiting (default 1800)

set -euo pipefail

BENCH_ROOT=${BENCH_ROOT:-/var/tmp/fjord-bench}
BENCH_OUT=${BENCH_OUT:-$BENCH_ROOT/out}
BENCH_DATA=${BENCH_DATA:-$BENCH_ROOT/data}
BIN_DIR=${BIN_DIR:-$BENCH_ROOT/bin}
FJORD=${FJORD:-$BIN_DIR/fjord}
KFAKE=${KFAKE:-$BIN_DIR/kfake}
NATS_SERVER=${NATS_SERVER:-$(go env GOPATH)/bin/nats-server}
NATS=${NATS:-/usr/local/bin/nats}
QUIET_LOAD=${QUIET_LOAD:-0.5}
QUIET_MAX_WAIT=${QUIET_MAX_WAIT:-120}
QUIET_TOTAL_WAIT=${QUIET_TOTAL_WAIT:-1800}
RESULTS=$BENCH_OUT/results.jsonl
# Distinct ports so a broker left over from an aborted run is noticed as
# "address in use" instead of being measured by mistake.
FJORD_PORT=${FJORD_PORT:-29092}
KFAKE_PORT=${KFAKE_PORT:-29093}
NATS_PORT=${NATS_PORT:-24222}
IPERF_PORT=${IPERF_PORT:-25201}
CLK_TCK=$(getconf CLK_TCK)

mkdir -p "$BENCH_OUT" "$BENCH_DATA"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# idle_fraction SECONDS prints the fraction of CPU time both cores spent
# idle over the next SECONDS.
idle_fraction() {
	local a b
	a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	sleep "$1"
	b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%.3f\n", (y[1] - x[1]) / (y[2] - x[2]) }'
}

# wait_quiet waits until nobody else uses the machine, so a measurement
# does not share the two cores with someone's compile: either the 1-minute
# load is below QUIET_LOAD, or both cores were at least 95% idle over the
# last 3 seconds (the load average alone would keep counting this script's
# own previous run for minutes). It gives up after QUIET_MAX_WAIT seconds,
# and stops waiting at all once the whole run has waited QUIET_TOTAL_WAIT
# seconds; results.jsonl records the load either way.
wait_quiet() {
	local waited=0 total=0 idle
	[[ -f $BENCH_OUT/waited-seconds ]] && total=$(cat "$BENCH_OUT/waited-seconds")
	while awk -v l="$(load1)" -v q="$QUIET_LOAD" 'BEGIN { exit !(l >= q) }'; do
		idle=$(idle_fraction 3)
		waited=$((waited + 3))
		if awk -v i="$idle" 'BEGIN { exit !(i >= 0.95) }'; then
			break
		fi
		if ((waited >= QUIET_MAX_WAIT || total + waited >= QUIET_TOTAL_WAIT)); then
			log "load $(load1), idle $idle after waiting ${waited}s; measuring anyway"
			break
		fi
	done
	echo $((total + waited)) >"$BENCH_OUT/waited-seconds"
}

# record NAME ROUND JSON appends JSON (an object) with name, round and load.
record() {
	local name=$1 round=$2 json=$3 load=$4
	jq -c --arg name "$name" --argjson round "$round" --argjson load "$load" \
		'. + {name: $name, round: $round, load1: $load}' <<<"$json" >>"$RESULTS"
	log "$name round $round: $(jq -c 'del(.name,.round)' <<<"$json")"
}

# cpu_seconds PID prints the user+system CPU time the process has used.
cpu_seconds() {
	awk -v tck="$CLK_TCK" '{ printf "%.3f\n", ($14 + $15) / tck }' "/proc/$1/stat"
}

# rss_mib PID prints the resident set size in MiB.
rss_mib() { awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }

# wait_for_line PID FILE PATTERN SECONDS waits for a line in the log of
# process PID, and gives up early if the process exits.
wait_for_line() {
	local pid=$1 file=$2 pattern=$3 limit=$4 i
	for ((i = 0; i < limit * 20; i++)); do
		if grep -q -- "$pattern" "$file" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.05
	done
	log "no line matching '$pattern' in $file (process $pid):"
	tail -20 "$file" "${file%.*}".stderr 2>/dev/null >&2 || true
	return 1
}

BROKER_PID=""

# start_fjord DIR [PROPERTY=VALUE ...] starts `fjord server` on DIR with the
# given broker properties and waits until it accepts clients.
# BROKER_START_SECONDS is the time from exec to the ready line.
start_fjord() {
	local dir=$1
	shift
	mkdir -p "$dir"
	printf '%s\n' "$@" >"$dir.properties"
	local t0
	t0=$(date +%s.%N)
	"$FJORD" server --data-dir "$dir" --listen "127.0.0.1:$FJORD_PORT" --config "$dir.properties" \
		--log-level warn >"$dir.stdout" 2>"$dir.stderr" &
	BROKER_PID=$!
	wait_for_line "$BROKER_PID" "$dir.stdout" "fjord: broker ready on" 120 || return 1
	BROKER_START_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
}

# retry_bind COMMAND... runs a start function again, up to 5 times, while
# its port is briefly taken by some other process on this shared machine.
retry_bind() {
	local i
	for ((i = 1; i <= 5; i++)); do
		if "$@"; then
			return 0
		fi
		wait "$BROKER_PID" 2>/dev/null || true
		BROKER_PID=""
		log "start failed (attempt $i); retrying in 2s"
		sleep 2
	done
	return 1
}

# start_kfake [--data-dir DIR [--sync]] starts the kfake peer.
start_kfake() {
	local log=$BENCH_DATA/kfake.stdout
	"$KFAKE" --port "$KFAKE_PORT" "$@" >"$log" 2>"$BENCH_DATA/kfake.stderr" &
	BROKER_PID=$!
	wait_for_line "$BROKER_PID" "$log" "kfake: ready on" 60 || return 1
}

# start_nats DIR starts nats-server with JetStream file storage on DIR, with
# its defaults (sync_interval 2m: it fsyncs at most every two minutes).
start_nats() {
	local dir=$1
	mkdir -p "$dir"
	"$NATS_SERVER" -js -sd "$dir" -a 127.0.0.1 -p "$NATS_PORT" >"$dir.log" 2>&1 &
	BROKER_PID=$!
	wait_for_line "$BROKER_PID" "$dir.log" "Server is ready" 60 || return 1
}

# stop_broker stops the broker this script started and waits for it.
stop_broker() {
	if [[ -n $BROKER_PID ]]; then
		kill -TERM "$BROKER_PID" 2>/dev/null || true
		wait "$BROKER_PID" 2>/dev/null || true
		BROKER_PID=""
	fi
}
trap stop_broker EXIT

# drop_data DIR removes a finished run's data so the disk never fills.
drop_data() { rm -rf -- "$1" "$1".properties "$1".stdout "$1".stderr "$1".log; }
