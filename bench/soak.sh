#!/usr/bin/env bash
# Soak: runs the Hello sample (Release) under a bounded, moderate load for a while and samples the
# master's RSS and descriptor count every 10 s; prints each sample and the drift (target: none).
# Load: every 10 s a 2 s wrk burst (-t1 -c4, keep-alive and Connection: close in turn), so about a
# fifth of the time; a SIGHUP reload every RELOAD_EVERY seconds, since reloads are where a master
# could leak (pipes, Process handles, scoreboard slots).
# Usage: bench/soak.sh [seconds=3600] [workers=2]   Environment: PORT (18089), RELOAD_EVERY (300)
# Not part of CI. Every process it starts is stopped by pid.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
seconds=${1:-3600}; workers=${2:-2}; port=${PORT:-18089}; reload_every=${RELOAD_EVERY:-300}
command -v wrk >/dev/null || { echo "soak.sh: wrk is required (apt-get install wrk)" >&2; exit 2; }
out=$(mktemp -d); master=""
stop() { [ -n "$master" ] || return 0; kill -TERM "$master" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$master" 2>/dev/null || true; master=""; }
trap 'stop; rm -rf "$out"' EXIT
dotnet build "$repo/samples/Hello" -c Release -o "$out/hello" >/dev/null
dotnet "$out/hello/Hello.dll" --listen 127.0.0.1:$port --prefork "$workers" --max-children "$workers" 2>"$out/hello.log" &
master=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$master/status"; }
fds() { find "/proc/$master/fd" -mindepth 1 -maxdepth 1 | wc -l; }
echo -e "t_s\tmaster_rss_kib\tmaster_fds\tchildren\trequests"
start=$(date +%s); next_reload=$((start + reload_every)); requests=0; burst=0; samples="$out/samples.tsv"
while (( $(date +%s) - start < seconds )); do
  header=(); (( burst++ % 2 )) && header=(-H 'Connection: close')
  done_now=$(wrk -t1 -c4 -d2s "${header[@]}" "http://127.0.0.1:$port/" 2>/dev/null | awk '/ requests in / {print $1}')
  requests=$((requests + ${done_now:-0}))
  if (( $(date +%s) >= next_reload )); then kill -HUP "$master"; next_reload=$((next_reload + reload_every)); fi
  sleep 8
  kill -0 "$master" 2>/dev/null || { echo "soak.sh: the master died; its log:" >&2; cat "$out/hello.log" >&2; exit 1; }
  line="$(( $(date +%s) - start ))\t$(rss)\t$(fds)\t$(ps -o pid= --ppid "$master" | wc -l)\t$requests"
  echo -e "$line" | tee -a "$samples"
done

# Drift: the last minute's mean against the first minute's (the first samples include JIT warm-up).
awk -F'\t' '{ t[NR] = $1; r[NR] = $2; f[NR] = $3 } END {
  n = NR; k = (n >= 12) ? 6 : int((n + 1) / 2); if (n == 0) { print "no samples"; exit 1 }
  for (i = 1; i <= k; i++) { r0 += r[i]; f0 += f[i] } for (i = n - k + 1; i <= n; i++) { r1 += r[i]; f1 += f[i] }
  printf "drift over %d s (%d samples, mean of the last %d against the first %d): master RSS %+.0f KiB (%.0f -> %.0f), descriptors %+.1f (%.1f -> %.1f)\n",
    t[n], n, k, k, (r1 - r0) / k, r0 / k, r1 / k, (f1 - f0) / k, f0 / k, f1 / k }' "$samples"
echo "requests served: $requests; errors in the master's log: $(grep -c 'fail:' "$out/hello.log" || true)"
