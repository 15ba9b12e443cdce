#!/usr/bin/env bash
# Physical limits of this machine, one round: sequential write with fsync
# after every 1 MiB, 4 KiB write + fdatasync, page-cache read and loopback
# TCP. Usage: bench/run-limits.sh [ROUND] (results in $BENCH_OUT/results.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
ROUND=${1:-1}
SEQ_SIZE=${SEQ_SIZE:-2G}

dir=$BENCH_DATA/fio
mkdir -p "$dir"

# Sequential 1 MiB writes, fsync after each: the ceiling for a log that
# syncs every batch of about 1 MiB.
wait_quiet
load=$(load1)
fio --output-format=json --name=seq --rw=write --bs=1M --size="$SEQ_SIZE" --fsync=1 \
	--directory="$dir" >"$dir/seq.json"
record limit.seq_write_fsync_1MiB "$ROUND" "$(jq -c '.jobs[0].write |
	{mib_per_sec: (.bw_bytes / 1048576)}' "$dir/seq.json")" "$load"

# Page-cache read of the file just written: it is still cached (2 GiB of
# 23 GiB), so this reads memory through the kernel's read path.
wait_quiet
load=$(load1)
fio --output-format=json --name=seq --rw=read --bs=1M --size="$SEQ_SIZE" --invalidate=0 \
	--directory="$dir" >"$dir/read.json"
record limit.page_cache_read "$ROUND" "$(jq -c '.jobs[0].read |
	{mib_per_sec: (.bw_bytes / 1048576)}' "$dir/read.json")" "$load"
rm -f "$dir"/seq.*

# 4 KiB writes each followed by fdatasync: the latency floor of one
# durable record. p50 is the write's plus the fdatasync's median.
wait_quiet
load=$(load1)
fio --output-format=json --name=small --rw=write --bs=4k --size=64M --fdatasync=1 \
	--directory="$dir" >"$dir/small.json"
record limit.write_4KiB_fdatasync "$ROUND" "$(jq -c '.jobs[0] |
	{per_sec: .write.iops,
	 p50_ms: ((.write.clat_ns.percentile["50.000000"] + .sync.lat_ns.percentile["50.000000"]) / 1e6)}' \
	"$dir/small.json")" "$load"
rm -f "$dir"/small.*

# Loopback TCP, one stream, as one client connection to a broker.
wait_quiet
load=$(load1)
iperf3 -s -p "$IPERF_PORT" >"$dir/iperf-server.log" 2>&1 &
server=$!
for ((i = 0; i < 100; i++)); do
	if ss -ltn "sport = :$IPERF_PORT" | grep -q LISTEN; then
		break
	fi
	sleep 0.05
done
iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t 5 -J >"$dir/iperf.json" 2>&1 || true
kill "$server"
wait "$server" || true
if jq -e '.error' "$dir/iperf.json" >/dev/null; then
	log "iperf3: $(jq -r .error "$dir/iperf.json")"
	cat "$dir/iperf-server.log" >&2
fi
record limit.loopback_tcp "$ROUND" "$(jq -c '.end.sum_received |
	{mib_per_sec: (.bits_per_second / 8 / 1048576)}' "$dir/iperf.json")" "$load"
rm -rf "$dir"
