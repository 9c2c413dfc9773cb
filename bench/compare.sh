#!/usr/bin/env bash
# Side-by-side run of the Hello sample (Release) against the peer servers, in one run, on 127.0.0.1,
# with the anchor scripts' servers and helpers (install them once with their install.sh; gunicorn from
# Debian's python3-gunicorn). For each server, one after the other on the same machine with the same
# wrk settings (-t1 -c32, 3 s warm-up discarded, a quiet-CPU gate before each measured run):
#   requests/s and p99 with keep-alive and with `Connection: close`, wrk's max latency,
#   per-connection fairness (wrk -t32 -c32, requests per keep-alive connection: min/max),
#   RSS and PSS (smaps_rollup) of the master and per worker, idle and in the middle of the keep-alive run,
#   failed requests during RELOADS reloads under load and each reload's duration (signal -> last old worker gone),
#   cold start (start command -> first 200, median of COLD_RUNS),
#   for our sample, the most children alive during each measured load (sampled every 50 ms).
# Prints the anchors' summary and our ratios against each peer, then writes
# bench/results/<date>/{table.md,chart.svg,summary.tsv,extras.tsv,raw/}. Usage:
#   bench/compare.sh [ANCHORS_DIR]      (default: shared/bench/anchors beside this repository or its worktree folder)
# Environment: SERVERS (default "prefork prefork-ceiling prefork-aot prefork-wc16 apache gunicorn starman kestrel nginx node";
#   also prefork-kestrel, and prefork-before with BEFORE=<commit>), DUR (10s),
#   WORKER_COUNTS (2), RELOADS (3), COLD_RUNS (5), GATE_MAX (45: seconds to wait for a quiet CPU),
#   OUT (bench/results/<UTC date>), PORT_OFFSET (0: added to every anchor port, so two runs on one machine do not collide).
set -uo pipefail   # no -e: the anchors' helpers return non-zero on purpose (gates, kill -0)
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
anchors=${1:-$(cd "$repo/../shared/bench/anchors" 2>/dev/null || cd "$repo/../../shared/bench/anchors" 2>/dev/null && pwd)}
[ -f "$anchors/lib.sh" ] || { echo "compare.sh: no anchor scripts at '$anchors'; pass their folder" >&2; exit 2; }
command -v wrk >/dev/null || { echo "compare.sh: wrk is required (apt-get install wrk)" >&2; exit 2; }
export RUNDIR=${RUNDIR:-/tmp/prefork-compare} RES=${RUNDIR:-/tmp/prefork-compare}/results
rm -rf "$RES"; mkdir -p "$RES/raw"
SERVERS=${SERVERS:-"prefork prefork-ceiling prefork-aot prefork-wc16 apache gunicorn starman kestrel nginx node"}
WORKER_COUNTS=${WORKER_COUNTS:-2}; DUR=${DUR:-10s}; RELOADS=${RELOADS:-3}; COLD_RUNS=${COLD_RUNS:-5}
OUT=${OUT:-$here/results/$(date -u +%F)}
export DUR

# shellcheck source=/dev/null
source "$anchors/lib.sh"
# shellcheck source=side-by-side.sh
source "$here/side-by-side.sh"

# Published, as it is deployed: the samples publish ReadyToRun (docs/memory-and-startup.md).
dotnet publish "$repo/samples/Hello" -c Release -o "$RUNDIR/hello" >/dev/null
export PREFORK_HELLO="$RUNDIR/hello/Hello.dll"
if [[ " $SERVERS " == *" prefork-kestrel "* ]]; then
  dotnet publish "$repo/samples/KestrelHello" -c Release -o "$RUNDIR/kestrelhello" >/dev/null
fi
if [[ " $SERVERS " == *" prefork-before "* ]]; then
  [ -n "${BEFORE:-}" ] || { echo "compare.sh: prefork-before needs BEFORE=<git commit> to build the sample from" >&2; exit 2; }
  rm -rf "$RUNDIR/before-src"; mkdir -p "$RUNDIR/before-src"
  git -C "$repo" archive "$BEFORE" | tar -x -C "$RUNDIR/before-src"
  dotnet ${BEFORE_VERB:-build} "$RUNDIR/before-src/samples/Hello" -c Release -o "$RUNDIR/hello-before" >/dev/null
fi
if [[ " $SERVERS " == *" kestrel"* ]] && [ ! -f "$RUNDIR/kestrel-out/Hello.dll" ]; then
  rm -rf "$RUNDIR/kestrel-src"; cp -r "$anchors/kestrel" "$RUNDIR/kestrel-src"
  dotnet publish "$RUNDIR/kestrel-src/Hello.csproj" -c Release -o "$RUNDIR/kestrel-out" >/dev/null
fi

# More ways to run our sample beside the anchors' one (JIT, one request at a time a child, pool pinned):
#   prefork-ceiling  the defaults as a user gets them: --prefork N and the default ceiling (150), so the
#                    pool follows the load; the peak-children columns show how far it grew;
#   prefork-aot      the NativeAOT build (bench/aot-publish.sh): the memory and cold-start targets name it;
#   prefork-wc16     --worker-connections 16: each child serves up to 16 requests at once;
#   prefork-kestrel  samples/KestrelHello, published: ASP.NET Core children;
#   prefork-before   the sample built (BEFORE_VERB, default build) from git commit BEFORE: an A/B in one run.
if [[ " $SERVERS " == *" prefork-aot "* ]]; then
  PREFORK_AOT=${PREFORK_AOT:-$("$here/aot-publish.sh" "$RUNDIR/hello-aot" | tail -1)}
fi
if (( ${PORT_OFFSET:-0} != 0 )); then
  eval "$(declare -f port_of | sed '1s/^port_of/anchor_port_of/')"
  port_of() { echo $(( $(anchor_port_of "$1") + PORT_OFFSET )); }
fi
eval "$(declare -f start_server | sed '1s/^start_server/anchor_start_server/')"
start_server() { # NAME WORKERS -> master pid
  local port; port=$(port_of "$1")
  case $1 in
    prefork-ceiling) setsid dotnet "$PREFORK_HELLO" --listen "127.0.0.1:$port" --prefork "$2" >"$RUNDIR/$1-$2.log" 2>&1 & echo $! ;;
    prefork-aot)  setsid "$PREFORK_AOT" --listen "127.0.0.1:$port" --prefork "$2" --max-children "$2" >"$RUNDIR/$1-$2.log" 2>&1 & echo $! ;;
    prefork-wc16) setsid dotnet "$PREFORK_HELLO" --listen "127.0.0.1:$port" --prefork "$2" --max-children "$2" \
                    --worker-connections 16 >"$RUNDIR/$1-$2.log" 2>&1 & echo $! ;;
    prefork-kestrel) setsid dotnet "$RUNDIR/kestrelhello/KestrelHello.dll" --listen "127.0.0.1:$port" --prefork "$2" \
                    --max-children "$2" >"$RUNDIR/$1-$2.log" 2>&1 & echo $! ;;
    prefork-before) setsid dotnet "$RUNDIR/hello-before/Hello.dll" --listen "127.0.0.1:$port" --prefork "$2" \
                    --max-children "$2" >"$RUNDIR/$1-$2.log" 2>&1 & echo $! ;;
    *) anchor_start_server "$@" ;;
  esac
}
eval "$(declare -f reload_cmd | sed '1s/^reload_cmd/anchor_reload_cmd/')"
reload_cmd() { case $1 in prefork-*) kill -HUP "$2" ;; *) anchor_reload_cmd "$@" ;; esac; }

# peak_children MASTER OUT: until killed, the most children MASTER had at any 50 ms sample, in OUT.
peak_children() {
  local most=0 n
  trap 'echo "$most" > "$2"; exit 0' TERM
  # No process started per sample (ps scans all of /proc): a sampler that cost a fifth of a core kept
  # every quiet-CPU gate of the run from passing. Nor a `sleep` per sample: a process started 20 times a
  # second disturbed the very throughput it sat beside, most of all --worker-connections 16's, whose
  # handlers hop threads (docs/benchmarks.md). A read with a timeout on a pipe nobody writes waits inside bash.
  local f kids tick
  exec {tick}<> <(:)
  while [ -d "/proc/$1" ]; do
    n=0
    for f in /proc/"$1"/task/*/children; do kids=(); read -r -a kids < "$f" 2>/dev/null; n=$((n + ${#kids[@]})); done
    (( n > most )) && { most=$n; echo "$most" > "$2"; }
    read -t 0.05 -u "$tick" || true
  done
}

summary="$RES/summary.tsv"; extras="$RES/extras.tsv"
echo -e "label\tserver\tworkers\tka_rps\tka_p99_ms\tka_err(c/r/w/t)\tka_non2xx\tclose_rps\tclose_p99_ms\tclose_err(c/r/w/t)\tclose_non2xx\trss_master_kib\trss_workers_kib\trss_after_load\treload_rps\treload_err(c/r/w/t)\treload_non2xx\tworkers_after_reload" > "$summary"
echo -e "label\tserver\tworkers\tka_max_ms\tidle_master_rss\tidle_master_pss\tidle_worker_rss\tidle_worker_pss\tload_master_rss\tload_master_pss\tload_worker_rss\tload_worker_pss\tfair_conns\tfair_min\tfair_max\tfair_total\treload_failed\treload_ms\tcold_median_ms\tcold_runs_ms\tgates\tka_peak_children\tclose_peak_children" > "$extras"
{ wrk -v 2>&1 | head -1; uname -srm; nproc; date -u; dotnet --version; } > "$RES/env.txt"

bench_one() { # server workers
  local s=$1 n=$2 label=$1-$2 url pid port; url=$(url_of "$s"); port=$(port_of "$s")
  echo "=== $label $url" >&2
  pid=$(start_server "$s" "$n")
  if ! wait_http "$url" 30; then echo "!! $label did not start" >&2; stop_server "$pid" "$port"; return; fi
  sleep 1.5
  local idle; idle=$(mem_line "$s" "$pid")
  local rss_idle; rss_idle="$(ps -o rss= -p "$pid" | tr -d ' ') $(for w in $(worker_pids "$s" "$pid"); do ps -o rss= -p "$w" | tr -d ' '; done | paste -sd,)"
  wrk -t1 -c32 -d3s "$url" > /dev/null 2>&1                      # warm-up (JIT etc.), discarded
  # loaded memory: sampled half-way through the keep-alive run
  local secs; secs=$(tr -dc 0-9 <<<"$DUR")
  ( sleep $(( secs / 2 )); mem_line "$s" "$pid" > "$RES/raw/$label.loadmem" ) &
  local sampler=$!
  local peak; echo 0 > "$RES/raw/$label.ka.peak"; peak_children "$pid" "$RES/raw/$label.ka.peak" & peak=$!
  measured_wrk "$RES/raw/$label.ka.txt" -t1 -c32 -d"$DUR" --latency "$url"
  kill "$peak"; wait "$peak" 2>/dev/null
  wait "$sampler"
  local loaded; loaded=$(cat "$RES/raw/$label.loadmem")
  echo 0 > "$RES/raw/$label.close.peak"; peak_children "$pid" "$RES/raw/$label.close.peak" & peak=$!
  measured_wrk "$RES/raw/$label.close.txt" -t1 -c32 -d"$DUR" --latency -H 'Connection: close' "$url"
  kill "$peak"; wait "$peak" 2>/dev/null
  sleep 1.5
  local rss_after; rss_after="$(ps -o rss= -p "$pid" | tr -d ' ') $(for w in $(worker_pids "$s" "$pid"); do ps -o rss= -p "$w" | tr -d ' '; done | paste -sd,)"
  local fair; wait_quiet > /dev/null || true; fair=$(fairness "$s" "$RES/raw/$label.fair.txt"); fair=${fair:-"0 0 0 0"}
  local rl="-" rlerr="-" rlnon="-" wa="-" rfailed="n/a" rms="n/a"
  case $s in kestrel*) ;; *)
    local q; q=$(wait_quiet || true)
    read -r rl rfailed rms < <(reloads_under_load "$s" "$pid" "$RELOADS" "$RES/raw/$label.reload.txt")
    echo "# gate=$q" >> "$RES/raw/$label.reload.txt"
    sleep 2
    wait_http "$url" 10 || echo "!! $label not answering after reload" >&2
    wa=$(worker_pids "$s" "$pid" | wc -w)
    read -r _ _ c rr ww t non _ < <(parse_wrk "$RES/raw/$label.reload.txt")
    rlerr="$c/$rr/$ww/$t"; rlnon=$non ;;
  esac
  read -r ka kp kc kr kw kt kn _ < <(parse_wrk "$RES/raw/$label.ka.txt")
  read -r cl cp cc cr cw ct cn _ < <(parse_wrk "$RES/raw/$label.close.txt")
  local kmax; kmax=$(awk '/^ +Latency/ {v=$4; if (v ~ /us$/) v=substr(v,1,length(v)-2)/1000; else if (v ~ /ms$/) v=substr(v,1,length(v)-2)+0; else if (v ~ /s$/) v=substr(v,1,length(v)-1)*1000; print v; exit}' "$RES/raw/$label.ka.txt")
  local gates; gates=$(grep -ho '# gate=[^ ]*' "$RES"/raw/"$label".{ka,close,reload}.txt 2>/dev/null | sed 's/# gate=//' | paste -sd/)
  echo -e "$label\t$s\t$n\t$ka\t$kp\t$kc/$kr/$kw/$kt\t$kn\t$cl\t$cp\t$cc/$cr/$cw/$ct\t$cn\t${rss_idle%% *}\t${rss_idle#* }\t$rss_after\t$rl\t$rlerr\t$rlnon\t$wa" >> "$summary"
  stop_server "$pid" "$port"
  local cold; cold=$(cold_start "$s" "$COLD_RUNS")
  read -r im ip iw iq _ <<<"$idle"; read -r lm lp lw lq _ <<<"$loaded"; read -r fc fmin fmax ftot <<<"$fair"
  echo -e "$label\t$s\t$n\t${kmax:-0}\t$im\t$ip\t$iw\t$iq\t$lm\t$lp\t$lw\t$lq\t$fc\t$fmin\t$fmax\t$ftot\t$rfailed\t$rms\t${cold% *}\t${cold#* }\t$gates\t$(cat "$RES/raw/$label.ka.peak")\t$(cat "$RES/raw/$label.close.peak")" >> "$extras"
}

for s in $SERVERS; do
  case $s in kestrel*) bench_one "$s" 1 ;; *) for n in $WORKER_COUNTS; do bench_one "$s" "$n"; done ;; esac
done

# What compare.sh always printed: the anchors' summary and our ratios against each peer.
column -t -s $'\t' "$summary" | cut -c1-160
awk -F'\t' 'NR > 1 { ka[$1] = $4; cl[$1] = $8; rl[$1] = $16 }
  END {
    us = ""; for (k in ka) if (k ~ /^prefork-[0-9]/) us = k
    if (us == "") { print "no prefork row"; exit 1 }
    printf "\n%s reload errors c/r/w/t: %s\n", us, rl[us]
    for (k in ka) if (k !~ /^prefork/ && ka[k] > 0 && cl[k] > 0)
      printf "%-14s keep-alive x%.2f   close x%.2f   (prefork / %s)\n", k, ka[us] / ka[k], cl[us] / cl[k], k
  }' "$summary"

awk -F'\t' 'NR > 1 && $2 ~ /^prefork/ { printf "%-18s most children during keep-alive: %s, during Connection: close: %s\n", $1, $22, $23 }' "$extras"

mkdir -p "$OUT"; rm -rf "$OUT/raw"; cp -r "$RES/raw" "$RES/summary.tsv" "$RES/extras.tsv" "$RES/env.txt" "$OUT/"
python3 "$here/report.py" "$OUT"
echo "wrote $OUT/table.md and $OUT/chart.svg"
