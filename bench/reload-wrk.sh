#!/usr/bin/env bash
# Failed requests during graceful reloads: wrk drives the Hello sample (Release) on 127.0.0.1 while the
# master gets SIGHUP every 2 s. Reports wrk's socket errors and non-2xx answers, and checks that every
# child pid changed at each reload. Usage: [SAMPLE=KestrelHello] [ARGS="--worker-connections 16"] bench/reload-wrk.sh [reloads=10] [workers=2]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
reloads=${1:-10}; workers=${2:-2}; port=${PORT:-18088}; sample=${SAMPLE:-Hello}
out=$(mktemp -d); master=""
stop() { [ -n "$master" ] || return 0; kill -TERM "$master" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$master" 2>/dev/null || true; master=""; }
trap 'stop; rm -rf "$out"' EXIT
dotnet build "$repo/samples/$sample" -c Release -o "$out/hello" >/dev/null
dotnet "$out/hello/$sample.dll" --listen 127.0.0.1:$port --prefork "$workers" --max-children "$workers" ${ARGS:-} 2>"$out/hello.log" &
master=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
children() { ps -o pid= --ppid "$master" | tr -d ' ' | sort | tr '\n' ' '; }

for mode in close keepalive; do
  header=(); [ "$mode" = close ] && header=(-H 'Connection: close')
  duration=$(( reloads * 2 + 3 ))
  wrk -t1 -c32 -d${duration}s "${header[@]}" "http://127.0.0.1:$port/" >"$out/$mode.txt" &
  load=$!
  changed=0
  for _ in $(seq 1 "$reloads"); do
    sleep 2
    before=$(children); kill -HUP "$master"
    for _ in $(seq 1 100); do
      now=$(children)
      if [ "$(echo $now | wc -w)" = "$workers" ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$now" | sort) | tr -d '\n')" ]; then changed=$((changed+1)); break; fi
      sleep 0.1
    done
  done
  wait $load
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/$mode.txt")
  errors=$(grep -E 'Socket errors|Non-2xx' "$out/$mode.txt" | tr '\n' ' ' || true)
  echo "$mode: $reloads reloads, all pids changed in $changed, rps $rps, ${errors:-socket errors 0, non-2xx 0}"
done
