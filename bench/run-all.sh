#!/usr/bin/env bash
# Every measurement of docs/performance.md: ROUNDS (default 5) interleaved
# rounds of the physical limits, fjord's targets 1 to 5, the peers and the
# supplementary runs; then target 6 (three rounds), the broker's CPU
# profiles, and the medians.
# Usage, from the repository root, as root on the machine being measured:
#   bench/run-install.sh     # once: tools, fjord, the kfake peer
#   bench/run-all.sh         # about 20 minutes on a quiet machine
# Results: $BENCH_OUT (default /var/tmp/fjord-bench/out): results.jsonl,
# machine.txt, report.md, profile-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
trap - EXIT
ROUNDS=${ROUNDS:-5}

rm -f "$RESULTS" "$BENCH_OUT/waited-seconds"
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "fjord built from: $(cat "$BIN_DIR.commit" 2>/dev/null || echo "the working tree at $(git rev-parse --short HEAD)")"
	echo "cpus: $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "disk: $(df --output=source,fstype,size -h "$BENCH_DATA" | tail -1) ($(findmnt -no OPTIONS --target "$BENCH_DATA"))"
	echo "kernel: $(uname -r)"
	echo "go: $(go version)"
	echo "fio: $(fio --version); iperf3: $(iperf3 --version | head -1)"
	echo "nats-server: $("$NATS_SERVER" --version); natscli: $("$NATS" --version 2>&1)"
	echo "open files limit: $(ulimit -n)"
} >"$BENCH_OUT/machine.txt"
cat "$BENCH_OUT/machine.txt" >&2

for ((round = 1; round <= ROUNDS; round++)); do
	log "round $round of $ROUNDS"
	# A failed script is reported and its measurements are missing from
	# the round; the other rounds still run.
	bench/run-limits.sh "$round" || log "run-limits.sh round $round failed"
	bench/run-fjord.sh "$round" || log "run-fjord.sh round $round failed"
	bench/run-peers.sh "$round" || log "run-peers.sh round $round failed"
	bench/run-supplement.sh "$round" || log "run-supplement.sh round $round failed"
done
for round in 1 2 3; do
	bench/run-partitions.sh "$round" || log "run-partitions.sh round $round failed"
done
bench/run-profile.sh || log "run-profile.sh failed"
bench/run-report.sh >"$BENCH_OUT/report.md"
log "waited $(cat "$BENCH_OUT/waited-seconds")s for a quiet machine in all"
cat "$BENCH_OUT/report.md"
