#!/usr/bin/env bash
# Installs the tools docs/performance.md uses and builds fjord and the kfake
# peer into $BIN_DIR (default /var/tmp/fjord-bench/bin). Run from the
# repository root as root on Debian 12 with Go 1.26. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
trap - EXIT

log "Debian packages: fio, iperf3, perf, jq"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio iperf3 linux-perf jq >/dev/null

# Debian's nats-server is 2.9, which lacks sync_interval; the peer is the
# release the issue names.
log "nats-server v2.15.2"
GOFLAGS= go install github.com/nats-io/nats-server/v2@v2.15.2

# natscli v0.2.4 only builds from a scratch module with the checksum
# database off (some of its dependencies' sums do not verify).
if ! "$NATS" --version 2>/dev/null | grep -q '^v\?0\.2\.4'; then
	log "natscli v0.2.4"
	scratch=$(mktemp -d)
	(
		cd "$scratch"
		go mod init natscli-build >/dev/null 2>&1
		GOFLAGS=-mod=mod GONOSUMDB='*' GONOSUMCHECK=1 GOSUMDB=off \
			go get github.com/nats-io/natscli/nats@v0.2.4
		GOFLAGS=-mod=mod GOSUMDB=off go build -o "$NATS" github.com/nats-io/natscli/nats
	)
	rm -rf "$scratch"
fi

# FJORD_REF (a commit, e.g. HEAD) builds that commit from `git archive`
# instead of the working tree, so edits in progress are not measured.
src=.
if [[ -n ${FJORD_REF:-} ]]; then
	src=$BENCH_ROOT/src
	rm -rf "$src" && mkdir -p "$src"
	git archive "$FJORD_REF" | tar -x -C "$src"
	git rev-parse "$FJORD_REF" >"$BIN_DIR.commit"
fi
log "fjord ($src) -> $FJORD, kfake -> $KFAKE"
mkdir -p "$BIN_DIR"
(cd "$src" && go build -o "$FJORD" ./cmd/fjord)
(cd bench/peers/kfake && GOFLAGS= go build -o "$KFAKE" .)
# The produce-to-ack Go benchmark, compiled now so that no compile runs
# during the measurements; it runs $FJORD (FJORD_TEST_BINARY).
(cd "$src" && go test -c -o "$BIN_DIR/bench.test" ./internal/bench)

"$NATS_SERVER" --version
"$NATS" --version
fio --version
iperf3 --version | head -1
