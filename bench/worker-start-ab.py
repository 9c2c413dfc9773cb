#!/usr/bin/env python3
"""Worker start-up of several builds or settings of the sample, interleaved child by child.

Usage: bench/worker-start-ab.py [--samples N] VARIANT [VARIANT...]
  VARIANT: 'NAME=value ... -- COMMAND...' as one argument, e.g.
  bench/worker-start-ab.py --samples 20 'dotnet pub/Hello.dll' 'DOTNET_EnableWriteXorExecute=0 -- dotnet pub/Hello.dll'

bench/worker-start.py measures one build per run, so the machine's load drifts between the runs it
compares. Here every variant's master (a static pool of one child, as there) runs at the same time, and
each round SIGKILLs one child of each variant in turn and times its replacement, so a change in the load
falls on all of them alike (samples/Hello or samples/KestrelHello). Per variant: spawn -> ready (wall clock, scoreboard Idle), the child's CPU
time when it was ready, and its idle RSS/PSS/USS at the end; per variant after the first, the median of
the per-round differences in CPU to ready against the first (a paired comparison: the figure to trust
on a busy machine).
"""
import importlib.util, os, shlex, signal, statistics, subprocess, sys, tempfile, time

_spec = importlib.util.spec_from_file_location("worker_start", os.path.join(os.path.dirname(__file__), "worker-start.py"))
ws = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ws)


def parse_variant(text):
    words = shlex.split(text)
    if "--" in words:
        at = words.index("--")
        env, command = words[:at], words[at + 1:]
    else:
        env, command = [], words
    return text, dict(word.split("=", 1) for word in env), command


def start(env, command):
    port = ws.free_port()
    board = os.path.join(tempfile.mkdtemp(prefix="prefork-start-ab-"), "scoreboard")
    # --max-children 1 pins the pool at one child: KestrelHello has no --min-spare.
    master = subprocess.Popen(command + ["--listen", f"127.0.0.1:{port}", "--prefork", "1", "--max-children", "1", "--scoreboard", board],
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return master, port, board


def main():
    args = sys.argv[1:]
    samples = 20
    if args[:1] == ["--samples"]:
        samples, args = int(args[1]), args[2:]
    if not args:
        raise SystemExit(__doc__)
    variants = [parse_variant(a) for a in args]
    running = []
    try:
        for _, env, command in variants:
            running.append(start(env, command))
        children = []
        for master, port, board in running:
            children.append(ws.wait_for(lambda: os.path.exists(board) and len(ws.children(master.pid)) == 1
                                        and ws.slot_state(board, ws.children(master.pid)[0]) == ws.IDLE
                                        and ws.children(master.pid)[0], 60, "a variant did not start"))
            ws.get_pid(port)
        ready = [[] for _ in variants]
        cpu = [[] for _ in variants]
        for _ in range(samples):
            for i, (master, port, board) in enumerate(running):
                time.sleep(0.3)  # the last child settles: start-ups must not overlap
                old = children[i]
                os.kill(old, signal.SIGKILL)
                fresh = ws.wait_for(lambda: [p for p in ws.children(master.pid) if p != old], 30, "no replacement")[0]
                spawned = time.monotonic()
                ws.wait_for(lambda: ws.slot_state(board, fresh) == ws.IDLE, 30, "the replacement was not ready")
                ready[i].append((time.monotonic() - spawned) * 1000)
                cpu[i].append(ws.cpu_ms(fresh))
                ws.get_pid(port)
                children[i] = fresh
        time.sleep(1)
        memory = [ws.memory_kib(child) for child in children]
    finally:
        for master, _, _ in running:
            master.send_signal(signal.SIGTERM)
        for master, _, _ in running:
            master.wait(30)

    def spread(values):
        q = statistics.quantiles(values, n=4)
        return f"{statistics.median(values):6.1f} ms (IQR {q[0]:.1f}-{q[2]:.1f})"

    load = open("/proc/loadavg").read().split()[0]
    for i, (text, _, _) in enumerate(variants):
        rss, pss, uss = memory[i]
        line = (f"spawn->ready {spread(ready[i])} | cpu to ready {spread(cpu[i])} | "
                f"RSS {rss / 1024:.1f} PSS {pss / 1024:.1f} USS {uss / 1024:.1f} MiB")
        if i > 0:
            line += f" | cpu vs first, median of pairs {statistics.median(b - a for a, b in zip(cpu[0], cpu[i])):+.1f} ms"
        print(f"{line} | {text}")
    print(f"{samples} samples each, interleaved; load average at the end {load}")


main()
