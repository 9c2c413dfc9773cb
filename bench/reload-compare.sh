#!/usr/bin/env bash
# Prefork's SIGHUP reload against gunicorn's, same machine, same load: N reloads 3 s apart under wrk
# (-t1 -c32, once with Connection: close and once keep-alive), for each: the reload's duration (signal
# -> the last worker that served before it is gone) and the failed requests (wrk's socket errors +
# non-2xx). Servers come from the anchors' lib.sh (gunicorn: Debian's python3-gunicorn).
# Usage: bench/reload-compare.sh [reloads=10] [ANCHORS_DIR]   Environment: SERVERS ("prefork gunicorn"), WORKERS (2)
set -uo pipefail   # no -e: the anchors' helpers return non-zero on purpose (gates, kill -0)
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
reloads=${1:-10}
anchors=${2:-$(cd "$repo/../shared/bench/anchors" 2>/dev/null || cd "$repo/../../shared/bench/anchors" 2>/dev/null && pwd)}
[ -f "$anchors/lib.sh" ] || { echo "reload-compare.sh: no anchor scripts at '$anchors'; pass their folder" >&2; exit 2; }
export RUNDIR=${RUNDIR:-/tmp/prefork-reload-compare} RES=${RUNDIR:-/tmp/prefork-reload-compare}/results WORKERS=${WORKERS:-2}
# shellcheck source=/dev/null
source "$anchors/lib.sh"
# shellcheck source=side-by-side.sh
source "$here/side-by-side.sh"
# Published, as it is deployed: ReadyToRun applies at publish only (docs/memory-and-startup.md).
dotnet publish "$repo/samples/Hello" -c Release -o "$RUNDIR/hello" >/dev/null
export PREFORK_HELLO="$RUNDIR/hello/Hello.dll"

printf '%-9s %-9s %7s %8s %9s %9s %9s  %s\n' server mode reloads failed "median_ms" "max_ms" rps "each reload (ms)"
for s in ${SERVERS:-prefork gunicorn}; do
  pid=$(start_server "$s" "$WORKERS")
  if ! wait_http "$(url_of "$s")" 30; then echo "!! $s did not start" >&2; stop_server "$pid" "$(port_of "$s")"; continue; fi
  wrk -t1 -c32 -d3s "$(url_of "$s")" > /dev/null 2>&1   # warm-up, discarded
  for mode in close keepalive; do
    wait_quiet > /dev/null || true
    read -r rps failed durations < <(reloads_under_load "$s" "$pid" "$reloads" "$RES/raw/$s.$mode.reload.txt" "$mode")
    sorted=$(tr ',' '\n' <<<"$durations" | sort -n)
    median=$(sed -n "$(( (reloads + 1) / 2 ))p" <<<"$sorted"); max=$(tail -1 <<<"$sorted")
    printf '%-9s %-9s %7s %8s %9s %9s %9.0f  %s\n' "$s" "$mode" "$reloads" "$failed" "$median" "$max" "$rps" "$durations"
  done
  stop_server "$pid" "$(port_of "$s")"
done
