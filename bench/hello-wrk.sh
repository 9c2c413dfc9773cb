#!/usr/bin/env bash
# Requests/s of the Hello sample under wrk on 127.0.0.1: keep-alive and Connection: close.
# Usage: bench/hello-wrk.sh [workers=2] [seconds=10] [connections=32]
# Needs wrk (apt-get install wrk). Every process it starts is stopped by pid.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
workers=${1:-2}; seconds=${2:-10}; connections=${3:-32}
port=${PORT:-18086}
out=$(mktemp -d)
trap 'stop; rm -rf "$out"' EXIT

dotnet build "$repo/samples/Hello" -c Release -o "$out/hello" >/dev/null
master=""
stop() {
  [ -n "$master" ] || return 0
  kill -TERM "$master" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$master" 2>/dev/null || true
  master=""
}

dotnet "$out/hello/Hello.dll" --listen 127.0.0.1:$port --prefork "$workers" --max-children "$workers" 2>"$out/hello.log" &
master=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done

run() { # name, extra wrk args
  local name=$1; shift
  wrk -t1 -c"$connections" -d3s "$@" "http://127.0.0.1:$port/" >/dev/null   # warm-up, discarded
  wrk -t1 -c"$connections" -d"${seconds}s" --latency "$@" "http://127.0.0.1:$port/" >"$out/$name.txt"
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/$name.txt")
  p99=$(awk '$1=="99%" {print $2}' "$out/$name.txt")
  errors=$(awk '/Socket errors/ {print $0}' "$out/$name.txt")
  printf '%-10s workers=%s conns=%s rps=%s p99=%s %s\n' "$name" "$workers" "$connections" "$rps" "$p99" "${errors:-errors=0}"
}

echo "# $(nproc) cores, $(uname -r), $(dotnet --version), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
run keepalive
run close -H 'Connection: close'
echo "worker RSS (KiB): $(for c in $(ps -o pid= --ppid "$master"); do ps -o rss= -p "$c"; done | tr -s ' \n' ' ')"
