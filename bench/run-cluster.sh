#!/usr/bin/env bash
# Issue 5's three-node numbers: starts three combined-mode nodes on
# loopback (each a controller voter and a broker) with fresh data, creates
# an RF=3 topic and runs one `fjord bench` against it, then stops the nodes.
# Every round starts a fresh cluster after a `sync`, because this machine's
# disk slows down once a few GB were written (docs/performance.md).
#
# Usage: bench/run-cluster.sh produce|acks1|relaxed|e2e [RECORDS]
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
for n in 1 2 3; do
	"$FJORD" server --node-id "$n" --controllers "$V" --controller-listen "127.0.0.1:2910$n" \
		--listen "127.0.0.1:2909$n" --data-dir "$dir/d$n" --log-level warn >"$dir/log$n" 2>&1 &
	pids+=($!)
done
for _ in $(seq 1 200); do
	[ "$(grep -l 'broker ready' "$dir"/log? 2>/dev/null | wc -l)" = 3 ] && break
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
"$FJORD" topic create t --partitions 8 --replication-factor 3 --brokers "$BROKERS" "${topic_config[@]}" >/dev/null
# The leaders learn of the topic a moment after the controller.
sleep 1
"$FJORD" "${bench[@]}"
