#!/usr/bin/env bash
# bench-nginx.sh: the gateway with its full chain against nginx as a plain
# TLS reverse proxy (HTTP/2, no auth) in front of the same recommender, all
# driven by h2load with the same clients, streams and duration. Two gateways
# run side by side: one with in-memory state and (REDIS=1) one with a
# redis-server, whose Redis commands per request are counted with INFO
# commandstats. The latency runs also measure the floor under the gateway:
# cmd/benchproxy, a bare Go HTTP/2 reverse proxy with none of the gateway's
# chain, alone and (REDIS=1) making the gateway's one Redis check per request.
#
# The machine is shared and noisy: two runs minutes apart can differ by a
# third. So the runs are interleaved in ROUNDS rounds, each one back to back:
# throughput nginx-R, gateway-R, gateway-redis-R, then latency at a moderate
# rate lat-backend-h1-R, lat-nginx-R, lat-floor-R, lat-floor-redis-R,
# lat-gateway-R, lat-gateway-redis-R.
# Each round gives the gateway/nginx throughput ratios and the p99 each
# proxy adds over the backend, measured close together in time; the summary
# prints them per round and their median (and range) over the rounds. The recommender called
# directly (backend-h1) is measured once, before the rounds.
#
#   bash scripts/bench-nginx.sh          # as root it installs what is missing
#
# Knobs (environment): ROUNDS (3), DURATION (s, 15), LAT_DURATION (s, 10),
# CLIENTS (16), STREAMS (10), LAT_RPS (moderate rate for the latency runs,
# 200 req/s), LAT_CLIENTS (its h2load clients, 4: they start together and
# send in step, so every LAT_CLIENTS/LAT_RPS seconds that many requests
# arrive at once; 1 sends them one at a time), USERS (user ids spread over, 1000), BIN (binaries, bin; built
# when absent), REDIS (1: also the gateway with Redis; 0: skip),
# REDIS_TIMEOUT (that gateway's Redis client timeouts, 250ms), REDIS_QUERY
# (more Redis URL options), GATEWAY_YAML_EXTRA (lines added to the gateways'
# config), ONLY (throughput or latency: only those runs; both by default,
# and the summary needs both), PROFILE=1 (a perf profile of the gateway each gateway run drives),
# PGO_OUT=FILE (Go's CPU profile of both gateways' throughput runs, merged:
# cmd/gateway/default.pgo is made so:
#   PGO_OUT=cmd/gateway/default.pgo bash scripts/bench-nginx.sh), TRACE=1
# (a Go execution trace of each gateway latency run, kept in TRACE_DIR,
# ./traces by default; go tool trace -pprof=sched FILE shows the wake-ups).
# Every process runs on loopback on free ports, in a temporary folder, and is
# stopped on exit. The gateways' rate limits are raised for the throughput
# runs so that every request takes the whole chain to an allow verdict; each
# result line shows the status counts to check that.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

DURATION=${DURATION:-15}
LAT_DURATION=${LAT_DURATION:-10}
CLIENTS=${CLIENTS:-16}
STREAMS=${STREAMS:-10}
LAT_RPS=${LAT_RPS:-200}
LAT_CLIENTS=${LAT_CLIENTS:-4}
[[ $LAT_CLIENTS =~ ^[1-9][0-9]*$ ]] || { echo "LAT_CLIENTS must be a positive whole number, not '$LAT_CLIENTS'" >&2; exit 2; }
USERS=${USERS:-1000}
BIN=${BIN:-bin}
REDIS=${REDIS:-1}
ROUNDS=${ROUNDS:-3}
ONLY=${ONLY:-}
case $ONLY in ""|throughput|latency) ;; *) echo "ONLY must be throughput or latency, not '$ONLY'" >&2; exit 2 ;; esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive whole number, not '$ROUNDS'" >&2; exit 2; }

pkgs=(nginx:nginx h2load:nghttp2-client curl:curl)
[ "$REDIS" = 1 ] && pkgs+=(redis-server:redis-server redis-cli:redis-tools)
ensure_packages "${pkgs[@]}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$BIN/gateway" ] || [ ! -x "$BIN/recommender" ] || [ ! -x "$BIN/devbroker" ]; then
  go build -o "$BIN/" ./cmd/gateway ./cmd/recommender ./cmd/devbroker
fi
[ -x "$BIN/benchproxy" ] || go build -o "$BIN/" ./cmd/benchproxy

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
# pick_port VAR: sets VAR to a free port not handed out already in this run.
# It sets a variable rather than printing, because $(pick_port) would run in
# a subshell and forget what it handed out.
pick_port() {
  local port
  while :; do
    port=$(free_port) || return 1
    [[ $taken == *" $port "* ]] || break
  done
  taken+="$port "
  printf -v "$1" %s "$port"
}
pick_port rec_port; pick_port ngx_port; pick_port kafka_port
pick_port gw_port; pick_port admin_port         # the gateway with in-memory state
pick_port gwr_port; pick_port gwr_admin_port    # the gateway with Redis
pick_port fl_port; pick_port flr_port           # the floor, without and with Redis

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

# start_gateway NAME PORT ADMIN_PORT [REDIS_URL]: starts a gateway, logging
# to logs/NAME.log, and waits until it is up; its pid is left in started_pid.
# Both gateways share the data folder and the config; each keeps its own
# state under $data/state/<instance>, the instance being host:port.
started_pid=
start_gateway() {
  local name=$1 port=$2 admin=$3 redis_url=${4:-}
  REELGUARD_DATA=$data REELGUARD_LISTEN=127.0.0.1:$port REELGUARD_ADMIN_LISTEN=127.0.0.1:$admin \
  REELGUARD_UPSTREAM=http://127.0.0.1:$rec_port REELGUARD_KAFKA_BROKERS=127.0.0.1:$kafka_port \
  REELGUARD_REDIS_URL=$redis_url REELGUARD_LOG_LEVEL=warn \
    "$BIN/gateway" serve --config "$work/gateway.yaml" >>"$work/logs/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  wait_for_url "https://127.0.0.1:$port/healthz" 30 "$started_pid" --cacert "$data/ca/ca.pem"
}

# The in-memory gateway first: its first start writes the dev CA's server
# certificate, which nginx then serves too.
start_gateway gateway "$gw_port" "$admin_port"
gw_pid=$started_pid
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

gwr_pid= redis_pid=
if [ "$REDIS" = 1 ]; then
  # A port free a moment ago may be taken by the time redis binds it: try
  # another until redis is up.
  for _ in $(seq 1 10); do
    pick_port redis_port
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
  # round trips of the normal path, this gateway allows REDIS_TIMEOUT.
  rt=${REDIS_TIMEOUT:-250ms}
  start_gateway gateway-redis "$gwr_port" "$gwr_admin_port" \
    "redis://127.0.0.1:$redis_port/0?read_timeout=$rt&write_timeout=$rt&pool_timeout=$rt${REDIS_QUERY:-}"
  gwr_pid=$started_pid
fi

# The floor: benchproxy in front of the same recommender, and with a Redis
# check per request against the same redis-server (its own keys).
# start_floor NAME PORT [ARGS...]: its pid is left in started_pid.
start_floor() {
  local name=$1 port=$2; shift 2
  "$BIN/benchproxy" -listen "127.0.0.1:$port" -upstream "http://127.0.0.1:$rec_port" "$@" >"$work/logs/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  wait_for_line "$work/logs/$name.log" '^benchproxy listening on ' 30 "$started_pid"
}
start_floor floor "$fl_port"
fl_pid=$started_pid flr_pid=
if [ "$REDIS" = 1 ]; then
  start_floor floor-redis "$flr_port" -redis "redis://127.0.0.1:$redis_port/0?read_timeout=$rt&write_timeout=$rt&pool_timeout=$rt${REDIS_QUERY:-}"
  flr_pid=$started_pid
fi

token=$("$BIN/gateway" token --data "$data" --sub bench-frontend --role service --ttl 1h)
admin_token=$("$BIN/gateway" token --data "$data" --sub bench-ops --role admin --ttl 1h)
for base in "https://127.0.0.1:$ngx_port" "https://127.0.0.1:$gw_port" "https://127.0.0.1:$gwr_port" \
  "http://127.0.0.1:$rec_port" "https://127.0.0.1:$fl_port" "https://127.0.0.1:$flr_port"; do
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
    "$rec_pid") echo recommender ;; "$broker_pid") echo devbroker ;; "$gw_pid") echo gateway ;;
    "${gwr_pid:-x}") echo gateway-redis ;; "${redis_pid:-x}") echo redis ;;
    "$fl_pid") echo floor ;; "${flr_pid:-x}") echo floor-redis ;; *) echo nginx ;;
  esac
}
# writes PID...: write system calls the processes have made so far.
writes() {
  local pid t=0
  for pid in "$@"; do
    [ -r "/proc/$pid/io" ] || continue
    t=$(( t + $(awk '$1 == "syscw:" { print $2 }' "/proc/$pid/io") ))
  done
  echo "$t"
}
# nginx's workers are its children: count them through their parent.
nginx_pids() { echo "$nginx_pid" $(pgrep -P "$nginx_pid" 2>/dev/null); }

drive() {
  local name=$1 base=$2; shift 2
  local log=$work/h2load-$name.log out=$work/h2load-$name.out prof_pid= perf_pid=
  local procs=("$rec_pid" "$broker_pid" "$gw_pid" ${gwr_pid:-} $(nginx_pids) ${redis_pid:-} "$fl_pid" ${flr_pid:-})
  local before=() wbefore=() p
  for p in "${procs[@]}"; do before+=("$(cpu_ms "$p")"); wbefore+=("$(writes "$p")"); done
  local target_pid= target_admin= # the gateway this run drives, if any
  case $base in
    "$gw") target_pid=$gw_pid target_admin=$admin_port ;;
    "$gwr") target_pid=$gwr_pid target_admin=$gwr_admin_port ;;
  esac
  if [ -n "${PGO_OUT:-}" ] && [ -n "$target_pid" ] && [[ $name == gateway* ]]; then # Go's own CPU profile, for PGO
    curl -s -H "Authorization: Bearer $admin_token" -o "$work/cpu-$name.pprof" \
      "http://127.0.0.1:$target_admin/admin/debug/pprof/profile?seconds=$(( DURATION > 3 ? DURATION - 2 : 1 ))" &
    prof_pid=$!
  fi
  if [ "${TRACE:-0}" = 1 ] && [ -n "$target_pid" ] && [[ $name == lat-gateway* ]]; then # Go's execution trace
    local tsecs=$(( LAT_DURATION > 3 ? LAT_DURATION - 2 : 1 ))
    curl -s -H "Authorization: Bearer $admin_token" -o "$work/trace-$name.out" \
      "http://127.0.0.1:$target_admin/admin/debug/pprof/trace?seconds=$tsecs" &
    prof_pid=$!
  fi
  if [ "${PROFILE:-0}" = 1 ] && [ -n "$target_pid" ] && [[ $name == gateway* || $name == lat-gateway* ]]; then
    local secs=$DURATION prev= a # as long as this run (its -D), so it does not spill into the next one
    for a in "$@"; do [ "$prev" != -D ] || secs=$a; prev=$a; done
    perf record -q -F 499 -g -p "$target_pid" -o "$work/perf-$name.data" -- sleep "$secs" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  /usr/bin/time -f '%U %S' -o "$work/time-$name.txt" \
    h2load -t 1 --log-file="$log" -i "$(uris "$base")" "$@" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
  [ -z "$prof_pid" ] || wait "$prof_pid" # the profile ends before the run does
  [ -z "$perf_pid" ] || wait "$perf_pid" || true
  local i=0 cpu="" n w
  for p in "${procs[@]}"; do
    n=$(( $(cpu_ms "$p") - ${before[$i]} )); w=$(( $(writes "$p") - ${wbefore[$i]} )); i=$((i + 1))
    [ "$n" -gt 0 ] && cpu+=" $(proc_name "$p")=${n}ms/${w}w"
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
lat=(-c "$LAT_CLIENTS" -m 1 -D "$LAT_DURATION")
if [[ $(h2load --help 2>&1) == *--rps* ]]; then # (grep -q would SIGPIPE h2load under pipefail)
  lat+=(--rps "$(( (LAT_RPS + LAT_CLIENTS - 1) / LAT_CLIENTS ))")
else
  echo "h2load has no --rps: latency runs are closed-loop with $LAT_CLIENTS clients, 1 stream each" >&2
fi
ngx=https://127.0.0.1:$ngx_port gw=https://127.0.0.1:$gw_port be=http://127.0.0.1:$rec_port
gwr=https://127.0.0.1:$gwr_port fl=https://127.0.0.1:$fl_port flr=https://127.0.0.1:$flr_port
echo "== h2load -t 1 ${tput[*]} over $USERS user ids, $ROUNDS rounds; $(nproc) cores shared by everything" >&2
results=$work/results.txt

# Warm each gateway up (connections, caches, the Redis scripts loaded), unrecorded.
drive warmup-gateway "$gw" -c 1 -m 1 -n 100 "${auth[@]}" >/dev/null
[ "$REDIS" != 1 ] || drive warmup-gateway-redis "$gwr" -c 1 -m 1 -n 100 "${auth[@]}" >/dev/null
drive warmup-floor "$fl" -c 1 -m 1 -n 100 >/dev/null
[ "$REDIS" != 1 ] || drive warmup-floor-redis "$flr" -c 1 -m 1 -n 100 >/dev/null

# The Redis commands are counted around each gateway-redis throughput run.
# The idle gateway makes a few background Redis calls meanwhile (none of
# them EVAL), which the count includes.
{
  [ "$ONLY" = latency ] || drive backend-h1 "$be" "${tput[@]}" --h1
  for r in $(seq 1 "$ROUNDS"); do
    echo "== round $r of $ROUNDS" >&2
    if [ "$ONLY" != latency ]; then
      drive "nginx-$r" "$ngx" "${tput[@]}"
      drive "gateway-$r" "$gw" "${tput[@]}" "${auth[@]}"
      if [ "$REDIS" = 1 ]; then
        redis-cli -p "$redis_port" INFO commandstats >"$work/cmd-before-$r.txt"
        drive "gateway-redis-$r" "$gwr" "${tput[@]}" "${auth[@]}"
        redis-cli -p "$redis_port" INFO commandstats >"$work/cmd-after-$r.txt"
      fi
    fi
    [ "$ONLY" != throughput ] || continue
    drive "lat-backend-h1-$r" "$be" "${lat[@]}" --h1
    drive "lat-nginx-$r" "$ngx" "${lat[@]}"
    drive "lat-floor-$r" "$fl" "${lat[@]}"
    [ "$REDIS" != 1 ] || drive "lat-floor-redis-$r" "$flr" "${lat[@]}"
    drive "lat-gateway-$r" "$gw" "${lat[@]}" "${auth[@]}"
    [ "$REDIS" != 1 ] || drive "lat-gateway-redis-$r" "$gwr" "${lat[@]}" "${auth[@]}"
  done
} | tee "$results"

if [ "$REDIS" = 1 ] && [ "$ONLY" != latency ]; then
  requests=$(cat "$work"/h2load-gateway-redis-*.log | wc -l)
  # cmdstat_NAME:calls=N,usec=U,...: print NAME N U.
  calls() { awk -F'[:=,]' '/^cmdstat_/ { sub("cmdstat_", "", $1); print $1, $3, $5 }' "$1"; }
  for r in $(seq 1 "$ROUNDS"); do # each run's NAME CALLS USEC
    join -a 2 -e 0 -o 0,1.2,1.3,2.2,2.3 <(calls "$work/cmd-before-$r.txt" | sort) <(calls "$work/cmd-after-$r.txt" | sort) |
      awk '{ print $1, $4 - $2, $5 - $3 }'
  done | awk '{ c[$1] += $2; u[$1] += $3 } END { for (k in c) print k, c[k], u[k] }' | sort |
    awk -v n="$requests" '{ d = $2; u = $3; if (d > 0) { t += d; printf "redis %-12s %9d calls  %.4f per request  %6.2f us per request\n", $1, d, d / n, u / n } }
      $1 ~ /^eval/ { rt += $2 }
      END { printf "redis total        %9d calls over %d logged requests: %.4f commands per request (those a script runs count too; an EVALSHA'"'"'s time includes its commands'"'"')\n", t, n, t / n
            printf "redis round trips (EVAL/EVALSHA) per request: %.4f (requests still in flight when h2load stops are not in its log)\n", rt / n }' |
    tee -a "$results"
fi

if [ -n "${PGO_OUT:-}" ]; then
  go tool pprof -proto "$work"/cpu-gateway*.pprof >"$PGO_OUT" 2>/dev/null && echo "PGO profile: $PGO_OUT"
fi
echo "CPU used and write system calls made during each run (ms/writes; h2load -t 1 drives one core at most):"
sed 's/^/  /' "$work/cpu.txt"
# Per request of each throughput run: the driven gateway's CPU and write
# system calls, redis-server's and h2load's CPU.
echo "per request (throughput runs):"
awk 'FNR == NR { for (i = 1; i <= NF; i++) if ($i ~ /^n=/) n[$1] = substr($i, 3); next }
  $1 ~ /^(gateway|gateway-redis)-[0-9]+$/ && ($1 in n) && n[$1] > 0 {
    gw = $1 ~ /^gateway-redis/ ? "gateway-redis" : "gateway"; g = w = r = h = 0
    for (i = 3; i <= NF; i++) {
      split($i, kv, "="); split(kv[2], mw, "ms/"); sub("w", "", mw[2])
      if (kv[1] == gw) { g = mw[1]; w = mw[2] } else if (kv[1] == "redis") r = mw[1]; else if (kv[1] == "h2load") h = kv[2] + 0
    }
    printf "  %-18s gateway %5.1f us CPU, %.2f writes; redis-server %4.1f us; h2load %4.1f us\n",
      $1, g * 1000 / n[$1], w / n[$1], r * 1000 / n[$1], h * 1000 / n[$1]
  }' "$results" "$work/cpu.txt"
if [ "${TRACE:-0}" = 1 ]; then
  mkdir -p "${TRACE_DIR:-traces}"
  for f in "$work"/trace-*.out; do
    cp "$f" "${TRACE_DIR:-traces}/" && echo "execution trace: ${TRACE_DIR:-traces}/$(basename "$f") (go tool trace -pprof=sched FILE)"
  done
fi
if [ "${PROFILE:-0}" = 1 ]; then
  for f in "$work"/perf-*.data; do
    perf report -i "$f" --no-children --sort dso,symbol --percent-limit 0.7 --stdio 2>/dev/null |
      grep -v -e '^#' -e '^$' | head -60 >"${f%.data}.txt" || true
    echo "perf profile: ${f%.data}.txt"
  done
  trap - EXIT; kill -TERM "${pids[@]}" 2>/dev/null; wait 2>/dev/null
  echo "kept $work for the profiles"
fi
# Per round, from its results lines (NAME-R RPS ... p99 MS ...): the throughput
# ratios and the p99 added over the backend; then each figure's median and
# range over the rounds.
awk -v rounds="$ROUNDS" -v only="$ONLY" '
  $1 ~ /-[0-9]+$/ && $2 ~ /^[0-9.]+$/ {
    run = $1; sub(/-[0-9]+$/, "", run); r = substr($1, length(run) + 2)
    rps[run, r] = $2
    for (i = 1; i <= NF; i++) if ($i == "p99") p99[run, r] = $(i + 1)
  }
  # median(a, n): the middle of a[1..n] (sorted here in place), or the mean of the two middles.
  function median(a, n,   i, j, v) {
    for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  # stat(a, n, fmt): sets med to the median and range to "MIN–MAX" of a[1..n], printed with fmt.
  function stat(a, n, fmt,   m) {
    m = median(a, n)
    med = sprintf(fmt, m); range = sprintf(fmt "–" fmt, a[1], a[n])
  }
  END {
    tp = only != "latency"; lt = only != "throughput"
    n = 0
    for (r = 1; r <= rounds; r++) {
      if ((tp && !(rps["nginx", r] > 0)) || (lt && !(("lat-backend-h1", r) in p99))) { print "round " r ": incomplete"; continue }
      n++
      line = sprintf("round %d:", r)
      if (tp) {
        mem[n] = rps["gateway", r] / rps["nginx", r]
        red[n] = rps["gateway-redis", r] / rps["nginx", r]
        redis = rps["gateway-redis", r] > 0
        line = line sprintf(" throughput %.2f (in memory)", mem[n])
        if (redis) line = line sprintf(", %.2f (Redis)", red[n])
      }
      if (lt) {
        agw[n] = p99["lat-gateway", r] - p99["lat-backend-h1", r]
        agwr[n] = p99["lat-gateway-redis", r] - p99["lat-backend-h1", r]
        angx[n] = p99["lat-nginx", r] - p99["lat-backend-h1", r]
        afl[n] = p99["lat-floor", r] - p99["lat-backend-h1", r]
        aflr[n] = p99["lat-floor-redis", r] - p99["lat-backend-h1", r]
        redis = ("lat-gateway-redis", r) in p99
        line = line sprintf("%s added p99 gateway %+.2f ms (in memory)", tp ? ";" : "", agw[n])
        if (redis) line = line sprintf(", %+.2f ms (Redis)", agwr[n])
        line = line sprintf(", nginx %+.2f ms; floor %+.2f ms", angx[n], afl[n])
        if (redis) line = line sprintf(", %+.2f ms (Redis)", aflr[n])
      }
      print line
    }
    if (n == 0) exit
    line = sprintf("median of %d round%s:", n, n == 1 ? "" : "s")
    if (tp) {
      stat(mem, n, "%.2f"); line = line sprintf(" throughput %s (in memory, %s)", med, range)
      if (redis) { stat(red, n, "%.2f"); line = line sprintf(", %s (Redis, %s)", med, range) }
    }
    if (lt) {
      stat(agw, n, "%+.2f"); line = line sprintf("%s added p99 gateway %s ms (in memory, %s)", tp ? ";" : "", med, range)
      if (redis) { stat(agwr, n, "%+.2f"); line = line sprintf(", %s ms (Redis, %s)", med, range) }
      stat(angx, n, "%+.2f"); line = line sprintf(", nginx %s ms (%s)", med, range)
      stat(afl, n, "%+.2f"); line = line sprintf("; floor %s ms (%s)", med, range)
      if (redis) { stat(aflr, n, "%+.2f"); line = line sprintf(", %s ms (Redis, %s)", med, range) }
    }
    print line
  }' "$results"
