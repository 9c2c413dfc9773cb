#!/usr/bin/env bash
# Requests/s of the Hello sample behind nginx: nginx -> Hello over a Unix socket vs over TCP, in the
# same run, with and without upstream keep-alive. One Hello serves both (--listen unix:… and HOST:PORT),
# one nginx worker proxies four ports; wrk drives nginx with keep-alive. Children take 16 connections
# each: with one, an upstream keep-alive connection pins its child and the others starve in the queue. Runs alternate, so load from
# elsewhere on the machine falls on both sides alike.
# Usage: bench/nginx-unix.sh [workers=2] [seconds=8] [connections=32] [rounds=2]
# Needs nginx and wrk (apt-get install nginx wrk). Every process it starts is stopped by pid.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
workers=${1:-2}; seconds=${2:-8}; connections=${3:-32}; rounds=${4:-2}
base=${PORT:-18190}
out=$(mktemp -d)
pids=()
stop() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap 'stop; rm -rf "$out"' EXIT

dotnet build "$repo/samples/Hello" -c Release -o "$out/hello" >/dev/null
sock="$out/app.sock"
dotnet "$out/hello/Hello.dll" --listen "unix:$sock" --listen "127.0.0.1:$base" --prefork "$workers" --max-children "$workers" \
  --worker-connections 16 2>"$out/hello.log" &
pids+=($!)
for _ in $(seq 1 300); do curl -sf -o /dev/null --unix-socket "$sock" http://x/ && break; sleep 0.05; done

# Ports: +1 unix, +2 tcp (a new upstream connection per request, nginx's default), +3 unix and +4 tcp
# with upstream keep-alive (HTTP/1.1, 32 idle connections kept).
mkdir -p "$out/nginx"
cat >"$out/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $out/nginx.pid;
error_log $out/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $out/nginx/body; proxy_temp_path $out/nginx/proxy;
    fastcgi_temp_path $out/nginx/fastcgi; uwsgi_temp_path $out/nginx/uwsgi; scgi_temp_path $out/nginx/scgi;
    upstream unix_close { server unix:$sock; }
    upstream tcp_close  { server 127.0.0.1:$base; }
    upstream unix_ka    { server unix:$sock; keepalive 32; }
    upstream tcp_ka     { server 127.0.0.1:$base; keepalive 32; }
    server { listen 127.0.0.1:$((base + 1)); location / { proxy_pass http://unix_close; } }
    server { listen 127.0.0.1:$((base + 2)); location / { proxy_pass http://tcp_close; } }
    server { listen 127.0.0.1:$((base + 3)); location / { proxy_pass http://unix_ka; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    server { listen 127.0.0.1:$((base + 4)); location / { proxy_pass http://tcp_ka; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
EOF
nginx -p "$out" -c "$out/nginx.conf" -e "$out/nginx-error.log" &
pids=($! "${pids[@]}")
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$((base + 1))/" && break; sleep 0.05; done

run() { # name, port
  local name=$1 port=$2 rps errors non2xx
  wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$port/" >/dev/null   # warm-up, discarded
  wrk -t1 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/" >"$out/$name.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/$name.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out/$name.txt")
  errors=$(awk '/Socket errors/ {print $0}' "$out/$name.txt")
  printf '%-14s workers=%s conns=%s rps=%s p99=%s non2xx=%s %s\n' "$name" "$workers" "$connections" "$rps" \
    "$(awk '$1=="99%" {print $2}' "$out/$name.txt")" "${non2xx:-0}" "${errors:-errors=0}"
}

echo "# $(nproc) cores, $(uname -r), $(dotnet --version), $(nginx -v 2>&1), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
for round in $(seq 1 "$rounds"); do
  echo "# round $round"
  run unix-close $((base + 1))
  run tcp-close $((base + 2))
  run unix-keepalive $((base + 3))
  run tcp-keepalive $((base + 4))
done
