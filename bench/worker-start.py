#!/usr/bin/env python3
"""Worker start-up cost of one build of the sample: start-to-ready time and idle memory per child.

Usage: bench/worker-start.py [--samples N] COMMAND...   (COMMAND starts Hello: `dotnet Hello.dll` or `./Hello`)

Starts `COMMAND --prefork 1 --min-spare 0 --scoreboard S` on 127.0.0.1 (a static pool of one child), then
N times: SIGKILLs the child and, polling every ~0.2 ms,
  spawn  = the replacement's pid shows up in /proc/<master>/task/*/children (the fork);
  ready  = its scoreboard slot first reads Idle (it is about to accept);
  answer = a `GET /pid` sent at `ready` is answered (by that child: the only one), i.e. the first request
           a fresh child serves, its own cold path included.
  cpu    = the CPU time the replacement had used when it was ready (its threads' /proc schedstat): unlike
           the wall-clock figures, it hardly moves when other work shares the machine.
Then, with the children idle, reads VmRSS from /proc/PID/status and Pss and the private pages (USS) from
/proc/PID/smaps_rollup for the child and the master (Pss shares each page among the processes that map it:
the fair per-child cost; USS is what the child alone holds, whatever else runs on the machine).
Prints one line of medians (and the range) that bench/aot-vs-jit.sh puts in its table.
"""
import mmap, os, signal, socket, statistics, struct, subprocess, sys, tempfile, time

IDLE = 2  # WorkerState.Idle


def children(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return found


def slot_state(board, pid):
    """The state of the slot that names `pid`, or None. One aligned int each: no torn reads to fear."""
    with open(board, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        slots = struct.unpack_from("<i", m, 12)[0]
        for i in range(slots):
            base = 64 + 64 * i
            if struct.unpack_from("<i", m, base + 4)[0] == pid:
                return struct.unpack_from("<i", m, base + 8)[0]
    return None


def get_pid(port):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := c.recv(4096):
            data += chunk
    return int(data.split(b"\r\n\r\n", 1)[1])


def memory_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/smaps_rollup") as f:
        fields = {line.split(":")[0]: int(line.split()[1]) for line in f if line.endswith("kB\n")}
    return rss, fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"]


def cpu_ms(pid):
    """On-CPU time of the live threads of `pid` (schedstat's first field is nanoseconds)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e6


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"worker-start: {what} within {seconds} s")
        time.sleep(0.0002)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    args = sys.argv[1:]
    samples = 20
    if args[:1] == ["--samples"]:
        samples, args = int(args[1]), args[2:]
    if not args:
        raise SystemExit(__doc__)
    port = free_port()
    board = os.path.join(tempfile.mkdtemp(prefix="prefork-start-"), "scoreboard")
    master = subprocess.Popen(args + ["--listen", f"127.0.0.1:{port}", "--prefork", "1", "--min-spare", "0",
                                      "--max-children", "2", "--scoreboard", board],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready_ms, answer_ms, cpu_at_ready = [], [], []
    try:
        child = wait_for(lambda: os.path.exists(board) and len(children(master.pid)) == 1
                         and slot_state(board, children(master.pid)[0]) == IDLE and children(master.pid)[0],
                         30, "the sample did not start")
        get_pid(port)
        for _ in range(samples):
            time.sleep(0.3)  # let the last child settle: its start-up must not overlap the next one's
            os.kill(child, signal.SIGKILL)
            fresh = wait_for(lambda: [p for p in children(master.pid) if p != child], 30, "no replacement")[0]
            spawned = time.monotonic()
            wait_for(lambda: slot_state(board, fresh) == IDLE, 30, "the replacement was not ready")
            ready = time.monotonic()
            cpu_at_ready.append(cpu_ms(fresh))
            answered_by = get_pid(port)
            answered = time.monotonic()
            if answered_by != fresh:
                raise SystemExit(f"worker-start: {answered_by} answered, expected the fresh child {fresh}")
            ready_ms.append((ready - spawned) * 1000)
            answer_ms.append((answered - spawned) * 1000)
            child = fresh
        time.sleep(1)  # idle memory: after its first request, at rest
        child_rss, child_pss, child_uss = memory_kib(child)
        master_rss, master_pss, _ = memory_kib(master.pid)
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(30)

    def spread(values):
        return f"{statistics.median(values):.1f} ms ({min(values):.1f}-{max(values):.1f})"

    mib = lambda kib: f"{kib / 1024:.1f} MiB"
    print(f"spawn->ready {spread(ready_ms)} | spawn->first answer {spread(answer_ms)} | cpu to ready {spread(cpu_at_ready)} | "
          f"child RSS {mib(child_rss)} PSS {mib(child_pss)} USS {mib(child_uss)} | master RSS {mib(master_rss)} PSS {mib(master_pss)} "
          f"| {samples} samples")


if __name__ == "__main__":
    main()
