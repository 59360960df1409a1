#!/usr/bin/env python3
"""Mono-function vs micro-functions: the same API (examples/api-mono, one
worker routing every path; examples/api-micro, one worker per route and a
shared worker behind a service binding) on one `edge serve` node.

    bench/mono_vs_micro.py [--requests 4000] [--connections 4] [--budget-mb 0]
                           [--threads 1] [--binary build/edge]

For each form, on a fresh node with `--threads 1` (by default):

1. no memory budget: deploy the form with `edge deploy`, seed 20 users and
   40 items, run the mixed request pattern once (every route), then read
   the isolates alive and their memory from /metrics and the node's RSS;
2. the node restarted on the same data under a memory budget that cannot
   hold every isolate of the micro form (by default half of what the micro
   form's isolates used in step 1, rounded up, and at least what the mono
   form's one isolate used plus 1 MiB, so the mono form fits), then the
   mixed pattern over `--connections` keep-alive connections: requests/s,
   p50 and p99 of the latency, cold loads and evictions in that run (from
   /metrics: a cold load adds an isolate, an eviction removes one, so cold
   loads = evictions + the change of edge_isolates_alive), and the RSS.

The mix (fixed seed): GET /users/<id> 25 %, GET /items/<id> 25 %,
GET /items?owner= 15 %, GET /users 10 %, GET /search?q= 10 %, GET /health
10 %, POST /items 5 %. Figures go to docs/design-guide.md and
docs/performance.md with the command and the load average.
"""
import argparse
import http.client
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from density import ROOT, TOKEN, Node, percentile, rss_mib  # noqa: E402

HOST = "api.example"
FORMS = {
    "mono": ["api-mono"],
    "micro": ["api-micro/core", "api-micro/health", "api-micro/users", "api-micro/user",
              "api-micro/items", "api-micro/item", "api-micro/search"],
}


def call(connection, method, path, body=None):
    start = time.perf_counter()
    data = None if body is None else json.dumps(body).encode()
    headers = {"Host": HOST}
    if data is not None:
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    ms = (time.perf_counter() - start) * 1000
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
    return ms, json.loads(payload)


def deploy(binary, node, work, form):
    for project in FORMS[form]:
        result = subprocess.run(
            [binary, "deploy", os.path.join(ROOT, "examples", project), "--to",
             f"http://127.0.0.1:{node.admin_port}", "--token-file", os.path.join(work, "token")],
            capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"deploy of {project}: {result.stderr}")


def seed(node):
    connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=60)
    users, items = [], []
    for i in range(20):
        users.append(call(connection, "POST", "/users",
                          {"name": f"User {i}", "email": f"user{i}@example.com"})[1]["id"])
    for i in range(40):
        items.append(call(connection, "POST", "/items",
                          {"title": f"Item {i}", "owner": users[i % len(users)]})[1]["id"])
    connection.close()
    return users, items


def mix(users, items, count, seed_value):
    rng = random.Random(seed_value)
    requests = []
    for n in range(count):
        pick = rng.random()
        if pick < 0.25:
            requests.append(("GET", f"/users/{rng.choice(users)}", None))
        elif pick < 0.50:
            requests.append(("GET", f"/items/{rng.choice(items)}", None))
        elif pick < 0.65:
            requests.append(("GET", f"/items?owner={rng.choice(users)}", None))
        elif pick < 0.75:
            requests.append(("GET", "/users", None))
        elif pick < 0.85:
            requests.append(("GET", f"/search?q=item {rng.randrange(10)}".replace(" ", "%20"), None))
        elif pick < 0.95:
            requests.append(("GET", "/health", None))
        else:
            requests.append(("POST", "/items",
                             {"title": f"New {seed_value}-{n}", "owner": rng.choice(users)}))
    return requests


def drive(node, requests, connections):
    """Runs `requests` over `connections` keep-alive connections; returns
    (latencies in ms, seconds)."""
    latencies, errors = [], []
    lock = threading.Lock()
    shares = [requests[i::connections] for i in range(connections)]

    def run(share):
        connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=60)
        mine = []
        try:
            for method, path, body in share:
                mine.append(call(connection, method, path, body)[0])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} connections failed, the first: {errors[0]}")
    return latencies, seconds


def unbudgeted(args, form, work):
    node = Node(args.binary, work, args.threads, 0, [])
    try:
        deploy(args.binary, node, work, form)
        users, items = seed(node)
        drive(node, mix(users, items, 200, 1), 1)
        time.sleep(2.5)  # the node's measurement tick
        return {
            "alive": node.metric("edge_isolates_alive"),
            "memory_mib": node.metric("edge_isolate_memory_bytes") / (1 << 20),
            "rss_mib": rss_mib(node.process.pid),
            "users": users, "items": items,
        }
    finally:
        node.stop()


def budgeted(args, form, work, budget_mb, users, items):
    node = Node(args.binary, work, args.threads, budget_mb, [])
    try:
        time.sleep(2.5)
        evictions = node.metric("edge_isolate_evictions_total")
        alive = node.metric("edge_isolates_alive")
        latencies, seconds = drive(node, mix(users, items, args.requests, 2), args.connections)
        time.sleep(2.5)
        evicted = node.metric("edge_isolate_evictions_total") - evictions
        cold = evicted + node.metric("edge_isolates_alive") - alive
        return {
            "rps": len(latencies) / seconds, "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99), "cold": cold, "evictions": evicted,
            "alive": node.metric("edge_isolates_alive"),
            "memory_mib": node.metric("edge_isolate_memory_bytes") / (1 << 20),
            "rss_mib": rss_mib(node.process.pid),
        }
    finally:
        node.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--budget-mb", type=int, default=0,
                        help="the memory budget of step 2 (0: from step 1, see above)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "edge"))
    args = parser.parse_args()

    print(f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}, "
          f"{os.cpu_count()} CPUs, binary {args.binary}, --threads {args.threads}")
    works = {form: tempfile.mkdtemp(prefix=f"edge-{form}-") for form in FORMS}
    try:
        first = {}
        for form, work in works.items():
            with open(os.path.join(work, "token"), "w") as f:
                f.write(TOKEN)
            first[form] = unbudgeted(args, form, work)
            print(f"{form:<6} no budget: {first[form]['alive']:.0f} isolates alive, "
                  f"{first[form]['memory_mib']:.1f} MiB in isolates, RSS "
                  f"{first[form]['rss_mib']:.0f} MiB", flush=True)
        budget = args.budget_mb or max(math.ceil(first["micro"]["memory_mib"] / 2),
                                       math.ceil(first["mono"]["memory_mib"]) + 1)
        print(f"memory budget {budget} MiB; {args.requests} requests over {args.connections} "
              "connections")
        print(f"{'form':<6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cold':>6} {'evicted':>8} "
              f"{'alive':>6} {'iso MiB':>8} {'RSS MiB':>8}")
        for form, work in works.items():
            r = budgeted(args, form, work, budget, first[form]["users"], first[form]["items"])
            print(f"{form:<6} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['cold']:6.0f} "
                  f"{r['evictions']:8.0f} {r['alive']:6.0f} {r['memory_mib']:8.1f} "
                  f"{r['rss_mib']:8.0f}", flush=True)
    finally:
        for work in works.values():
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
