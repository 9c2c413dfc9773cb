#!/usr/bin/env bash
# Requests/s of two builds of samples/Hello, A/B interleaved: both run at once on their own ports (the one
# not under wrk idles), and wrk alternates A, B, A, B… so that load from other work on a shared machine
# falls on both alike. Keep-alive and `Connection: close`, wrk -t1 -c32, 2 workers each.
# Usage: bench/ab-wrk.sh A.dll B.dll [rounds=5] [seconds=5]     Prints each run, then the medians and B/A.
# Needs wrk (apt-get install wrk). Every process it starts is stopped by pid.
set -euo pipefail
a=$1; b=$2; rounds=${3:-5}; seconds=${4:-5}
port_a=${PORT_A:-18096}; port_b=${PORT_B:-18097}
out=$(mktemp -d)
pids=()
stop() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$out"
}
trap stop EXIT

for side in a b; do
  dll=$a; port=$port_a; [ $side = b ] && { dll=$b; port=$port_b; }
  dotnet "$dll" --listen "127.0.0.1:$port" --prefork 2 --max-children 2 2>"$out/$side.log" &
  pids+=($!)
  for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
  wrk -t1 -c32 -d3s "http://127.0.0.1:$port/" >/dev/null   # warm-up (tiered JIT), discarded
done

rps() { awk '/Requests\/sec:/ {print $2}' "$1"; }
for r in $(seq 1 "$rounds"); do
  for mode in keepalive close; do
    header=(); [ $mode = close ] && header=(-H 'Connection: close')
    for side in a b; do
      port=$port_a; [ $side = b ] && port=$port_b
      wrk -t1 -c32 -d"${seconds}s" "${header[@]}" "http://127.0.0.1:$port/" >"$out/$side.$mode.$r.txt"
      echo "round $r $mode $side $(rps "$out/$side.$mode.$r.txt") rps (load $(cut -d' ' -f1 /proc/loadavg))"
    done
  done
done

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for mode in keepalive close; do
  ma=$(for f in "$out"/a."$mode".*.txt; do rps "$f"; done | median)
  mb=$(for f in "$out"/b."$mode".*.txt; do rps "$f"; done | median)
  awk -v m="$mode" -v a="$ma" -v b="$mb" 'BEGIN {printf "%-9s median A %.0f  B %.0f  B/A %.3f\n", m, a, b, b / a}'
done
