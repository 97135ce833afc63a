# Shared helpers of run.sh and test.sh. Source it; do not run it.

# free_port prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( RANDOM % 12000 + 20000 )) # below the ephemeral range (32768+): no clash with outbound sockets
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  echo "no free port found" >&2; return 1
}

# wait_for_line FILE REGEX SECONDS PID: wait until FILE has a line matching
# REGEX, failing early if PID dies.
wait_for_line() {
  local file=$1 re=$2 secs=$3 pid=$4
  for _ in $(seq 1 $((secs * 10))); do
    grep -Eq "$re" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "process $pid exited; last lines of $file:" >&2; tail -n 20 "$file" >&2; return 1; }
    sleep 0.1
  done
  echo "timed out waiting for /$re/ in $file" >&2; tail -n 20 "$file" >&2; return 1
}

# wait_for_url URL SECONDS PID [curl args]: wait until URL answers 200.
wait_for_url() {
  local url=$1 secs=$2 pid=$3; shift 3
  for _ in $(seq 1 $((secs * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null)" = 200 ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "process $pid exited before $url was up" >&2; return 1; }
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2; return 1
}

# ensure_packages CMD:PACKAGE...: install the Debian packages whose commands
# are missing (as root), or name them and fail.
ensure_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
