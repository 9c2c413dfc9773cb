#!/usr/bin/env bash
# Issue 5's acceptance 2, measured: the Hello sample (Release) runs from a copy of its build output with
# --auto-reload-every 1; a second build stamped -p:BuildId=… is renamed into that folder while wrk
# drives it. Reports the time from the deploy until the first response and until every response carries
# the new X-Build-Id (polled every 20 ms), until the log says the new generation serves alone, and wrk's
# errors. Usage: [KEEP_LOG=1] bench/deploy-wrk.sh [deploys=3] [workers=3] (KEEP_LOG: print the reload log lines)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
deploys=${1:-3}; workers=${2:-3}; port=${PORT:-18090}
out=$(mktemp -d); master=""
stop() { [ -n "$master" ] || return 0; kill -TERM "$master" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$master" 2>/dev/null || true; master=""; }
trap 'stop; rm -rf "$out"' EXIT
for i in $(seq 0 "$deploys"); do
  dotnet build "$repo/samples/Hello" -c Release -o "$out/build$i" -p:BuildId=build$i -p:UseSharedCompilation=false -nodeReuse:false >/dev/null
done
cp -r "$out/build0" "$out/live"
dotnet "$out/live/Hello.dll" --listen 127.0.0.1:$port --prefork "$workers" --max-children "$workers" --auto-reload-every 1 2>"$out/hello.log" &
master=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
ms() { date +%s%3N; }
id() { curl -s -D - -o /dev/null -H 'Connection: close' "http://127.0.0.1:$port/" | tr -d '\r' | awk -F': ' '/^X-Build-Id/ {print $2}'; }

wrk -t1 -c16 -d$(( deploys * 8 + 2 ))s -H 'Connection: close' "http://127.0.0.1:$port/" >"$out/wrk.txt" &
load=$!
for i in $(seq 1 "$deploys"); do
  sleep 2
  start=$(ms); [ -n "${KEEP_LOG:-}" ] && echo "deploy $i at $(date +%T.%3N)"
  for f in "$out/build$i"/*; do [ -f "$f" ] || continue; cp "$f" "$out/live/.$(basename "$f").new"; mv "$out/live/.$(basename "$f").new" "$out/live/$(basename "$f")"; done
  first=""; all=""; alone=""; streak=0
  for _ in $(seq 1 1000); do
    if [ "$(id)" = "build$i" ]; then [ -z "$first" ] && first=$(( $(ms) - start )); streak=$((streak+1)); else streak=0; fi
    [ -z "$alone" ] && grep -q "generation $((i+1)) serving alone" "$out/hello.log" && alone=$(( $(ms) - start ))
    [ "$streak" -ge 10 ] && [ -n "$alone" ] && { all=$(( $(ms) - start )); break; }
    sleep 0.02
  done
  echo "deploy $i: first new-build response after ${first:-?} ms, old generation gone after ${alone:-?} ms, 10 new in a row by ${all:-?} ms"
  sleep 4
done
wait $load
[ -n "${KEEP_LOG:-}" ] && grep -E "auto-reload|reload:|spawned|exited" "$out/hello.log" | cut -c12-150
errors=$(grep -E 'Socket errors|Non-2xx' "$out/wrk.txt" | tr '\n' ' ' || true)
echo "wrk: $(awk '/requests in/ {print $1" requests"}' "$out/wrk.txt"); ${errors:-socket errors 0, non-2xx 0}"
