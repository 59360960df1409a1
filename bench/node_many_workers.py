#!/usr/bin/env python3
"""Thousands of deployed workers on one `edge serve` node, under a memory budget.

Deploys N small workers (each its own Host route) through the admin API,
then sends each one request, and reports the deploy rate, the node's
resident memory, the isolates alive, the evictions and cold loads, and
the latency of a request to an evicted worker (recreated on demand) next to
one to a warm worker.

    bench/node_many_workers.py [N] [BUDGET_MB] [THREADS]

Needs build/edge (see README).
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
BUDGET_MB = int(sys.argv[2]) if len(sys.argv) > 2 else 512
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 2
TOKEN = base64.b64encode(os.urandom(24)).decode()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def call(port, method, path, body=None, host=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    if host:
        request.add_header("Host", host)
    else:
        request.add_header("Authorization", "Bearer " + TOKEN)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def bundle(i):
    source = ("export default { fetch(request, env) { "
              f"return new Response('worker {i} ' + new URL(request.url).pathname); }} }};")
    return json.dumps({
        "name": f"w{i}", "main": "index.js",
        "modules": [{"name": "index.js", "content": base64.b64encode(source.encode()).decode()}],
        "routes": [f"w{i}.bench/*"],
    }).encode()


def metric(text, name):
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def main():
    work = tempfile.mkdtemp()
    with open(os.path.join(work, "token"), "w") as f:
        f.write(TOKEN)
    node = subprocess.Popen(
        [os.path.join(ROOT, "build", "edge"), "serve", "--listen", "127.0.0.1:0", "--admin",
         "127.0.0.1:0", "--admin-token-file", os.path.join(work, "token"), "--data-dir",
         os.path.join(work, "data"), "--threads", str(THREADS), "--memory-budget-mb",
         str(BUDGET_MB), "--access-log", "/dev/null", "--log-level", "warn"],
        stdout=subprocess.PIPE, text=True)
    try:
        ready = node.stdout.readline()
        http_port = int(re.search(r"http port (\d+)", ready).group(1))
        admin_port = int(re.search(r"admin port (\d+)", ready).group(1))
        base_rss = rss_mib(node.pid)

        started = time.time()
        for i in range(N):
            call(admin_port, "PUT", f"/workers/w{i}", bundle(i))
        deploy_s = time.time() - started
        time.sleep(1.5)  # one measurement tick: evictions happen there
        after_deploy_rss = rss_mib(node.pid)

        started = time.time()
        for i in range(N):
            body = call(http_port, "GET", "/x", host=f"w{i}.bench")
            assert body == f"worker {i} /x".encode(), body
        serve_s = time.time() - started
        time.sleep(1.5)
        metrics = call(admin_port, "GET", "/metrics").decode()

        # A warm worker (just served) against one evicted long ago.
        def timed(i):
            t = time.perf_counter()
            call(http_port, "GET", "/t", host=f"w{i}.bench")
            return (time.perf_counter() - t) * 1000
        warm_ms = min(timed(N - 1) for _ in range(5))
        cold_ms = timed(0)

        print(f"workers deployed          {N} ({N / deploy_s:.0f}/s, each warmed on "
              f"{THREADS} thread(s) before its route switched)")
        print(f"memory budget             {BUDGET_MB} MiB for isolates")
        print(f"node RSS                  {base_rss:.0f} MiB empty, {after_deploy_rss:.0f} MiB "
              f"after deploys, {rss_mib(node.pid):.0f} MiB after one request to each")
        print(f"isolates alive            {metric(metrics, 'edge_isolates_alive'):.0f}")
        print(f"isolate memory            "
              f"{metric(metrics, 'edge_isolate_memory_bytes') / 2**20:.0f} MiB")
        print(f"evictions                 {metric(metrics, 'edge_isolate_evictions_total'):.0f}")
        print(f"one request to each       {N / serve_s:.0f} requests/s")
        print(f"request latency           warm {warm_ms:.2f} ms, evicted {cold_ms:.2f} ms "
              "(isolate recreated)")
    finally:
        node.terminate()
        node.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
