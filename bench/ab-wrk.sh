#!/usr/bin/env bash
# Requests/s of two builds of samples/Hello, A/B interleaved: both run at once on their own ports (the one
# not under wrk idles), and wrk alternates A, B, A, B… so that load from other work on a shared machine
# falls on both alike. Keep-alive and `Connection: close`, wrk -t1 -c32, 2 workers each.
# Usage: bench/ab-wrk.sh A.dll B.dll [rounds=5] [seconds=5]     Prints each run, then the medians and B/A.
# ENV_A / ENV_B: environment for one side only (e.g. ENV_B=DOTNET_GCgen0size=0x100000 with the same dll twice).
# Each run also prints the mean PSS of the side's workers, sampled half-way through it.
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
  vars=${ENV_A:-}; [ $side = b ] && vars=${ENV_B:-}
  # Both sides at the same fixed two children: the A/B compares what a child costs, not how far a pool grows.
  # shellcheck disable=SC2086 # a list of NAME=value words
  env $vars dotnet "$dll" --listen "127.0.0.1:$port" --prefork 2 --max-children 2 2>"$out/$side.log" &
  pids+=($!)
  for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
  wrk -t1 -c32 -d3s "http://127.0.0.1:$port/" >/dev/null   # warm-up (tiered JIT), discarded
done

rps() { awk '/Requests\/sec:/ {print $2}' "$1"; }
worker_pss_kib() { # master pid -> mean Pss of its children
  local w sum=0 n=0
  for w in $(ps -o pid= --ppid "$1"); do sum=$((sum + $(awk '/^Pss:/ {print $2}' "/proc/$w/smaps_rollup" 2>/dev/null || echo 0))); n=$((n + 1)); done
  echo $((sum / (n > 0 ? n : 1)))
}
for r in $(seq 1 "$rounds"); do
  for mode in keepalive close; do
    header=(); [ $mode = close ] && header=(-H 'Connection: close')
    for side in a b; do
      port=$port_a; master=${pids[0]}; [ $side = b ] && { port=$port_b; master=${pids[1]}; }
      ( sleep "$(awk -v s="$seconds" 'BEGIN {print s / 2}')"; worker_pss_kib "$master" >"$out/$side.$mode.$r.pss" ) &
      sampler=$!
      wrk -t1 -c32 -d"${seconds}s" "${header[@]}" "http://127.0.0.1:$port/" >"$out/$side.$mode.$r.txt"
      wait "$sampler"
      echo "round $r $mode $side $(rps "$out/$side.$mode.$r.txt") rps, worker PSS $(cat "$out/$side.$mode.$r.pss") KiB (load $(cut -d' ' -f1 /proc/loadavg))"
    done
  done
done

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for mode in keepalive close; do
  ma=$(for f in "$out"/a."$mode".*.txt; do rps "$f"; done | median)
  mb=$(for f in "$out"/b."$mode".*.txt; do rps "$f"; done | median)
  pa=$(cat "$out"/a."$mode".*.pss | median); pb=$(cat "$out"/b."$mode".*.pss | median)
  awk -v m="$mode" -v a="$ma" -v b="$mb" -v pa="$pa" -v pb="$pb" \
    'BEGIN {printf "%-9s median A %.0f  B %.0f rps  B/A %.3f | loaded worker PSS A %.1f  B %.1f MiB\n", m, a, b, b / a, pa / 1024, pb / 1024}'
done
