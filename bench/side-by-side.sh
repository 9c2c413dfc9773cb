# Measurements compare.sh and reload-compare.sh add to the anchors' lib.sh (source it first).
# Every process is started by start_server and stopped by pid (stop_server); every wrk run is bounded.

# wait_quiet from lib.sh waits up to 45 s per run; GATE_MAX shortens that on a machine known to be busy.
wait_quiet() {
  local max=${GATE_MAX:-45} t0 ok=0; t0=$(date +%s)
  while (( $(date +%s) - t0 < max )); do
    if (( $(cpu_idle_pct) >= 90 )); then ok=$((ok+1)); (( ok >= 3 )) && { echo quiet; return 0; }; else ok=0; fi
  done
  echo NOT-quiet; return 1
}

# worker_pids NAME MASTER: the processes that serve requests (Kestrel is one process, the master itself).
worker_pids() {
  case $1 in kestrel*) echo "$2" ;; *) children "$2" ;; esac
}

# mem_kib PID -> "rss pss" in KiB, from /proc/PID/smaps_rollup (PSS shares pages between forked workers).
mem_kib() {
  awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {printf "%d %d\n", r, p}' "/proc/$1/smaps_rollup" 2>/dev/null || echo "0 0"
}

# mem_line NAME MASTER -> "master_rss master_pss worker_rss_mean worker_pss_mean workers"
mem_line() {
  local name=$1 m=$2 w r p rs=0 ps=0 n=0
  for w in $(worker_pids "$name" "$m"); do
    read -r r p < <(mem_kib "$w"); rs=$((rs + r)); ps=$((ps + p)); n=$((n + 1))
  done
  read -r r p < <(mem_kib "$m")
  (( n > 0 )) || n=1
  echo "$r $p $((rs / n)) $((ps / n)) $n"
}

# reload_once NAME MASTER -> milliseconds from the signal until the last worker that was serving
# before it is gone (bounded: 30 s, printed as 30000+)
reload_once() {
  local name=$1 m=$2 old w alive t0 t1; old=$(worker_pids "$name" "$m")
  t0=$(date +%s%N); reload_cmd "$name" "$m"
  for _ in $(seq 1 1500); do
    alive=""; for w in $old; do [ -d "/proc/$w" ] && [ "$(awk '{print $3}' "/proc/$w/stat" 2>/dev/null)" != Z ] && alive+="$w "; done
    [ -z "$alive" ] && break
    sleep 0.02
  done
  t1=$(date +%s%N)
  [ -z "$alive" ] && echo $(( (t1 - t0) / 1000000 )) || echo "30000+"
}

# reloads_under_load NAME MASTER COUNT OUTFILE [close|keepalive] -> "rps failed durations_ms(comma)"
# wrk (by default with Connection: close: every request a new connection, the hardest case for a
# reload) while the master reloads COUNT times, 3 s apart. failed = wrk's socket errors + non-2xx.
reloads_under_load() {
  local name=$1 m=$2 count=$3 out=$4 mode=${5:-close} url durations="" i w header=()
  url=$(url_of "$name"); [ "$mode" = close ] && header=(-H 'Connection: close')
  wrk -t1 -c32 -d$((count * 3 + 3))s --latency "${header[@]}" "$url" > "$out" 2>&1 &
  w=$!
  sleep 2
  for i in $(seq 1 "$count"); do
    local t0 d; t0=$(date +%s%N)
    d=$(reload_once "$name" "$m"); durations+="$d,"
    # next reload 3 s after this one started, whatever the reload took
    local left=$(( 3000 - ($(date +%s%N) - t0) / 1000000 ))
    (( left > 0 )) && sleep "$(awk -v ms="$left" 'BEGIN {printf "%.3f", ms / 1000}')"
  done
  wait "$w"
  read -r rps _ c r wr t non _ < <(parse_wrk "$out")
  echo "$rps $((c + r + wr + t + non)) ${durations%,}"
}

# fairness NAME OUTFILE -> "connections min max total" of requests per keep-alive connection
# (wrk -t32 -c32: one connection a thread, so the per-thread count is the per-connection count).
fairness() {
  local name=$1 out=$2
  wrk -t32 -c32 -d"${FAIR_DUR:-${DUR:-10s}}" -s "$(dirname "${BASH_SOURCE[0]}")/per-connection.lua" "$(url_of "$name")" > "$out" 2>&1
  awk '/^per-connection:/ {print $3, $5, $7, $9}' "$out"
}

# cold_start NAME RUNS -> "median_ms runs_ms(comma)": start command -> first 2xx (curl every 10 ms)
cold_start() {
  local name=$1 runs=$2 i t0 t1 pid ts=()
  for i in $(seq 1 "$runs"); do
    wait_quiet > /dev/null || true
    t0=$(date +%s%N); pid=$(start_server "$name" "${WORKERS:-2}")
    if wait_http "$(url_of "$name")" 30; then t1=$(date +%s%N); ts+=( $(( (t1 - t0) / 1000000 )) ); else ts+=(99999); fi
    stop_server "$pid" "$(port_of "$name")"; sleep 0.5
  done
  local sorted; sorted=$(printf '%s\n' "${ts[@]}" | sort -n)
  echo "$(sed -n "$(( (runs + 1) / 2 ))p" <<<"$sorted") $(IFS=,; echo "${ts[*]}")"
}
