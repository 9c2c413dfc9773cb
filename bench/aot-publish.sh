#!/usr/bin/env bash
# Publishes samples/Hello as a NativeAOT executable (Release, linux-x64) and prints its path last.
# NativeAOT links with clang and needs zlib's headers: apt-get install clang zlib1g-dev.
# Usage: bench/aot-publish.sh [output folder, default bench/results/tmp/hello-aot]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/bench/results/tmp/hello-aot}"

if ! command -v clang >/dev/null 2>&1; then
  echo "aot-publish: clang is not on PATH; NativeAOT links with it: apt-get install clang zlib1g-dev" >&2
  exit 1
fi

start=$(date +%s.%N)
dotnet publish "$root/samples/Hello" -c Release -r linux-x64 -p:PublishAot=true -o "$out" \
  --disable-build-servers -nodeReuse:false >&2
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "aot-publish: %.1f s\n", e - s }' >&2
echo "$out/Hello"
