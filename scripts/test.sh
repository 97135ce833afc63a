#!/usr/bin/env bash
# `make test`: install what the tests need when it is missing, start a real
# redis-server and bin/devbroker on free ports as separate processes, run
# go vet and every test with their addresses in the environment, then stop
# them by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages redis-server:redis-server redis-cli:redis-tools kcat:kcat curl:curl chromium:chromium chromedriver:chromium-driver testssl:testssl.sh
make build
# pebble, Let's Encrypt's ACME test server, for the ACME tests (e2e/acme_test.go).
go build -o bin/pebble github.com/letsencrypt/pebble/v2/cmd/pebble

tmp=$(mktemp -d)
pids=()
cleanup() {
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_for_line "$tmp/redis.log" 'Ready to accept connections' 30 "${pids[-1]}"

bin/devbroker --listen 127.0.0.1:0 --data "$tmp/broker" >"$tmp/devbroker.log" 2>&1 &
pids+=($!)
wait_for_line "$tmp/devbroker.log" '^devbroker listening on ' 30 "${pids[-1]}"
broker=$(sed -n 's/^devbroker listening on //p' "$tmp/devbroker.log" | head -n 1)

export REELGUARD_TEST_REDIS_URL="redis://127.0.0.1:$rport/0"
export REELGUARD_TEST_KAFKA_BROKERS="$broker"
export REELGUARD_TEST_BIN="$PWD/bin"
export REELGUARD_TEST_PEBBLE="$PWD/bin/pebble"
echo "redis at $REELGUARD_TEST_REDIS_URL, devbroker at $broker"

go vet ./...
go test -race -timeout 14m ./...
