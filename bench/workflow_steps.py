#!/usr/bin/env python3
"""Workflows on one `edge dev` (issue 14): the cost of a step, and how many
instances a node starts per second.

  bench/workflow_steps.py [ROUNDS]          build/edge ($EDGE_BINARY); ROUNDS 10

(a) Per-step overhead. A workflow of N trivial `step.do` steps (each
    returns the previous result + 1). Each step is one run of the class:
    the run replays the steps stored before it (their results come from
    the store, not re-run), runs the new one, and its report is written
    to LMDB before the next run starts; so the n-th run replays n-1 steps
    and the whole instance replays N(N-1)/2. For N = 1, 10 and 50, ROUNDS
    instances one after the other: each is created over HTTP and its
    status polled (every 1 ms, over one keep-alive connection) until it
    is complete. Reported: the median wall time from the create request
    to the poll that saw it complete, and that divided by N.
(b) Instances started per second: 1,000 one-step instances created by
    10 requests of createBatch(100), or by 20 requests of 50 create()
    calls each (each call is a subrequest, and `edge dev` allows 50 per
    invocation); the time from the first create request to the last
    instance complete (its `ended_ms` in the store, read with `edge
    workflows instances list --json`).
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = r"""
import { WorkflowEntrypoint } from "cloudflare:workers";

export class Steps extends WorkflowEntrypoint {
  async run(event, step) {
    let value = 0;
    for (let i = 0; i < event.payload.n; i++) value = await step.do(`s${i}`, async () => value + 1);
    return value;
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n") ?? 1);
    if (url.pathname === "/create") {
      const instance = await env.FLOW.create({ id: url.searchParams.get("id"), params: { n } });
      return Response.json({ id: instance.id });
    }
    if (url.pathname === "/status") {
      return Response.json(await (await env.FLOW.get(url.searchParams.get("id"))).status());
    }
    const prefix = url.searchParams.get("prefix");
    const count = Number(url.searchParams.get("count"));
    if (url.pathname === "/batch") {
      const items = [];
      for (let i = 0; i < count; i++) items.push({ id: `${prefix}-${i}`, params: { n: 1 } });
      return Response.json({ made: (await env.FLOW.createBatch(items)).length });
    }
    if (url.pathname === "/single") {
      for (let i = 0; i < count; i++) await env.FLOW.create({ id: `${prefix}-${i}`, params: { n: 1 } });
      return Response.json({ made: count });
    }
    return new Response("steps\n");
  },
};
"""

CONFIG = """name = "workflow-bench"
main = "index.js"

[[workflows]]
name = "steps"
binding = "FLOW"
class_name = "Steps"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dev:
    def __init__(self, edge, folder):
        self.folder = folder
        self.edge = edge
        self.state = os.path.join(folder, "state")
        self.port = free_port()
        self.process = subprocess.Popen(
            [edge, "dev", folder, "--port", str(self.port), "--persist-to", self.state,
             "--log-level", "warn", "--no-watch"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.get("/")
                return
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    raise SystemExit("edge dev did not start")
                time.sleep(0.05)

    def get(self, path):
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:200]!r}")
        return json.loads(body) if body.startswith((b"{", b"[")) else body

    def instances(self):
        result = subprocess.run(
            [self.edge, "workflows", "instances", "list", "steps", "--json",
             "--config", os.path.join(self.folder, "edge.toml"), "--persist-to", self.state],
            capture_output=True, text=True, check=True)
        return json.loads(result.stdout)["instances"]

    def stop(self):
        self.connection.close()
        self.process.kill()
        self.process.wait()


def one_instance(dev, id, n):
    start = time.perf_counter()
    dev.get(f"/create?id={id}&n={n}")
    while True:
        status = dev.get(f"/status?id={id}")
        if status["status"] == "complete":
            if status.get("output") != n:
                raise SystemExit(f"instance {id}: output {status.get('output')} instead of {n}")
            return (time.perf_counter() - start) * 1000
        if status["status"] not in ("queued", "running", "waiting"):
            raise SystemExit(f"instance {id}: {status}")
        time.sleep(0.001)


def started_per_second(dev, route, requests, per_request):
    total = requests * per_request
    start_ms = time.time() * 1000
    for r in range(requests):
        dev.get(f"/{route}?prefix={route}{r}&count={per_request}")
    deadline = time.time() + 300
    while True:
        mine = [i for i in dev.instances() if i["id"].startswith(route)]
        if sum(1 for i in mine if i["status"] == "complete") == total:
            break
        if time.time() > deadline:
            raise SystemExit(f"{route}: not all {total} instances completed in 300 s")
        time.sleep(0.2)
    seconds = (max(i["ended_ms"] for i in mine) - start_ms) / 1000
    return total / seconds, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", nargs="?", type=int, default=10)
    args = parser.parse_args()
    edge = os.environ.get("EDGE_BINARY", os.path.join(ROOT, "build", "edge"))
    folder = tempfile.mkdtemp(prefix="workflow-bench-")
    try:
        with open(os.path.join(folder, "edge.toml"), "w") as f:
            f.write(CONFIG)
        with open(os.path.join(folder, "index.js"), "w") as f:
            f.write(WORKER)
        dev = Dev(edge, folder)
        try:
            one_instance(dev, "warm-up", 3)
            print(f"(a) {args.rounds} instances per N, one at a time, create to complete")
            print(f"{'N':>4} {'median ms':>10} {'min':>8} {'max':>8} {'ms/step':>8}")
            for n in (1, 10, 50):
                times = [one_instance(dev, f"n{n}-{r}", n) for r in range(args.rounds)]
                median = statistics.median(times)
                print(f"{n:>4} {median:>10.1f} {min(times):>8.1f} {max(times):>8.1f} {median / n:>8.2f}")
            print("(b) 1,000 one-step instances, first create to last complete")
            rate, seconds = started_per_second(dev, "batch", 10, 100)
            print(f"  createBatch(100) x 10:  {rate:7.0f} instances/s ({seconds:.2f} s)")
            rate, seconds = started_per_second(dev, "single", 20, 50)
            print(f"  create() x 50 x 20:     {rate:7.0f} instances/s ({seconds:.2f} s)")
        finally:
            dev.stop()
        print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
