#!/usr/bin/env bash
# The peers, one round, with fjord's throughput workload: franz-go's kfake
# (in memory; with a data directory; with a data directory and fsync per
# batch) driven by the same `fjord bench produce`, and NATS JetStream with
# file storage driven by `nats bench js pub`. Usage: bench/run-peers.sh [ROUND].
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
ROUND=${1:-1}
RECORDS=${RECORDS:-500000}

# kfake_run NAME [kfake flags] measures 500,000 x 1 KiB, acks=all,
# idempotent, linger 10 ms, 1 MB batches against one kfake configuration.
kfake_run() {
	local name=$1 load cpu0 cpu1 summary
	shift
	retry_bind start_kfake "$@"
	wait_quiet
	load=$(load1)
	cpu0=$(cpu_seconds "$BROKER_PID")
	summary=$("$FJORD" bench produce --brokers "127.0.0.1:$KFAKE_PORT" --quiet --topic t1k \
		--records "$RECORDS" --record-size 1024 --acks all --idempotent=true --linger 10ms \
		--batch-bytes 1000000)
	cpu1=$(cpu_seconds "$BROKER_PID")
	record "$name" "$ROUND" "$(jq -c --argjson c0 "$cpu0" --argjson c1 "$cpu1" \
		'{records_per_sec, mib_per_sec, latency_ms,
		  broker_cpu_s_per_gib: (($c1 - $c0) / (.bytes / 1073741824))}' <<<"$summary")" "$load"
	stop_broker
}

kfake_run kfake.memory_1KiB
dir=$BENCH_DATA/kfake-disk
kfake_run kfake.disk_1KiB --data-dir "$dir"
rm -rf "$dir"
dir=$BENCH_DATA/kfake-sync
kfake_run kfake.disk_sync_1KiB --data-dir "$dir" --sync
rm -rf "$dir"

# NATS JetStream, file storage, one replica, the server's defaults: it
# fsyncs every 2 minutes (sync_interval), so a run of a few seconds never
# waits for the disk. `nats bench js pub` publishes asynchronously with up
# to 500 acks outstanding (--batch), its counterpart of a pipelined
# producer. The stream's limit is raised from 1 GB so no run hits it.
nats_run() {
	local name=$1 size=$2 msgs=$3 load
	dir=$BENCH_DATA/nats
	retry_bind start_nats "$dir"
	wait_quiet
	load=$(load1)
	"$NATS" -s "nats://127.0.0.1:$NATS_PORT" bench js pub bench.t --create --storage file \
		--maxbytes 4GB --msgs "$msgs" --size "$size" --no-progress --csv "$dir.csv" >"$dir.bench.log" 2>&1
	# The CSV counts bytes per second of payload; MsgCount is not reliable
	# (v0.2.4 doubles it), so the rate is derived from MsgsPerSec.
	record "$name" "$ROUND" "$(awk -F, -v size="$size" 'NR == 2 {
		printf "{\"records_per_sec\":%s,\"mib_per_sec\":%.3f}", $5, $5 * size / 1048576 }' "$dir.csv")" "$load"
	stop_broker
	drop_data "$dir"
	rm -f "$dir.csv" "$dir.bench.log"
}
nats_run nats.js_file_1KiB 1024 "$RECORDS"
nats_run nats.js_file_100B 100 "${RECORDS_100B:-5000000}"
