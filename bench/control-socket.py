#!/usr/bin/env python3
"""The control socket's cost: scrape latency, and what serving it costs the master.

Usage: bench/control-socket.py [scrapes=2000]

Builds the sample in Release and starts `Hello --prefork 4` twice on 127.0.0.1: once without a control
socket, once with `--control-socket`. For the second it times N sequential GET /status and N GET
/metrics over the Unix socket (a new connection each, as Prometheus and `prefork status` do), then
holds 64 silent connections open (the server takes 4 at once and closes the rest) while it sends
SIGTTIN and times how long the new child takes to appear in /proc: supervision must not notice.
Prints the master's RSS and thread count for both runs, after the same idle time and the scrapes.
"""
import os, signal, socket, statistics, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DLL = os.path.join(ROOT, "samples/Hello/bin/Release/net10.0/Hello.dll")


def children(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += f.read().split()
        except OSError:
            pass
    return found


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["Threads"])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(path, target):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200 "), data[:80]
    return data


def start(extra):
    master = subprocess.Popen(["dotnet", DLL, "--listen", f"127.0.0.1:{free_port()}", "--prefork", "4", *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while len(children(master.pid)) < 4:
        assert time.time() < deadline, "the sample did not start"
        time.sleep(0.1)
    return master


def stop(master):
    master.send_signal(signal.SIGTERM)
    master.wait(30)


def percentiles(samples):
    samples = sorted(samples)
    return f"p50 {statistics.median(samples) * 1000:.2f} ms, p99 {samples[int(len(samples) * 0.99)] * 1000:.2f} ms, max {samples[-1] * 1000:.2f} ms"


def ttin_reaction(master):
    before = len(children(master.pid))
    sent = time.monotonic()
    master.send_signal(signal.SIGTTIN)
    while len(children(master.pid)) <= before:
        time.sleep(0.005)
    return time.monotonic() - sent


def main():
    subprocess.run(["dotnet", "build", "-c", "Release", "-v", "q", os.path.join(ROOT, "samples/Hello")], check=True,
                   stdout=subprocess.DEVNULL)
    plain = start([])
    time.sleep(5)
    rss, threads = proc_status(plain.pid)
    reaction = ttin_reaction(plain)
    stop(plain)
    print(f"without control socket: master RSS {rss} MiB, {threads} threads; SIGTTIN -> new child {reaction * 1000:.0f} ms")

    folder = tempfile.mkdtemp(prefix="prefork-ctl-bench-")
    path = os.path.join(folder, "control.sock")
    master = start(["--control-socket", path])
    time.sleep(5)
    rss, threads = proc_status(master.pid)
    print(f"with control socket, idle: master RSS {rss} MiB, {threads} threads")
    try:
        for target in ("/status", "/metrics"):
            times = []
            for _ in range(N):
                t = time.perf_counter()
                get(path, target)
                times.append(time.perf_counter() - t)
            print(f"GET {target} x{N}: {percentiles(times)}")
        rss, threads = proc_status(master.pid)
        print(f"after {2 * N} scrapes: master RSS {rss} MiB, {threads} threads")

        silent = []
        for _ in range(64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            silent.append(s)
        reaction = ttin_reaction(master)
        print(f"64 silent clients on the socket: SIGTTIN -> new child {reaction * 1000:.0f} ms")
        for s in silent:
            s.close()
    finally:
        stop(master)
        os.rmdir(folder)


main()
