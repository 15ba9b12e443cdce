#!/usr/bin/env bash
# Transactions beside idempotent produce, one round (issue 14): 1 KiB
# records, acks=all, on one `fjord server`, twice: with its defaults (fsync
# before every acknowledgement) and with Kafka's flush policy
# (log.flush.interval.messages unbounded: the page cache, no fsync). On each:
#   - one producer, one partition: idempotent produce (the baseline), the
#     same producer waiting for its acknowledgements every 1,024 records
#     (--flush-records: the pace of a producer that runs one transaction at a
#     time, without the transactions), transactions of 1 MiB (1,024 records),
#     of 100 records and of 16 MiB;
#   - four producers, four partitions: idempotent, waiting every 1,024
#     records, and transactions of 1 MiB;
# and on the first, the 1 MiB-transaction topic read back read_uncommitted
# and read_committed, three times each. Usage: bench/run-txn.sh [ROUND].
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
	record "$name" "$ROUND" "$(jq -c '{records_per_sec, mib_per_sec, latency_ms, transactions, commit_latency_ms, flushes, flush_latency_ms}' <<<"$summary")" "$load"
}

consume() {
	local name=$1 load summary
	shift
	wait_quiet
	load=$(load1)
	summary=$("$FJORD" bench consume --brokers "$BROKERS" --quiet --records "$RECORDS" "$@")
	record "$name" "$ROUND" "$(jq -c '{records_per_sec, mib_per_sec}' <<<"$summary")" "$load"
}

# runs NAME: the produce runs against the broker started last.
runs() {
	local p=$1
	produce "$p.idempotent_1KiB" --topic idem
	produce "$p.flush_1024" --topic flush1m --flush-records 1024
	produce "$p.txn_1MiB" --topic txn1m --transaction-records 1024
	produce "$p.txn_100" --topic txn100 --transaction-records 100
	produce "$p.txn_16MiB" --topic txn16m --transaction-records 16384
	produce "$p.idempotent_1KiB_4p" --topic idem4 --partitions 4 --producers 4
	produce "$p.flush_1024_4p" --topic flush4 --partitions 4 --producers 4 --flush-records 1024
	produce "$p.txn_1MiB_4p" --topic txn4 --partitions 4 --producers 4 --transaction-records 1024
}

dir=$BENCH_DATA/fjord-txn
retry_bind start_fjord "$dir"
runs fjord.txn
# Three alternating reads of each: one read takes well under a second.
for i in 1 2 3; do
	consume fjord.txn.consume_read_uncommitted.$i --topic txn1m --isolation read_uncommitted
	consume fjord.txn.consume_read_committed.$i --topic txn1m --isolation read_committed
done
stop_broker
drop_data "$dir"

dir=$BENCH_DATA/fjord-txn-pagecache
retry_bind start_fjord "$dir" "log.flush.interval.messages=9223372036854775807"
runs fjord.txn_pagecache
stop_broker
drop_data "$dir"
