#!/usr/bin/env bash
# Target 6, one round: one node with 10,000 partitions. Creates a topic of
# PARTITIONS partitions, writes records across it, and measures the
# broker's RSS and open files, then restarts it on the same data and
# measures the time from exec to "broker ready" and the RSS again.
# Usage: bench/run-partitions.sh [ROUND].
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
ROUND=${1:-1}
PARTITIONS=${PARTITIONS:-10000}
BROKERS=127.0.0.1:$FJORD_PORT

dir=$BENCH_DATA/fjord-partitions
drop_data "$dir"
wait_quiet
load=$(load1)
retry_bind start_fjord "$dir"
"$FJORD" topic create many --brokers "$BROKERS" --partitions "$PARTITIONS" --timeout 120s >/dev/null
# 100 B records with linger 0: kgo's sticky partitioner moves to another
# partition with every batch, so many partitions get a segment.
"$FJORD" bench produce --brokers "$BROKERS" --quiet --topic many --records 200000 --record-size 100 \
	--linger 0 --timeout 120s >/dev/null
with_data=$(find "$dir" -name '*.log' -size +0 | wc -l)
rss_running=$(rss_mib "$BROKER_PID")
fds_running=$(find "/proc/$BROKER_PID/fd" -mindepth 1 | wc -l)
stop_broker

retry_bind start_fjord "$dir"
startup=$BROKER_START_SECONDS
rss_started=$(rss_mib "$BROKER_PID")
fds_started=$(find "/proc/$BROKER_PID/fd" -mindepth 1 | wc -l)
# The restarted broker still serves: a short produce must succeed.
"$FJORD" bench produce --brokers "$BROKERS" --quiet --topic many --records 10000 --record-size 100 \
	--timeout 120s >/dev/null
rss_after=$(rss_mib "$BROKER_PID")
stop_broker
record "fjord.partitions_$PARTITIONS" "$ROUND" "$(jq -nc \
	--argjson p "$PARTITIONS" --argjson d "$with_data" --argjson r1 "$rss_running" \
	--argjson f1 "$fds_running" --argjson s "$startup" --argjson r2 "$rss_started" \
	--argjson f2 "$fds_started" --argjson r3 "$rss_after" \
	'{partitions: $p, partitions_with_data: $d, rss_mib_loaded: $r1, open_files_loaded: $f1,
	  startup_seconds: $s, rss_mib_after_restart: $r2, open_files_after_restart: $f2,
	  rss_mib_after_restart_and_produce: $r3}')" "$load"
drop_data "$dir"
