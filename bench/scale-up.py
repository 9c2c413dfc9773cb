#!/usr/bin/env python3
"""Scale-up reaction time: how long the sample takes to go from 2 to 32 busy children.

Usage: bench/scale-up.py [--aot] [children=32] [runs=3]

Publishes the sample in Release, ReadyToRun as deployed (with --aot: publishes it as NativeAOT, see bench/aot-publish.sh), starts `Hello --prefork 2 --max-children 2N --scoreboard S` on 127.0.0.1 (a ceiling
above the load, as in issue 14's `--max-children 64` for 32 requests, so an overshoot shows),
opens N concurrent `/sleep/8000` requests at once, and samples every 50 ms both the kernel's view
(/proc/<master>/task/*/children) and the scoreboard's (slots in state Busy, read straight from the
file). Prints the time until N children exist and until N are busy, i.e. every request is being served.
"""
import mmap, os, socket, struct, subprocess, sys, tempfile, time

AOT = "--aot" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "--aot"]
N = int(ARGS[0]) if len(ARGS) > 0 else 32
RUNS = int(ARGS[1]) if len(ARGS) > 1 else 3
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUSY = 3  # WorkerState.Busy


def children(pid):
    found = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += len(f.read().split())
        except OSError:
            pass
    return found


def busy(path):
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        slots = struct.unpack_from("<i", m, 12)[0]
        # A benchmark may skip the seqlock: a torn state word is impossible (one aligned int).
        return sum(1 for i in range(slots) if struct.unpack_from("<i", m, 64 + 64 * i + 8)[0] == BUSY)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_once(command):
    port = free_port()
    board = os.path.join(tempfile.mkdtemp(prefix="prefork-scale-"), "scoreboard")
    master = subprocess.Popen(command + ["--listen", f"127.0.0.1:{port}", "--prefork", "2",
                               "--max-children", str(2 * N), "--scoreboard", board, "--idle-timeout", "30"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients = []
    try:
        deadline = time.monotonic() + 30
        while not (os.path.exists(board) and children(master.pid) == 2 and busy(board) == 0):
            if time.monotonic() > deadline:
                raise SystemExit("the sample did not start")
            time.sleep(0.05)
        time.sleep(1)  # let the two children settle into accept

        start = time.monotonic()
        for _ in range(N):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"GET /sleep/8000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            clients.append(c)
        all_children = all_busy = None
        curve = []
        most = 0
        while time.monotonic() - start < 8:
            now = time.monotonic() - start
            most = max(most, children(master.pid))
            if not curve or now - curve[-1][0] >= 0.5:
                curve.append((now, children(master.pid), busy(board)))
            if all_children is None and children(master.pid) >= N:
                all_children = now
            if all_busy is None and busy(board) >= N:
                all_busy = now
            if all_busy is not None and now - all_busy >= 1:
                break
            time.sleep(0.05)
        print("  t(s) children busy: " + ", ".join(f"{t:.1f}:{c}/{b}" for t, c, b in curve))
        print(f"  most children at once: {most}")
        return all_children, all_busy
    finally:
        for c in clients:
            c.close()
        master.terminate()
        master.wait(30)


def hello_command():
    # HELLO_DLL picks another JIT build, e.g. one published with -p:PublishReadyToRun=true; HELLO_EXE an
    # executable that needs no muxer (an apphost or a NativeAOT build).
    if os.environ.get("HELLO_EXE"):
        return [os.environ["HELLO_EXE"]]
    if os.environ.get("HELLO_DLL"):
        return ["dotnet", os.environ["HELLO_DLL"]]
    if AOT:
        out = subprocess.run(["bash", os.path.join(ROOT, "bench", "aot-publish.sh")], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.split()
        return [out[-1]]
    # Published, as it is deployed (and as bench/compare.sh runs it): the sample publishes ReadyToRun.
    out = os.path.join(tempfile.gettempdir(), "prefork-scale-up-hello")
    subprocess.run(["dotnet", "publish", "-c", "Release", "-o", out, os.path.join(ROOT, "samples", "Hello")], check=True,
                   stdout=subprocess.DEVNULL)
    return ["dotnet", os.path.join(out, "Hello.dll")]


def main():
    command = hello_command()
    print(f"{' '.join(command)}: 2 -> {N} busy children")
    for run in range(RUNS):
        c, b = run_once(command)
        fmt = lambda t: "not within 8 s" if t is None else f"{t:.2f} s"
        print(f"run {run + 1}: {N} children after {fmt(c)}, {N} busy after {fmt(b)}")


main()
