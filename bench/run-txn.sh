#!/usr/bin/env bash
# Transactions beside idempotent produce, one round (issue 14): on one
# `fjord server` with its defaults (fsync before every acknowledgement),
# 1 KiB records, acks=all, one producer and one partition:
#   - idempotent produce (the baseline),
#   - transactional produce, transactions of 1 MiB (1,024 records),
#   - transactional produce, transactions of 100 records,
# then the 1 MiB-transaction topic read back read_uncommitted and
# read_committed. Usage: bench/run-txn.sh [ROUND].
#
# Environment: RECORDS (default 200000) and those of bench/run-lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
ROUND=${1:-1}
RECORDS=${RECORDS:-200000}
BROKERS=127.0.0.1:$FJORD_PORT

produce() {
	local name=$1 load summary
	shift
	wait_quiet
	load=$(load1)
	summary=$("$FJORD" bench produce --brokers "$BROKERS" --quiet --acks all --idempotent=true \
		--linger 10ms --batch-bytes 1000000 --record-size 1024 --records "$RECORDS" "$@")
	record "$name" "$ROUND" "$(jq -c '{records_per_sec, mib_per_sec, latency_ms, transactions, commit_latency_ms}' <<<"$summary")" "$load"
}

consume() {
	local name=$1 load summary
	shift
	wait_quiet
	load=$(load1)
	summary=$("$FJORD" bench consume --brokers "$BROKERS" --quiet --records "$RECORDS" "$@")
	record "$name" "$ROUND" "$(jq -c '{records_per_sec, mib_per_sec}' <<<"$summary")" "$load"
}

dir=$BENCH_DATA/fjord-txn
retry_bind start_fjord "$dir"
produce fjord.txn.idempotent_1KiB --topic idem
produce fjord.txn.txn_1MiB --topic txn1m --transaction-records 1024
produce fjord.txn.txn_100 --topic txn100 --transaction-records 100
consume fjord.txn.consume_read_uncommitted --topic txn1m --isolation read_uncommitted
consume fjord.txn.consume_read_committed --topic txn1m --isolation read_committed
stop_broker
drop_data "$dir"
