#!/usr/bin/env bash
# Measurements that explain the headline ones, one round: fio's sequential
# write with fsync per 1 MiB over 512 MiB (the volume of one 500,000 x 1 KiB
# run, where the 2 GiB run also shows the host's write-back slowing down),
# and one record at a time with fsync in an open loop at 1,000 and 1,600
# records/s (linger 0), whose p50 shows what waking idle cores costs.
# Usage: bench/run-supplement.sh [ROUND].
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
ROUND=${1:-1}
BROKERS=127.0.0.1:$FJORD_PORT

dir=$BENCH_DATA/fio
mkdir -p "$dir"
wait_quiet
load=$(load1)
fio --output-format=json --name=seq --rw=write --bs=1M --size=512M --fsync=1 \
	--directory="$dir" >"$dir/seq.json"
record limit.seq_write_fsync_1MiB_512MiB "$ROUND" "$(jq -c '.jobs[0].write |
	{mib_per_sec: (.bw_bytes / 1048576)}' "$dir/seq.json")" "$load"
rm -rf "$dir"

dir=$BENCH_DATA/fjord-open-loop
retry_bind start_fjord "$dir"
for rate in 1000 1600; do
	wait_quiet
	load=$(load1)
	summary=$("$FJORD" bench produce --brokers "$BROKERS" --quiet --topic "lat$rate" --records $((rate * 3)) \
		--record-size 1024 --linger 0 --rate "$rate" --producers 1)
	record "fjord.one_in_flight_open_loop_$rate" "$ROUND" "$(jq -c '{records_per_sec, latency_ms}' <<<"$summary")" "$load"
done
stop_broker
drop_data "$dir"
