# Interleaved A/B of two published builds of samples/Hello (A: the build under test, B: the one before it), 2 children each, wrk -t1 -c32, 5 s runs.
# Both pools pinned at 2 (--max-children 2) on purpose: an A/B of two builds compares like with like; the default
# ceiling lets either pool grow with its own timing, which compare.sh's prefork-ceiling row measures instead.
A=/tmp/cmp2/hello/Hello.dll; B=/tmp/cmp2/hello-before/Hello.dll
(setsid dotnet $A --listen 127.0.0.1:18801 --prefork 2 --max-children 2 >/dev/null 2>&1 &)
(setsid dotnet $B --listen 127.0.0.1:18802 --prefork 2 --max-children 2 >/dev/null 2>&1 &)
sleep 2
for p in 18801 18802; do wrk -t1 -c32 -d3s http://127.0.0.1:$p/ >/dev/null; done
for r in 1 2 3 4 5 6 7 8; do
  if (( r % 2 )); then ports="18802 18801"; else ports="18801 18802"; fi
  line="round $r:"
  for mode in ka close; do for p in $ports; do
    h=(); [ $mode = close ] && h=(-H 'Connection: close')
    v=$(wrk -t1 -c32 -d5s "${h[@]}" http://127.0.0.1:$p/ | awk '/Requests\/sec/ {printf "%d", $2}')
    line+=" $mode-$p=$v"
  done; done
  echo "$line"
done
for p in 18801 18802; do kill $(pgrep -f "Hello.dll --listen 127.0.0.1:$p" | head -1); done
