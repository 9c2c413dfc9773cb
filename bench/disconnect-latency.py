#!/usr/bin/env python3
"""How fast the master notices a client that gave up (on_client_disconnect).

Starts the Hello sample with --kill-on-disconnect, then N times: sends GET /sleep/60000, closes the
socket 0.2-0.6 s later and measures the time from the close until the serving child is gone (its pid,
learnt from the error log line, stops existing). Loopback only; every process it starts is stopped.
Usage: bench/disconnect-latency.py path/to/Hello.dll [rounds=50] [workers=4]
UNIX=1 in the environment listens on a Unix socket in a temporary folder instead of 127.0.0.1:PORT.
"""
import os, random, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

dll = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 50
workers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
port = int(os.environ.get("PORT", "18090"))
unix = os.environ.get("UNIX") == "1"
folder = tempfile.mkdtemp(prefix="disconnect-latency-")
path = os.path.join(folder, "app.sock")
log = tempfile.NamedTemporaryFile("w+", delete=False, suffix=".log")
# A fixed pool: a child gone must be the one killed for its client, not an idle one the scaler retired.
master = subprocess.Popen(["dotnet", dll, "--listen", f"unix:{path}" if unix else f"127.0.0.1:{port}", "--prefork", str(workers),
                           "--max-children", str(workers), "--kill-on-disconnect"], stdout=log, stderr=log)

pattern = re.compile(r"client went away: child pid (\d+), slot \d+, tcp 127\.0\.0\.1:\d+ <- 127\.0\.0\.1:(\d+)")
unix_pattern = re.compile(r"client went away: child pid (\d+), slot \d+, unix ")

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

def connect(timeout=None):
    if not unix:
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s

def get(target):
    with connect(timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
        return s.recv(4096)

def reports():
    """(pid, client) of each report so far; a Unix client has no port, so it is the report's rank."""
    with open(log.name) as f:
        text = f.read()
    if unix:
        return [(int(m.group(1)), i) for i, m in enumerate(unix_pattern.finditer(text))]
    return [(int(m.group(1)), int(m.group(2))) for m in pattern.finditer(text)]

try:
    deadline = time.time() + 30
    while True:
        try:
            get("/"); break
        except OSError:
            if time.time() > deadline: raise
            time.sleep(0.05)
    latencies, reported = [], []
    for _ in range(rounds):
        s = connect()
        client = len(reports()) if unix else s.getsockname()[1]
        s.sendall(b"GET /sleep/60000 HTTP/1.1\r\nHost: x\r\n\r\n")
        # A random hold, so closes do not fall into step with the master's check timer.
        time.sleep(random.uniform(0.2, 0.6))
        s.close()
        closed = time.monotonic()
        pid = None
        while time.monotonic() - closed < 10:
            if pid is None:
                pid = next((p for p, c in reports() if c == client), None)
                if pid is not None:
                    reported.append((time.monotonic() - closed) * 1000)
            if pid is not None and not alive(pid):
                latencies.append((time.monotonic() - closed) * 1000)
                break
            time.sleep(0.005)
        # Let the replacement come up before the next round.
        time.sleep(0.3)
    latencies.sort(); reported.sort()
    p95 = lambda values: values[max(0, int(round(0.95 * len(values))) - 1)]
    print(f"disconnects: {len(latencies)}/{rounds} detected and child gone; "
          f"p50 {statistics.median(latencies):.0f} ms, p95 {p95(latencies):.0f} ms, max {latencies[-1]:.0f} ms; "
          f"reported in the log: p50 {statistics.median(reported):.0f} ms, p95 {p95(reported):.0f} ms "
          f"({'unix' if unix else 'tcp'}, check every 250 ms, {workers} workers)")
finally:
    master.send_signal(signal.SIGTERM)
    try:
        master.wait(15)
    except subprocess.TimeoutExpired:
        master.kill(); master.wait()
    os.unlink(log.name)
    shutil.rmtree(folder, ignore_errors=True)
