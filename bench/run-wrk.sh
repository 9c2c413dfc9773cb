#!/usr/bin/env bash
# `prefork run` against the same app alone: a `dotnet new web` app (Release, no Prefork reference) served
# by one Kestrel process, then by `prefork run` with 2 children (the pool pinned at 2, so both runs have
# the same work), wrk -t1 -c32 for DUR with keep-alive and with `Connection: close`; then failed requests
# (wrk's socket errors plus non-2xx) over RELOADS HUPs sent one after the other's end, under load. One
# run, 127.0.0.1 only. Usage: bench/run-wrk.sh   Environment: DUR (10s), RELOADS (10), PORT (18620).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
DUR=${DUR:-10s}; RELOADS=${RELOADS:-10}; PORT=${PORT:-18620}
work=$(mktemp -d /tmp/prefork-run-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

dotnet build "$repo/src/Prefork.Cli" -c Release -o "$work/tool" >/dev/null
dotnet new web -o "$work/web" --no-restore >/dev/null
dotnet build "$work/web" -c Release -o "$work/app" >/dev/null

wait_up() { for _ in $(seq 200); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null && return 0; sleep 0.1; done; echo "no answer on $PORT" >&2; exit 1; }
measure() { # label
  wrk -t1 -c32 -d3s "http://127.0.0.1:$PORT/" >/dev/null   # warm-up, discarded
  printf '%s keep-alive rps: %s\n' "$1" "$(wrk -t1 -c32 -d"$DUR" "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/ {print $2}')"
  printf '%s close rps: %s\n' "$1" "$(wrk -t1 -c32 -d"$DUR" -H 'Connection: close' "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/ {print $2}')"
}

(cd "$work/web" && ASPNETCORE_URLS="http://127.0.0.1:$PORT" Logging__LogLevel__Default=Warning exec dotnet "$work/app/web.dll") & kestrel=$!; pids+=("$kestrel")
wait_up; measure "kestrel (1 process)"
kill -TERM "$kestrel"; wait "$kestrel" || true; pids=()

(cd "$work/web" && Logging__LogLevel__Default=Warning exec dotnet "$work/tool/Prefork.Cli.dll" run --listen "127.0.0.1:$PORT" --prefork 2 --max-children 2 -- "$work/app/web.dll") >"$work/master.log" 2>&1 & master=$!; pids+=("$master")
wait_up; measure "prefork run (2 children)"

wrk -t1 -c32 -d120s "http://127.0.0.1:$PORT/" >"$work/reload-wrk.txt" & load=$!
for generation in $(seq 2 $((RELOADS + 1))); do
  sleep 1; kill -HUP "$master"
  until grep -q "reload: generation $generation serving alone" "$work/master.log"; do sleep 0.1; done
done
kill -INT "$load"; wait "$load" || true
errors=$(awk '/Socket errors/ {gsub(/,/,""); print $4+$6+$8+$10} /Non-2xx/ {print $5}' "$work/reload-wrk.txt" | paste -sd+ | bc)
printf 'failed requests over %s reloads: %s (of %s)\n' "$RELOADS" "${errors:-0}" "$(awk '/requests in/ {print $1}' "$work/reload-wrk.txt")"
