#!/usr/bin/env bash
# Memory of the `prefork run` master: the tool published NativeAOT next to the JIT tool (dotnet
# Prefork.Cli.dll), each running samples/Hello (published, JIT) and a `dotnet new web` app (Release) with
# --prefork 2. Per master and app: RSS and PSS (/proc/PID/smaps_rollup) once idle, the peak RSS sampled
# every 0.2 s under wrk -t1 -c32 -d10s keep-alive, RSS and PSS after it, and the children then. The two
# masters alternate, ROUNDS times. Usage: bench/aot-tool.sh   Environment: ROUNDS (2), DUR (10s), PORT (18640),
# SMAPS=1 also prints the AOT master's largest mappings by RSS once idle.
# Needs clang and zlib1g-dev (the NativeAOT publish), wrk, curl. Every process it starts is stopped by pid.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
ROUNDS=${ROUNDS:-2}; DUR=${DUR:-10s}; PORT=${PORT:-18640}
work=$(mktemp -d /tmp/prefork-aot-tool.XXXXXX)
master=""
stop() {
  [ -n "$master" ] || return 0
  kill -TERM "$master" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$master" 2>/dev/null || true
  wait "$master" 2>/dev/null || true
  master=""
}
trap 'stop; rm -rf "$work"' EXIT

start=$(date +%s.%N)
dotnet publish "$repo/src/Prefork.Cli" -c Release -r linux-x64 -p:PublishAot=true -o "$work/aot" \
  --disable-build-servers -nodeReuse:false >"$work/publish.log" || { tail -20 "$work/publish.log" >&2; exit 1; }
awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "# NativeAOT publish of the tool: %.1f s\n", e - s }'
dotnet build "$repo/src/Prefork.Cli" -c Release --disable-build-servers -nodeReuse:false >/dev/null
jit_dll="$repo/src/Prefork.Cli/bin/Release/net10.0/Prefork.Cli.dll"
dotnet publish "$repo/samples/Hello" -c Release -o "$work/hello" --disable-build-servers -nodeReuse:false >/dev/null
dotnet new web -o "$work/web" --no-restore >/dev/null
dotnet build "$work/web" -c Release -o "$work/app" --disable-build-servers -nodeReuse:false >/dev/null

kib() { awk -v k="$1" '/^(Rss|Pss):/ && $1 == k":" {print $2}' "/proc/$master/smaps_rollup"; }
wait_up() { for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/" && return 0; sleep 0.1; done; echo "no answer on $PORT" >&2; exit 1; }
children() { pgrep -P "$master" | wc -l; }

measure() { # label, program, the master's command…
  local label=$1 program=$2; shift 2
  (cd "$work/web" && Logging__LogLevel__Default=Warning exec "$@" run --listen "127.0.0.1:$PORT" --prefork 2 -- "$program") >"$work/master.log" 2>&1 &
  master=$!
  wait_up; sleep 3
  local idle_rss idle_pss peak=0 rss
  idle_rss=$(kib Rss); idle_pss=$(kib Pss)
  if [ "${SMAPS:-0}" = 1 ] && [ "${label%% *}" = aot ]; then
    awk '/^[0-9a-f]+-/ {name=$6; if (name == "") name="[anon]"} /^Rss:/ {rss[name]+=$2} END {for (n in rss) if (rss[n] >= 128) printf "#   %6d KiB  %s\n", rss[n], n}' "/proc/$master/smaps" | sort -rn
  fi
  wrk -t1 -c32 -d"$DUR" "http://127.0.0.1:$PORT/" >"$work/wrk.txt" & local load=$!
  while kill -0 "$load" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$master/status"); (( rss > peak )) && peak=$rss
    sleep 0.2
  done
  wait "$load"
  printf '%-14s idle rss=%5d pss=%5d KiB | under load peak rss=%5d, after rss=%5d pss=%5d KiB, %2d children | %s rps | load %s\n' \
    "$label" "$idle_rss" "$idle_pss" "$peak" "$(kib Rss)" "$(kib Pss)" "$(children)" \
    "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")" "$(cut -d' ' -f1-3 /proc/loadavg)"
  stop
}

echo "# $(nproc) cores, $(uname -r), dotnet $(dotnet --version), $(date -u +%F), tool $(du -k "$work/aot/prefork" | cut -f1) KiB"
for round in $(seq "$ROUNDS"); do
  for app in hello web; do
    program="$work/hello/Hello.dll"; [ "$app" = web ] && program="$work/app/web.dll"
    measure "aot $app" "$program" "$work/aot/prefork"
    measure "jit $app" "$program" dotnet "$jit_dll"
  done
done
