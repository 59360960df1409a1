#!/usr/bin/env python3
"""Start-up of `edge dev`: process start to its first response (issue 11).

Starts `edge dev examples/hello-world` again and again, connecting every
0.5 ms until a request gets a 200, and reports per binary the median, min
and max of
  wall ms  from spawning the process to the first response, and
  CPU ms   the CPU time all its threads used by then (/proc/PID/task/*/
           schedstat), which a busy machine moves far less than wall time.

  bench/dev_startup.py [ROUNDS]                 build/edge ($EDGE_BINARY)
  bench/dev_startup.py 20 --before OLD/edge     the two interleaved
"""
import argparse
import glob
import os
import socket
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ms(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that just ended
    return total / 1e6


def one_start(edge):
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen(
        [edge, "dev", os.path.join(ROOT, "examples", "hello-world"), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < 20:
            if process.poll() is not None:
                raise SystemExit(f"{edge} dev exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(REQUEST)
                    if s.recv(16).startswith(b"HTTP/1.1 200"):
                        return (time.perf_counter() - start) * 1000, cpu_ms(process.pid)
            except OSError:
                time.sleep(0.0005)
        raise SystemExit(f"{edge} dev did not answer within 20 s")
    finally:
        process.kill()
        process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", nargs="?", type=int, default=20)
    parser.add_argument("--before", help="another edge binary, measured interleaved")
    args = parser.parse_args()
    binaries = {"edge": os.environ.get("EDGE_BINARY", os.path.join(ROOT, "build", "edge"))}
    if args.before:
        binaries["before"] = args.before
    samples = {name: [] for name in binaries}
    for _ in range(args.rounds):
        for name, edge in binaries.items():
            samples[name].append(one_start(edge))
    print(f"{args.rounds} starts each, load average {os.getloadavg()[0]:.1f}")
    print(f"{'binary':8} {'wall p50':>9} {'min':>7} {'max':>7} {'CPU p50':>8} {'min':>7} {'max':>7}")
    for name, runs in samples.items():
        wall = [w for w, _ in runs]
        cpu = [c for _, c in runs]
        print(f"{name:8} {statistics.median(wall):9.1f} {min(wall):7.1f} {max(wall):7.1f} "
              f"{statistics.median(cpu):8.1f} {min(cpu):7.1f} {max(cpu):7.1f}")


if __name__ == "__main__":
    main()
