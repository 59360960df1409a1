#!/usr/bin/env python3
"""Density and cold starts: N small JSON workers on one `edge serve` node.

    bench/density.py [N] [--threads 1] [--deploy-clients 1] [--evict-budget-mb 32]
                     [--evict-count 300] [--evict-gap-ms 20] [--binary build/edge]
                     [--flag=--heavy-cpu-us=0 ...] [--deploys-only]
                     [--keep DIR] [--restart-from DIR]

Prints, for one node with `--threads 1` (by default):

- the node's RSS per idle worker: (RSS with N workers alive, each after one
  request - RSS of the empty node) / N, with no memory budget;
- deploys/s (each deploy validated, stored and warmed before it returns),
  from --deploy-clients clients at once (1: one deploy after the other),
  each deploying its share of the workers and sending each one's first
  request right after its deploy returned: N / the phase's wall time;
- the latency of the first request to each worker right after its deploy,
  after a restart of the node (same data folder), and after its isolate was
  evicted (the node restarted with a budget of --evict-budget-mb, requests
  round-robin over --evict-count workers so each finds its isolate gone,
  with a pause of --evict-gap-ms between them), against a warm request
  (p50 / p99 of each);
- the restarted node: the time from starting it to its ready line (it
  answers), and until every worker is warm: `/status`'s `start.pending` at
  0 (polled every 20 ms; a build without it loads everything before its
  ready line, which is then the figure) with the CPU time the node used by
  then, and whether any first request after that still loaded an isolate
  (`edge_isolate_cold_loads_total`).

Requests go over one keep-alive connection, the worker chosen by Host. The
figures go to docs/performance.md with the command that printed them.
"""
import argparse
import base64
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TOKEN = base64.b64encode(os.urandom(24)).decode()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def cpu_s(pid):
    """CPU seconds the process used so far, all its threads (user + system)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1) + 0.5))]


def bundle(i):
    # A small JSON worker: parses a little config at the top level, answers JSON.
    source = ("const config = JSON.parse('{\"greeting\": \"hello\", \"id\": " + str(i) + "}');\n"
              "export default { fetch(request) {\n"
              "  const url = new URL(request.url);\n"
              "  return Response.json({ greeting: config.greeting, id: config.id, "
              "path: url.pathname });\n} };\n")
    return json.dumps({
        "name": f"w{i}", "main": "index.js",
        "modules": [{"name": "index.js", "content": base64.b64encode(source.encode()).decode()}],
        "routes": [f"w{i}.bench/*"],
    }).encode()


class Node:
    def __init__(self, binary, work, threads, budget_mb, extra):
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
             "--admin-token-file", os.path.join(work, "token"), "--data-dir",
             os.path.join(work, "data"), "--threads", str(threads), "--memory-budget-mb",
             str(budget_mb), "--access-log", "/dev/null", "--log-level", "error"] + extra,
            stdout=subprocess.PIPE, text=True)
        ready = self.process.stdout.readline()
        self.ready_s = time.perf_counter() - self.started
        self.http_port = int(re.search(r"http port (\d+)", ready).group(1))
        self.admin_port = int(re.search(r"admin port (\d+)", ready).group(1))
        self.http = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=60)

    def admin_call(self, method, path, body=None):
        # A connection per call: phases leave it idle past the idle timeout.
        admin = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=60)
        admin.request(method, path, body=body, headers={"Authorization": "Bearer " + TOKEN})
        response = admin.getresponse()
        data = response.read()
        admin.close()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return data

    def get(self, i, http=None):
        """One request to worker i (over `http`, the node's own connection by
        default); returns its latency in ms."""
        http = http or self.http
        start = time.perf_counter()
        http.request("GET", f"/p{i}", headers={"Host": f"w{i}.bench"})
        response = http.getresponse()
        body = response.read()
        ms = (time.perf_counter() - start) * 1000
        if response.status != 200 or json.loads(body)["id"] != i:
            raise RuntimeError(f"w{i}: {response.status} {body[:200]!r}")
        return ms

    def status(self):
        return json.loads(self.admin_call("GET", "/status"))

    def await_warm(self):
        """Seconds from starting the process until every stored worker is
        loaded (the ready line for builds that load them all before it)."""
        while True:
            start = self.status().get("start")
            if start is None:
                return self.ready_s
            if start["pending"] == 0:
                return time.perf_counter() - self.started
            time.sleep(0.02)

    def metric(self, name):
        text = self.admin_call("GET", "/metrics").decode()
        match = re.search(rf"^{name} (\S+)$", text, re.M)
        return float(match.group(1)) if match else 0.0

    def stop(self):
        self.http.close()
        self.process.terminate()
        self.process.wait()


def row(name, samples, warm=None):
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    line = f"{name:<34} {p50:8.2f} {p99:8.2f}"
    if warm is not None:
        line += f"   (+{p50 - warm[0]:.2f} / +{p99 - warm[1]:.2f} vs warm)"
    print(line)


def restart_phase(args, work, order, warm_p):
    """The node restarted on `work`: the time until every worker is warm,
    then the first request to each, in a random order."""
    node = Node(args.binary, work, args.threads, 0, args.flag)
    try:
        restart_ready_s = node.ready_s
        warm_s = node.await_warm()
        warm_cpu_s = cpu_s(node.process.pid)
        random.shuffle(order)
        after_restart = [node.get(i) for i in order]
        time.sleep(1.5)  # the node's measurement tick
        cold = node.metric("edge_isolate_cold_loads_total")
    finally:
        node.stop()
    row("first after a restart", after_restart, warm_p)
    print(f"  (the restarted node answered after {restart_ready_s * 1000:.0f} ms; every "
          f"worker warm after {warm_s:.2f} s, having used {warm_cpu_s:.2f} s of CPU; {cold:.0f} "
          "of the first requests loaded an isolate)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--deploy-clients", type=int, default=1,
                        help="clients deploying at once in the deploy phase (1: sequential)")
    parser.add_argument("--deploys-only", action="store_true",
                        help="stop after the deploy phase (deploys/s, first request after it)")
    parser.add_argument("--evict-budget-mb", type=int, default=32)
    parser.add_argument("--evict-count", type=int, default=300,
                        help="requests in the eviction round (round-robin over the workers)")
    parser.add_argument("--evict-gap-ms", type=float, default=20,
                        help="pause between the requests of the eviction round (the node "
                             "refills its spare isolates when idle)")
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "edge"))
    parser.add_argument("--keep", metavar="DIR",
                        help="copy the data folder (N workers deployed) to DIR at the end")
    parser.add_argument("--restart-from", metavar="DIR",
                        help="only the restart phase, on a copy of a folder --keep made "
                             "(the warm figures are then left out)")
    parser.add_argument("--flag", action="append", default=[],
                        help="one more `edge serve` flag (repeatable), e.g. --flag=--spare-isolates=0")
    args = parser.parse_args()
    n = args.n

    work = tempfile.mkdtemp()
    print(f"load: {open('/proc/loadavg').read().split()[:3]}, binary {args.binary}")
    if args.restart_from:
        shutil.rmtree(work)
        shutil.copytree(args.restart_from, work)
        global TOKEN
        with open(os.path.join(work, "token")) as f:
            TOKEN = f.read()
        print(f"{'request (ms)':<34} {'p50':>8} {'p99':>8}")
        try:
            restart_phase(args, work, list(range(n)), None)
        finally:
            shutil.rmtree(work)
        return
    with open(os.path.join(work, "token"), "w") as f:
        f.write(TOKEN)
    node = Node(args.binary, work, args.threads, 0, args.flag)
    try:
        # 1. Deploy each worker, then its first request at once.
        time.sleep(1)
        base_rss = rss_mib(node.process.pid)
        deploy_ms, after_deploy = [], []

        def deploy_share(client):
            connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=60)
            try:
                for i in range(client, n, args.deploy_clients):
                    start = time.perf_counter()
                    node.admin_call("PUT", f"/workers/w{i}", bundle(i))
                    deploy_ms.append((time.perf_counter() - start) * 1000)
                    after_deploy.append(node.get(i, connection))
            finally:
                connection.close()

        phase_start = time.perf_counter()
        with ThreadPoolExecutor(args.deploy_clients) as clients:
            list(clients.map(deploy_share, range(args.deploy_clients)))  # raises the first error
        phase_s = time.perf_counter() - phase_start
        time.sleep(2)  # the node's measurement tick
        idle_rss = rss_mib(node.process.pid)
        alive = node.metric("edge_isolates_alive")
        print(f"workers                            {n} on --threads {args.threads} "
              f"{' '.join(args.flag)}")
        print(f"RSS per idle worker                {(idle_rss - base_rss) / n:.2f} MiB "
              f"(node {base_rss:.0f} MiB empty, {idle_rss:.0f} MiB with {alive:.0f} isolates "
              "alive)")
        print(f"deploys                            {n / phase_s:.1f}/s from "
              f"{args.deploy_clients} client(s) (each deploy p50 {percentile(deploy_ms, 0.5):.1f} "
              f"ms, p99 {percentile(deploy_ms, 0.99):.1f} ms)", flush=True)
        if args.deploys_only:
            row("first after its deploy", after_deploy)
            return

        # 2. Warm requests: every worker again, in a random order, twice.
        order = list(range(n))
        warm = []
        for _ in range(2):
            random.shuffle(order)
            warm.extend(node.get(i) for i in order)
        warm_p = (percentile(warm, 0.5), percentile(warm, 0.99))
        node.stop()
        print(f"{'request (ms)':<34} {'p50':>8} {'p99':>8}")
        row("warm", warm)
        row("first after its deploy", after_deploy, warm_p)
        sys.stdout.flush()

        if args.keep:
            shutil.copytree(work, args.keep)

        # 3. Restart on the same data folder.
        restart_phase(args, work, order, warm_p)

        # 4. A small budget: round-robin over the workers, so each request
        # finds its worker's isolate evicted since its last one.
        node = Node(args.binary, work, args.threads, args.evict_budget_mb, args.flag)
        count = min(n, args.evict_count)
        for i in range(count):  # each once, so each has been loaded and evicted
            node.get(i)
        time.sleep(1.5)
        evictions_before = node.metric("edge_isolate_evictions_total")
        after_eviction = []
        for i in range(count):
            time.sleep(args.evict_gap_ms / 1000)
            after_eviction.append(node.get(i))
        time.sleep(1.5)
        evictions = node.metric("edge_isolate_evictions_total") - evictions_before
        node.stop()
        row("after its isolate was evicted", after_eviction, warm_p)
        print(f"  ({count} requests {args.evict_gap_ms:g} ms apart under a "
              f"{args.evict_budget_mb} MiB budget; {evictions:.0f} evictions meanwhile)")
    finally:
        if node.process.poll() is None:
            node.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
