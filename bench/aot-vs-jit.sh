#!/usr/bin/env bash
# Worker start-up and memory, and the 2 -> 32 busy scale-up, for the JIT build of samples/Hello next to
# its NativeAOT build. Usage: bench/aot-vs-jit.sh [samples=20] [scale-up runs=3]
# Needs clang and zlib1g-dev for the NativeAOT publish (apt-get install clang zlib1g-dev), python3.
# The scripts it calls stop every process they start, by pid.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
samples=${1:-20}; runs=${2:-3}

dotnet build "$repo/samples/Hello" -c Release --disable-build-servers -nodeReuse:false >/dev/null
jit=(dotnet "$repo/samples/Hello/bin/Release/net10.0/Hello.dll")
aot=$(bash "$here/aot-publish.sh" | tail -n1)
echo "NativeAOT executable: $aot ($(du -k "$aot" | cut -f1) KiB)"

echo "== worker start-up and idle memory (bench/worker-start.py, $samples samples each)"
echo "JIT: $(python3 "$here/worker-start.py" --samples "$samples" "${jit[@]}")"
echo "AOT: $(python3 "$here/worker-start.py" --samples "$samples" "$aot")"

echo "== scale-up from 2 to 32 busy children (bench/scale-up.py, $runs runs each)"
echo "JIT:"; HELLO_DLL="${jit[1]}" python3 "$here/scale-up.py" 32 "$runs"
echo "AOT:"; HELLO_EXE="$aot" python3 "$here/scale-up.py" 32 "$runs"
