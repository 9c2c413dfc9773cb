#!/usr/bin/env bash
# Side-by-side run of the Hello sample (Release) against the peer servers, in one run, on 127.0.0.1,
# with the anchor scripts (install them once with their install.sh). Prints the anchors' summary and
# our ratios against each peer. Usage:
#   bench/compare.sh [ANCHORS_DIR]      (default: ../shared/bench/anchors beside this repository)
# Environment: SERVERS (default "nginx apache kestrel prefork"), DUR (default 10s), WORKER_COUNTS (2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
anchors=${1:-$(cd "$repo/../shared/bench/anchors" 2>/dev/null && pwd)}
[ -f "$anchors/run-all.sh" ] || { echo "compare.sh: no anchor scripts at '$anchors'; pass their folder" >&2; exit 2; }
export RUNDIR=${RUNDIR:-/tmp/prefork-compare}
rm -rf "$RUNDIR/results"; mkdir -p "$RUNDIR"
dotnet build "$repo/samples/Hello" -c Release -o "$RUNDIR/hello" >/dev/null
export PREFORK_HELLO="$RUNDIR/hello/Hello.dll"
SERVERS=${SERVERS:-"nginx apache kestrel prefork"} WORKER_COUNTS=${WORKER_COUNTS:-2} DUR=${DUR:-10s} \
  SKIP_COLD=1 SKIP_SCALE=1 bash "$anchors/run-all.sh" >"$RUNDIR/run.log" 2>&1 || true
summary="$RUNDIR/results/summary.tsv"
[ -s "$summary" ] || { echo "compare.sh: the anchor run wrote no summary; see $RUNDIR/run.log" >&2; exit 1; }
column -t -s $'\t' "$summary" | cut -c1-160
awk -F'\t' 'NR > 1 { ka[$1] = $4; cl[$1] = $8; rl[$1] = $16 }
  END {
    us = ""; for (k in ka) if (k ~ /^prefork/) us = k
    if (us == "") { print "no prefork row"; exit 1 }
    printf "\n%s reload errors c/r/w/t: %s\n", us, rl[us]
    for (k in ka) if (k != us && ka[k] > 0 && cl[k] > 0)
      printf "%-14s keep-alive x%.2f   close x%.2f   (prefork / %s)\n", k, ka[us] / ka[k], cl[us] / cl[k], k
  }' "$summary"
