#!/usr/bin/env python3
"""How many children keep-alive clients grow the pool to, with the default ceiling (150).

Usage: bench/keepalive-pool.py [clients=8,32] [seconds=10]

Starts the sample (Release build) as `Hello --prefork 2` on 127.0.0.1 with nothing pinned, then for each
client count opens that many keep-alive connections, each sending `GET /` every 50 ms for the given
time, and samples the master's children from /proc every 50 ms. Prints the peak, the count when the
load stops, and the count 3 s later (spawns after the load stops would show there).
"""
import os, socket, subprocess, sys, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNTS = [int(c) for c in (sys.argv[1] if len(sys.argv) > 1 else "8,32").split(",")]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0


def children(pid):
    found = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += len(f.read().split())
        except OSError:
            pass
    return found


def client(port, stop, counts):
    sock = None
    while time.time() < stop:
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port))
                reader = sock.makefile("rb")
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            reader.readline()
            length, close = 0, False
            while True:
                header = reader.readline()
                if header in (b"\r\n", b""):
                    break
                name, _, value = header.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
                if name.lower() == b"connection" and b"close" in value.lower():
                    close = True
            reader.read(length)
            counts[0] += 1
            if close:
                sock.close()
                sock = None
        except OSError:
            counts[1] += 1
            sock = None
        time.sleep(0.05)


def main():
    subprocess.run(["dotnet", "build", f"{ROOT}/samples/Hello", "-c", "Release", "-v:q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    dll = f"{ROOT}/samples/Hello/bin/Release/net10.0/Hello.dll"
    master = subprocess.Popen(["dotnet", dll, "--listen", f"127.0.0.1:{port}", "--prefork", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        for count in COUNTS:
            stop = time.time() + SECONDS
            counts = [0, 0]
            threads = [threading.Thread(target=client, args=(port, stop, counts)) for _ in range(count)]
            for t in threads:
                t.start()
            peak = 0
            while time.time() < stop:
                peak = max(peak, children(master.pid))
                time.sleep(0.05)
            for t in threads:
                t.join()
            at_end = children(master.pid)
            time.sleep(3)
            print(f"{count} keep-alive clients: peak {peak} children, {at_end} when the load stopped, "
                  f"{children(master.pid)} 3 s later; {counts[0]} requests, {counts[1]} reconnects")
    finally:
        master.terminate()
        master.wait(timeout=30)


if __name__ == "__main__":
    main()
