#!/usr/bin/env bash
# `make run`: the whole stack in the foreground on embedded defaults. Every
# port and folder comes from DESIGN.md's REELGUARD_* variables. Ctrl-C or
# SIGTERM stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

export REELGUARD_DATA=${REELGUARD_DATA:-./.reelguard}
export REELGUARD_LISTEN=${REELGUARD_LISTEN:-:8443}
export REELGUARD_ADMIN_LISTEN=${REELGUARD_ADMIN_LISTEN:-127.0.0.1:9090}
export REELGUARD_RECOMMENDER_LISTEN=${REELGUARD_RECOMMENDER_LISTEN:-127.0.0.1:8082}
export REELGUARD_KAFKA_EMBEDDED_LISTEN=${REELGUARD_KAFKA_EMBEDDED_LISTEN:-127.0.0.1:9092}
# mTLS between the gateway and the recommender (internal CA from `gateway
# keys`); REELGUARD_RECOMMENDER_TLS=false runs that hop in plain HTTP.
export REELGUARD_RECOMMENDER_TLS=${REELGUARD_RECOMMENDER_TLS:-true}
data=$REELGUARD_DATA
logs=$data/logs
mkdir -p "$data" "$logs"
chmod 700 "$data"

bin/gateway keys --data "$data"
if [ ! -s "$data/synthetic/movielog.log" ]; then
  mkdir -p "$data/synthetic"
  bin/recommender gen --out "$data/synthetic/movielog.log"
fi
if [ ! -e "$data/model/current" ]; then
  bin/recommender train --data "$data/synthetic/movielog.log" --format movielog --out "$data/model"
fi

pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  echo "stopped" >&2
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bin/devbroker --listen "$REELGUARD_KAFKA_EMBEDDED_LISTEN" --data "$data/broker" >"$logs/devbroker.log" 2>&1 &
pids+=($!)
wait_for_line "$logs/devbroker.log" '^devbroker listening on ' 30 "${pids[-1]}"

# The recommender also verifies movielog and retrains on it (feedback loop):
# candidates train on the synthetic base log plus the verified events.
bin/recommender serve --model "$data/model" --listen "$REELGUARD_RECOMMENDER_LISTEN" \
  --feedback-base "$data/synthetic/movielog.log" >"$logs/recommender.log" 2>&1 &
pids+=($!)
case "$REELGUARD_RECOMMENDER_TLS" in
  1|t|T|true|TRUE|True) # only a client certificate of the internal CA gets in: wait for its ready line
    wait_for_line "$logs/recommender.log" 'recommender listening on ' 30 "${pids[-1]}" ;;
  *) wait_for_url "http://$REELGUARD_RECOMMENDER_LISTEN/readyz" 30 "${pids[-1]}" ;;
esac

bin/gateway serve >"$logs/gateway.log" 2>&1 &
pids+=($!)
host=${REELGUARD_LISTEN%:*}; port=${REELGUARD_LISTEN##*:}
case "$host" in ""|0.0.0.0|"[::]") host=localhost ;; esac
url="https://$host:$port"
wait_for_url "$url/healthz" 30 "${pids[-1]}" --cacert "$data/ca/ca.pem"

token=$(bin/gateway token --data "$data" --sub 42 --role user)
echo "logs in $logs; admin at http://$REELGUARD_ADMIN_LISTEN/metrics; Ctrl-C stops everything" >&2
echo "ready: $url token=$token curl: curl --cacert $data/ca/ca.pem -H 'Authorization: Bearer $token' $url/recommend/42"

# Serve until interrupted, or until any part dies (then say which).
set +e
wait -n "${pids[@]}"
echo "a process of the stack exited; see $logs" >&2
exit 1
