#!/usr/bin/env bash
# The cost of security, one round (issue 15). 1 KiB records, acks=all,
# idempotent, 1 MB batches, on one `fjord server` with three listeners:
# PLAINTEXT, SSL (TLS 1.3) and SASL_SSL (SCRAM-SHA-512), produce then
# consume of the same number of records over each. Then, over
# SASL_PLAINTEXT, the same produce and consume by a principal with one
# prefixed ACL, on a broker with ACLs off and on a broker with ACLs on and
# 10,000 more bindings (bench/aclload), so that each check searches a full
# index. Usage: bench/run-security.sh [ROUND].
#
# Environment: RECORDS (default 300000) and those of bench/run-lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
ROUND=${1:-1}
RECORDS=${RECORDS:-300000}
P=$FJORD_PORT
ADMIN=(--sasl-mechanism SCRAM-SHA-512 --sasl-username admin --sasl-password admin-secret)

certs=$BENCH_DATA/security-certs
mkdir -p "$certs"
if [[ ! -f $certs/broker.pem ]]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=bench-ca \
		-keyout "$certs/ca.key" -out "$certs/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=broker \
		-keyout "$certs/broker.key" -out "$certs/broker.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$certs/san.ext"
	openssl x509 -req -in "$certs/broker.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial \
		-days 30 -extfile "$certs/san.ext" -out "$certs/broker.crt" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$certs/broker.key" -out "$certs/broker.pk8"
	cat "$certs/broker.pk8" "$certs/broker.crt" >"$certs/broker.pem"
fi

# start DIR ARGS... starts a broker from DIR.properties with extra flags.
start() {
	local dir=$1
	shift
	mkdir -p "$dir"
	"$FJORD" server --data-dir "$dir" --config "$dir.properties" --log-level warn "$@" \
		>"$dir.stdout" 2>"$dir.stderr" &
	BROKER_PID=$!
	wait_for_line "$BROKER_PID" "$dir.stdout" "fjord: broker ready on" 120
}

run() {
	local name=$1 port=$2 topic=$3 load summary
	shift 3
	wait_quiet
	load=$(load1)
	summary=$("$FJORD" bench produce --brokers "127.0.0.1:$port" --quiet --acks all --idempotent=true \
		--linger 10ms --batch-bytes 1000000 --record-size 1024 --records "$RECORDS" --topic "$topic" "$@")
	record "$name.produce" "$ROUND" "$(jq -c '{records_per_sec, mib_per_sec, latency_ms}' <<<"$summary")" "$load"
	wait_quiet
	load=$(load1)
	summary=$("$FJORD" bench consume --brokers "127.0.0.1:$port" --quiet --records "$RECORDS" --topic "$topic" "$@")
	record "$name.consume" "$ROUND" "$(jq -c '{records_per_sec, mib_per_sec}' <<<"$summary")" "$load"
}

dir=$BENCH_DATA/fjord-security
cat >"$dir.properties" <<PROPS
listeners=PLAINTEXT://127.0.0.1:$P,SSL://127.0.0.1:$((P + 1)),SASL_SSL://127.0.0.1:$((P + 2))
ssl.keystore.location=$certs/broker.pem
sasl.enabled.mechanisms=SCRAM-SHA-512
PROPS
start "$dir" --add-scram 'SCRAM-SHA-512=[name=admin,password=admin-secret]'
run fjord.security.plaintext "$P" plain
run fjord.security.ssl $((P + 1)) ssl --security-protocol SSL --tls-ca "$certs/ca.pem"
run fjord.security.sasl_ssl $((P + 2)) saslssl --security-protocol SASL_SSL --tls-ca "$certs/ca.pem" "${ADMIN[@]}"
stop_broker
drop_data "$dir"

# ACLs: off, then on with 10,000 bindings beside the one the bench needs.
for acls in off on; do
	dir=$BENCH_DATA/fjord-security-acl-$acls
	cat >"$dir.properties" <<PROPS
listeners=SASL_PLAINTEXT://127.0.0.1:$P
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.without.tls.allowed=true
super.users=User:admin
PROPS
	if [[ $acls == on ]]; then
		echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" >>"$dir.properties"
	fi
	start "$dir" --add-scram 'SCRAM-SHA-512=[name=admin,password=admin-secret]' \
		--add-scram 'SCRAM-SHA-512=[name=bench,password=bench-secret]'
	if [[ $acls == on ]]; then
		go run ./bench/aclload -brokers "127.0.0.1:$P" -user admin -password admin-secret -n 10000
		"$FJORD" acl create --brokers "127.0.0.1:$P" --security-protocol SASL_PLAINTEXT "${ADMIN[@]}" \
			--allow-principal User:bench --operation All --topic acl- --resource-pattern-type prefixed >/dev/null
		"$FJORD" acl create --brokers "127.0.0.1:$P" --security-protocol SASL_PLAINTEXT "${ADMIN[@]}" \
			--allow-principal User:bench --operation All --group '*' >/dev/null
		"$FJORD" acl create --brokers "127.0.0.1:$P" --security-protocol SASL_PLAINTEXT "${ADMIN[@]}" \
			--allow-principal User:bench --operation IdempotentWrite --cluster >/dev/null
	fi
	run "fjord.security.acls_$acls" "$P" "acl-$acls" --security-protocol SASL_PLAINTEXT \
		--sasl-mechanism SCRAM-SHA-512 --sasl-username bench --sasl-password bench-secret
	stop_broker
	drop_data "$dir"
done
