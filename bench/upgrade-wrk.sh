#!/usr/bin/env bash
# Failed requests during master upgrades: wrk drives the daemonized Hello sample (Release) on 127.0.0.1
# while the master gets SIGUSR2 every 3 s. Reports wrk's socket errors and non-2xx answers, and for each
# upgrade the time from the signal until the pid file names the new master and until the old master is
# gone (polled every 20 ms). Usage: bench/upgrade-wrk.sh [upgrades=5] [workers=3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
upgrades=${1:-5}; workers=${2:-3}; port=${PORT:-18089}
out=$(mktemp -d)
stop() { local master; master=$(cat "$out/hello.pid" 2>/dev/null) || return 0; kill -TERM "$master" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$master" 2>/dev/null || true; }
trap 'stop; rm -rf "$out"' EXIT
dotnet build "$repo/samples/Hello" -c Release -o "$out/hello" >/dev/null
# The default ceiling: the pool follows the load, and an upgrade must hand over what it grew to.
dotnet "$out/hello/Hello.dll" --listen 127.0.0.1:$port --prefork "$workers" \
  --daemonize --pid-file "$out/hello.pid" --error-log "$out/error.log"
ms() { date +%s%3N; }

for mode in close keepalive; do
  header=(); [ "$mode" = close ] && header=(-H 'Connection: close')
  duration=$(( upgrades * 3 + 3 ))
  wrk -t1 -c32 -d${duration}s "${header[@]}" "http://127.0.0.1:$port/" >"$out/$mode.txt" &
  load=$!
  times=()
  for _ in $(seq 1 "$upgrades"); do
    sleep 3
    old=$(cat "$out/hello.pid"); start=$(ms); kill -USR2 "$old"
    named=""; gone=""
    for _ in $(seq 1 1500); do
      [ -z "$named" ] && [ "$(cat "$out/hello.pid")" != "$old" ] && named=$(( $(ms) - start ))
      [ -z "$gone" ] && ! kill -0 "$old" 2>/dev/null && gone=$(( $(ms) - start ))
      [ -n "$named" ] && [ -n "$gone" ] && break
      sleep 0.02
    done
    times+=("${named:-?}/${gone:-?}")
  done
  wait $load
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/$mode.txt")
  errors=$(grep -E 'Socket errors|Non-2xx' "$out/$mode.txt" | tr '\n' ' ' || true)
  echo "$mode: $upgrades upgrades, ms to new pid in file/old master gone: ${times[*]}; rps $rps, ${errors:-socket errors 0, non-2xx 0}"
done
grep -o 'is ready after [0-9]* ms' "$out/error.log" | awk '{print $4}' | tr '\n' ' ' | sed 's/^/handover (new master start to its floor ready), ms: /'; echo
