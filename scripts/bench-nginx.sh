#!/usr/bin/env bash
# bench-nginx.sh: the gateway with its full chain against nginx as a plain
# TLS reverse proxy (HTTP/2, no auth) in front of the same recommender, and
# the recommender called directly, all driven by h2load with the same
# clients, streams and duration. Then the gateway again with a redis-server,
# counting Redis commands per request with INFO commandstats.
#
#   bash scripts/bench-nginx.sh          # as root it installs what is missing
#
# Knobs (environment): DURATION (s, 15), LAT_DURATION (s, 10), CLIENTS (16),
# STREAMS (10), LAT_RPS (moderate rate for the latency runs, 200 req/s),
# USERS (user ids spread over, 1000), BIN (binaries, bin; built when absent),
# REDIS (1: also the Redis run; 0: skip), REDIS_TIMEOUT (the Redis client's
# timeouts for that run, 250ms), REDIS_QUERY (more Redis URL options),
# GATEWAY_YAML_EXTRA (lines added to the gateway's config), PROFILE=1 (a perf
# profile of the gateway in each of its runs), PGO_OUT=FILE (Go's CPU profile
# of the gateway's throughput runs, merged: cmd/gateway/default.pgo is made so:
#   PGO_OUT=cmd/gateway/default.pgo bash scripts/bench-nginx.sh).
# Every process runs on loopback on free ports, in a temporary folder, and is
# stopped on exit. The gateway's rate limits are raised for the throughput
# runs so that every request takes the whole chain to an allow verdict; the
# script checks the status counts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

DURATION=${DURATION:-15}
LAT_DURATION=${LAT_DURATION:-10}
CLIENTS=${CLIENTS:-16}
STREAMS=${STREAMS:-10}
LAT_RPS=${LAT_RPS:-200}
USERS=${USERS:-1000}
BIN=${BIN:-bin}
REDIS=${REDIS:-1}

pkgs=(nginx:nginx h2load:nghttp2-client curl:curl)
[ "$REDIS" = 1 ] && pkgs+=(redis-server:redis-server redis-cli:redis-tools)
ensure_packages "${pkgs[@]}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$BIN/gateway" ] || [ ! -x "$BIN/recommender" ] || [ ! -x "$BIN/devbroker" ]; then
  go build -o "$BIN/" ./cmd/gateway ./cmd/recommender ./cmd/devbroker
fi

work=$(mktemp -d /tmp/reelguard-bench.XXXXXX)
data=$work/data
export REELGUARD_DATA=$data # every binary keeps its keys here, never in ./.reelguard
mkdir -p "$data" "$work/logs" "$work/nginx"
chmod 700 "$data"
pids=()
stop() {
  local rc=$?
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  if [ "$rc" = 0 ]; then rm -rf "$work"; else echo "failed; logs kept in $work/logs" >&2; fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== preparing data, model and keys in $work" >&2
"$BIN/gateway" keys --data "$data" >&2
"$BIN/recommender" gen --out "$data/movielog.log" >&2
"$BIN/recommender" train --data "$data/movielog.log" --format movielog --out "$data/model" >&2

taken=" "
pick_port() { # a free port not handed out already in this run
  local p
  while p=$(free_port); [[ $taken == *" $p "* ]]; do :; done
  taken+="$p "; echo "$p"
}
rec_port=$(pick_port); ngx_port=$(pick_port); gw_port=$(pick_port)
admin_port=$(pick_port); kafka_port=$(pick_port); redis_port=$(pick_port)

"$BIN/devbroker" --listen "127.0.0.1:$kafka_port" --data "$data/broker" >"$work/logs/devbroker.log" 2>&1 &
pids+=($!)
broker_pid=$!
wait_for_line "$work/logs/devbroker.log" '^devbroker listening on ' 30 "${pids[-1]}"

"$BIN/recommender" serve --model "$data/model" --listen "127.0.0.1:$rec_port" \
  >"$work/logs/recommender.log" 2>&1 &
pids+=($!)
rec_pid=$!
wait_for_url "http://127.0.0.1:$rec_port/readyz" 30 "${pids[-1]}"

# The gateway's limits, raised so throughput runs measure allowed requests.
# One service token reads 1,000 users at thousands a second: to the
# extraction detector that is a scraper, and its answers would shrink to 5
# ids. Shadow mode keeps the detectors' work on the path but measures full
# answers, the same bytes nginx relays.
cat >"$work/gateway.yaml" <<YAML
detectors_shadow: true
${GATEWAY_YAML_EXTRA:-}
pre_auth: {rate: 1000000, burst: 1000000}
max_conns_per_ip: 4096
tiers:
  service: {rate: 1000000, burst: 1000000}
YAML

gw_pid=
start_gateway() { # [redis URL]
  REELGUARD_DATA=$data REELGUARD_LISTEN=127.0.0.1:$gw_port REELGUARD_ADMIN_LISTEN=127.0.0.1:$admin_port \
  REELGUARD_UPSTREAM=http://127.0.0.1:$rec_port REELGUARD_KAFKA_BROKERS=127.0.0.1:$kafka_port \
  REELGUARD_REDIS_URL=${1:-} REELGUARD_LOG_LEVEL=warn \
    "$BIN/gateway" serve --config "$work/gateway.yaml" >>"$work/logs/gateway.log" 2>&1 &
  gw_pid=$!
  pids+=($gw_pid)
  wait_for_url "https://127.0.0.1:$gw_port/healthz" 30 "$gw_pid" --cacert "$data/ca/ca.pem"
}
stop_gateway() {
  kill -TERM "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
}

# The gateway first: its first start writes the dev CA's server certificate,
# which nginx then serves too.
start_gateway
# nginx: a plain TLS reverse proxy, HTTP/2, keep-alive to the backend, no auth.
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000; # default 1000 ends each HTTP/2 connection early (h2load does not reconnect)
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream backend { server 127.0.0.1:$rec_port; keepalive 64; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:$ngx_port ssl http2;
    ssl_certificate $data/ca/server.pem;
    ssl_certificate_key $data/ca/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/logs/nginx.log" 2>&1 &
pids+=($!)
nginx_pid=$!
wait_for_url "https://127.0.0.1:$ngx_port/readyz" 30 "${pids[-1]}" --cacert "$data/ca/ca.pem"

token=$("$BIN/gateway" token --data "$data" --sub bench-frontend --role service --ttl 1h)
admin_token=$("$BIN/gateway" token --data "$data" --sub bench-ops --role admin --ttl 1h)
for base in "https://127.0.0.1:$ngx_port" "https://127.0.0.1:$gw_port" "http://127.0.0.1:$rec_port"; do
  name=$(echo "$base" | tr -c 'a-z0-9\n' _)
  seq 1 "$USERS" | sed "s|^|$base/recommend/|" >"$work/uris-$name.txt"
done
uris() { echo "$work/uris-$(echo "$1" | tr -c 'a-z0-9\n' _).txt"; }

# drive NAME BASE EXTRA...: one h2load run; prints req/s, status counts and
# latency percentiles from h2load's per-request log.
# cpu_ms PID...: CPU time (user + system, children included) the processes
# and their threads have used so far, in milliseconds.
cpu_ms() {
  local pid t=0 tck
  tck=$(getconf CLK_TCK)
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    t=$(( t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pid/stat") ))
  done
  echo $(( t * 1000 / tck ))
}
proc_name() {
  case $1 in
    "$rec_pid") echo recommender ;; "$broker_pid") echo devbroker ;; "${gw_pid:-x}") echo gateway ;;
    "${redis_pid:-x}") echo redis ;; *) echo nginx ;;
  esac
}
# nginx's workers are its children: count them through their parent.
nginx_pids() { echo "$nginx_pid" $(pgrep -P "$nginx_pid" 2>/dev/null); }

drive() {
  local name=$1 base=$2; shift 2
  local log=$work/h2load-$name.log out=$work/h2load-$name.out prof_pid=
  local procs=("$rec_pid" "$broker_pid" "${gw_pid:-}" $(nginx_pids) ${redis_pid:-})
  local before=() p
  for p in "${procs[@]}"; do before+=("$(cpu_ms "$p")"); done
  if [ -n "${PGO_OUT:-}" ] && [[ $name == gateway* ]]; then # Go's own CPU profile, for PGO
    curl -s -H "Authorization: Bearer $admin_token" -o "$work/cpu-$name.pprof" \
      "http://127.0.0.1:$admin_port/admin/debug/pprof/profile?seconds=$(( DURATION > 3 ? DURATION - 2 : 1 ))" &
    prof_pid=$!
  fi
  if [ "${PROFILE:-0}" = 1 ] && [[ $name == *gateway* ]]; then
    perf record -q -F 499 -g -p "$gw_pid" -o "$work/perf-$name.data" -- sleep "$DURATION" >/dev/null 2>&1 &
  fi
  /usr/bin/time -f '%U %S' -o "$work/time-$name.txt" \
    h2load -t 1 --log-file="$log" -i "$(uris "$base")" "$@" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
  [ -z "$prof_pid" ] || wait "$prof_pid" # the profile ends before the run does
  local i=0 cpu="" n
  for p in "${procs[@]}"; do
    n=$(( $(cpu_ms "$p") - ${before[$i]} )); i=$((i + 1))
    [ "$n" -gt 0 ] && cpu+=" $(proc_name "$p")=${n}ms"
  done
  cpu+=" h2load=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$work/time-$name.txt")ms"
  echo "$name cpu:$cpu" >>"$work/cpu.txt"
  local rps
  rps=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($i ~ /req\/s/) { print $(i-1); exit } }' "$out")
  sort -n -k3,3 "$log" | awk -v name="$name" -v rps="$rps" '
    { s[$2]++ } $2 > 0 { d[++n] = $3 } # status -1: failed, its duration is meaningless
    END {
      if (n == 0) { printf "%-22s no requests\n", name; exit }
      p50 = d[int(n * 0.50 + 0.999999)]; p90 = d[int(n * 0.90 + 0.999999)]; p99 = d[int(n * 0.99 + 0.999999)]
      st = ""; for (k in s) st = st " " k "=" s[k]
      printf "%-22s %10s req/s  p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms  n=%d  status:%s\n",
        name, rps, p50 / 1000, p90 / 1000, p99 / 1000, d[n] / 1000, n, st
    }'
}

auth=(-H "authorization: Bearer $token")
tput=(-c "$CLIENTS" -m "$STREAMS" -D "$DURATION")
lat=(-c 4 -m 1 -D "$LAT_DURATION")
if [[ $(h2load --help 2>&1) == *--rps* ]]; then # (grep -q would SIGPIPE h2load under pipefail)
  lat+=(--rps "$(( (LAT_RPS + 3) / 4 ))")
else
  echo "h2load has no --rps: latency runs are closed-loop with 4 clients, 1 stream each" >&2
fi
ngx=https://127.0.0.1:$ngx_port gw=https://127.0.0.1:$gw_port be=http://127.0.0.1:$rec_port
echo "== h2load -t 1 ${tput[*]} over $USERS user ids; $(nproc) cores shared by everything" >&2
results=$work/results.txt

{
  drive nginx "$ngx" "${tput[@]}"
  drive gateway "$gw" "${tput[@]}" "${auth[@]}"
  drive backend-h1 "$be" "${tput[@]}" --h1
  drive lat-backend-h1 "$be" "${lat[@]}" --h1
  drive lat-nginx "$ngx" "${lat[@]}"
  drive lat-gateway "$gw" "${lat[@]}" "${auth[@]}"
} | tee "$results"
stop_gateway

if [ "$REDIS" = 1 ]; then
  # pick_port runs in a subshell and cannot remember what it handed out, so
  # a port may collide with one of ours: try another until redis is up.
  for _ in $(seq 1 10); do
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/logs/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    wait "$redis_pid" 2>/dev/null || true
  done
  pids+=("$redis_pid")
  # At saturation every queue on these 2 cores grows past the request
  # path's default Redis timeouts (50 ms), and one timeout opens the
  # breaker (in-process limits: the designed degradation). To count the
  # round trips of the normal path, the run allows REDIS_TIMEOUT.
  rt=${REDIS_TIMEOUT:-250ms}
  start_gateway "redis://127.0.0.1:$redis_port/0?read_timeout=$rt&write_timeout=$rt&pool_timeout=$rt${REDIS_QUERY:-}"
  drive warmup-redis "$gw" -c 1 -m 1 -n 100 "${auth[@]}" >/dev/null
  redis-cli -p "$redis_port" INFO commandstats >"$work/cmd-before.txt"
  drive gateway-redis "$gw" "${tput[@]}" "${auth[@]}" | tee -a "$results"
  redis-cli -p "$redis_port" INFO commandstats >"$work/cmd-after.txt"
  requests=$(wc -l <"$work/h2load-gateway-redis.log")
  calls() { awk -F'[:=,]' '/^cmdstat_/ { sub("cmdstat_", "", $1); print $1, $3 }' "$1"; }
  join -a 2 -e 0 -o 0,1.2,2.2 <(calls "$work/cmd-before.txt" | sort) <(calls "$work/cmd-after.txt" | sort) |
    awk -v n="$requests" '{ d = $3 - $2; if (d > 0) { t += d; printf "redis %-12s %9d calls  %.4f per request\n", $1, d, d / n } }
      $1 ~ /^eval/ { rt += $3 - $2 }
      END { printf "redis total        %9d calls over %d logged requests: %.4f commands per request (those a script runs count too)\n", t, n, t / n
            printf "redis round trips (EVAL/EVALSHA) per request: %.4f (requests still in flight when h2load stops are not in its log)\n", rt / n }' |
    tee -a "$results"
  stop_gateway
fi

if [ -n "${PGO_OUT:-}" ]; then
  go tool pprof -proto "$work"/cpu-gateway*.pprof >"$PGO_OUT" 2>/dev/null && echo "PGO profile: $PGO_OUT"
fi
echo "CPU used during each run (h2load -t 1 drives one core at most):"
sed 's/^/  /' "$work/cpu.txt"
if [ "${PROFILE:-0}" = 1 ]; then
  for f in "$work"/perf-*.data; do
    perf report -i "$f" --no-children --sort dso,symbol --percent-limit 0.7 --stdio 2>/dev/null |
      grep -v -e '^#' -e '^$' | head -60 >"${f%.data}.txt" || true
    echo "perf profile: ${f%.data}.txt"
  done
  trap - EXIT; kill -TERM "${pids[@]}" 2>/dev/null; wait 2>/dev/null
  echo "kept $work for the profiles"
fi
awk '$2 ~ /^[0-9.]+$/ { r[$1] = $2 } $1 ~ /^lat-/ { for (i = 1; i <= NF; i++) if ($i == "p99") p[$1] = $(i+1) }
  END {
    if (r["nginx"] > 0) printf "gateway/nginx throughput: %.2f (in memory)", r["gateway"] / r["nginx"]
    if (r["nginx"] > 0 && r["gateway-redis"] > 0) printf ", %.2f (Redis)", r["gateway-redis"] / r["nginx"]
    print ""
    if ("lat-backend-h1" in p) printf "added p99 over the backend: gateway %+.2f ms, nginx %+.2f ms\n",
      p["lat-gateway"] - p["lat-backend-h1"], p["lat-nginx"] - p["lat-backend-h1"]
  }' "$results"
