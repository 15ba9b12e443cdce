#!/usr/bin/env bash
# Issue 5's three-node numbers: starts three combined-mode nodes on
# loopback (each a controller voter and a broker) with fresh data, creates
# an RF=3 topic and runs one `fjord bench` against it, then stops the nodes.
# Every round starts a fresh cluster after a `sync`, because this machine's
# disk slows down once a few GB were written (docs/performance.md).
#
# Usage: [NODES=1] bench/run-cluster.sh produce|acks1|relaxed|e2e [RECORDS]
# NODES=1 is the baseline: the same topic and workload on one node alone
# (replication factor 1), started and measured the same way.
#
# It prints the bench's JSON summary with the brokers' CPU seconds and the
# bytes the disk took during the run (/proc/diskstats) added.
# Environment: FJORD (binary, default ./fjord), BENCH_DATA (scratch dir on
# the disk being measured, default /var/tmp/fjord-bench/data).
set -euo pipefail
cd "$(dirname "$0")/.."
FJORD=${FJORD:-./fjord}
BENCH_DATA=${BENCH_DATA:-/var/tmp/fjord-bench/data}
MODE=${1:-produce}
RECORDS=${2:-1000000}
V=1@127.0.0.1:29101,2@127.0.0.1:29102,3@127.0.0.1:29103
BROKERS=127.0.0.1:29091

dir=$BENCH_DATA/fjord-cluster
rm -rf "$dir"
mkdir -p "$dir"
sync
sleep 2
pids=()
stop() {
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	rm -rf "$dir"
}
trap stop EXIT
nodes=${NODES:-3}
case $nodes in 1 | 3) ;; *) echo "NODES must be 1 or 3" >&2; exit 2 ;; esac
rf=$nodes
if [ "$nodes" = 1 ]; then
	"$FJORD" server --listen "$BROKERS" --data-dir "$dir/d1" --log-level warn >"$dir/log1" 2>&1 &
	pids+=($!)
else
	for n in 1 2 3; do
		"$FJORD" server --node-id "$n" --controllers "$V" --controller-listen "127.0.0.1:2910$n" \
			--listen "127.0.0.1:2909$n" --data-dir "$dir/d$n" --log-level warn >"$dir/log$n" 2>&1 &
		pids+=($!)
	done
fi
for _ in $(seq 1 200); do
	[ "$(grep -l 'broker ready' "$dir"/log? 2>/dev/null | wc -l)" = "$nodes" ] && break
	sleep 0.1
done

topic_config=()
bench=(bench produce --brokers "$BROKERS" --topic t --records "$RECORDS" --record-size 1024 --quiet)
case $MODE in
produce) ;;
acks1) bench+=(--acks 1) ;;
relaxed) topic_config=(--config flush.messages=9223372036854775807) ;;
e2e) bench=(bench e2e --brokers "$BROKERS" --topic t --rate 2000 --records 20000 --record-size 1024 --linger 0s --quiet) ;;
*) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
"$FJORD" topic create t --partitions 8 --replication-factor "$rf" --brokers "$BROKERS" "${topic_config[@]}" >/dev/null
# The leaders learn of the topic a moment after the controller.
sleep 1

cpu_total() { for p in "${pids[@]}"; do awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15) / t }' "/proc/$p/stat"; done | awk '{ s += $1 } END { printf "%.2f\n", s }'; }
# Sectors of 512 bytes written to the disk holding BENCH_DATA.
disk=$(lsblk -no PKNAME "$(df --output=source "$BENCH_DATA" | tail -1)" 2>/dev/null || true)
[ -n "$disk" ] || disk=$(basename "$(df --output=source "$BENCH_DATA" | tail -1)")
written() { awk -v d="$disk" '$3 == d { printf "%.0f\n", $10 * 512 }' /proc/diskstats; }
cpu0=$(cpu_total) w0=$(written)
summary=$("$FJORD" "${bench[@]}")
cpu1=$(cpu_total) w1=$(written)
jq -c --arg workload "$MODE" --argjson nodes "$nodes" --argjson c "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" \
	--argjson w "$(awk -v a="${w0:-0}" -v b="${w1:-0}" 'BEGIN { printf "%.0f", (b - a) / 1048576 }')" \
	'{nodes: $nodes, workload: $workload} + . + {broker_cpu_seconds: $c, disk_written_mib: $w}' <<<"$summary"
