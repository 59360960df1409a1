#!/usr/bin/env python3
"""edge-sync propagation on loopback: an `edge origin` and N PoPs
(`edge serve --sync-from`, --threads 1 each), all started here; with
--relay the PoPs tail one relay PoP instead of the origin.

(a) Deploys: each of D deploys is an `edge deploy PROJECT --to ORIGIN` (the
    command line, bundling included). The time measured is from that command
    returning to each PoP answering with the new version (one polling thread
    per PoP, a keep-alive connection, a request every --interval-ms). Reported
    per deploy for the slowest PoP ("every PoP") and per (deploy, PoP) pair.
    A PoP can see a version before `edge deploy` exits (the origin logs the
    entry before it answers): those pairs count as 0 ms from the return and
    are also reported from the start of the command.
(b) KV: K writes made by the worker at PoP 0 (a PUT through its traffic port;
    the PoP applies it locally and forwards it to the origin, which logs it),
    one at a time; the time from that PUT's response to each other PoP's
    worker reading the value (polled the same way). Reported over all
    (write, PoP) pairs.

Percentiles are nearest-rank: with 20 samples p99 is the largest.

    bench/sync_propagation.py [--pops 10] [--deploys 20] [--kv-writes 50]
                              [--relay] [--interval-ms 2] [--pop-flag=--flag ...]

Needs build/edge (or $EDGE_BINARY). The load generator shares the machine
with every node: on a small machine the polling itself costs CPU the nodes
would otherwise use.
"""
import argparse
import http.client
import math
import os
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))

from sync_harness import (FleetKeys, OriginProcess, fleet_project, kv_worker,  # noqa: E402
                          start_pop)

HOST = "prop.bench"
WORKER = kv_worker("v=${env.VERSION}")


def project(version):
    return fleet_project("prop", HOST, version, WORKER)


class Client:
    """A keep-alive HTTP/1.1 connection to one PoP's traffic port."""

    def __init__(self, port):
        self.port = port
        self.connection = None

    def get(self, path, method="GET"):
        for attempt in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                 timeout=10)
                self.connection.request(method, path, headers={"Host": HOST})
                response = self.connection.getresponse()
                return response.status, response.read().decode()
            except (OSError, http.client.HTTPException):
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.connection is not None:
            self.connection.close()


def wait_all(clients, path, expected, interval_s, timeout_s=30):
    """Polls every client concurrently until `path` answers `expected`;
    returns each one's perf_counter time of the first such answer."""
    seen = [None] * len(clients)

    def poll(i):
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            try:
                _, body = clients[i].get(path)
            except (OSError, http.client.HTTPException):
                body = None
            if body == expected:
                seen[i] = time.perf_counter()
                return
            time.sleep(interval_s)

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    return threads, seen


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def row(label, values_ms):
    return (f"{label:<34} {len(values_ms):>5} {percentile(values_ms, 50):>9.1f} "
            f"{percentile(values_ms, 99):>9.1f} {max(values_ms):>9.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pops", type=int, default=10)
    parser.add_argument("--deploys", type=int, default=20)
    parser.add_argument("--kv-writes", type=int, default=50)
    parser.add_argument("--relay", action="store_true", help="the PoPs tail one relay")
    parser.add_argument("--interval-ms", type=float, default=2.0)
    parser.add_argument("--pop-flag", action="append", default=[],
                        help="one more `edge serve` flag for every PoP (repeatable), e.g. "
                             "--pop-flag=--spare-isolates=0")
    args = parser.parse_args()
    interval_s = args.interval_ms / 1000
    started = time.perf_counter()

    keys = FleetKeys()
    origin = relay = None
    pops, projects, clients = [], [], []
    try:
        origin = OriginProcess(keys)
        relay = start_pop(keys, origin.url, "relay", relay=True) if args.relay else None
        upstream = relay.admin_url if relay else origin.url
        for i in range(args.pops):
            pops.append(start_pop(keys, upstream, f"pop-{i}", extra=args.pop_flag))
        clients = [Client(p.http_port) for p in pops]

        # A first deploy, not measured: every PoP has the worker warm.
        p = project(0)
        projects.append(p)
        result = origin.deploy(p.dir)
        assert result.returncode == 0, result.stderr
        threads, seen = wait_all(clients, "/", "v=0", interval_s, timeout_s=60)
        for t in threads:
            t.join()
        assert all(seen), "a PoP never served the first deploy"

        # (a) deploys.
        every_pop, each_pop, each_pop_from_start, deploy_cli = [], [], [], []
        early = 0
        for version in range(1, args.deploys + 1):
            p = project(version)
            projects.append(p)
            threads, seen = wait_all(clients, "/", f"v={version}", interval_s)
            t_start = time.perf_counter()
            result = origin.deploy(p.dir)
            t_return = time.perf_counter()
            assert result.returncode == 0, result.stderr
            for t in threads:
                t.join()
            assert all(seen), f"a PoP never served v={version}"
            deploy_cli.append((t_return - t_start) * 1000)
            from_return = [max(0.0, s - t_return) * 1000 for s in seen]
            early += sum(1 for s in seen if s < t_return)
            each_pop += from_return
            each_pop_from_start += [(s - t_start) * 1000 for s in seen]
            every_pop.append(max(from_return))

        # (b) KV writes at PoP 0, read at every other PoP.
        kv_pairs = []
        for n in range(args.kv_writes):
            key, value = f"k{n}", f"value-{n}-{time.time_ns()}"
            threads, seen = wait_all(clients[1:], f"/kv?key={key}", value, interval_s)
            status, body = clients[0].get(f"/kv?key={key}&value={value}", method="PUT")
            t_written = time.perf_counter()
            assert (status, body) == (200, "stored"), (status, body)
            for t in threads:
                t.join()
            assert all(seen), f"a PoP never read {key}"
            kv_pairs += [max(0.0, s - t_written) * 1000 for s in seen]

        topology = (f"origin -> relay -> {args.pops} PoPs" if args.relay
                    else f"origin -> {args.pops} PoPs")
        print(f"edge-sync propagation on loopback: {topology} (edge serve --threads 1 each), "
              f"polling every {args.interval_ms:g} ms; {os.cpu_count()} CPUs")
        print(f"command: {' '.join(['python3', os.path.relpath(__file__, ROOT), *sys.argv[1:]])}")
        print()
        print(f"{'(ms)':<34} {'n':>5} {'p50':>9} {'p99':>9} {'max':>9}")
        print(row("edge deploy (the command itself)", deploy_cli))
        print(row("deploy returned -> every PoP", every_pop))
        print(row("deploy returned -> each PoP", each_pop))
        print(row("deploy started -> each PoP", each_pop_from_start))
        print(row("KV PUT at PoP 0 -> each other PoP", kv_pairs))
        print()
        print("deploy returned -> every PoP, each deploy in order (ms): " +
              " ".join(f"{v:.0f}" for v in every_pop))
        print(f"(deploys: {early} of {len(each_pop)} (deploy, PoP) pairs served the new version "
              f"before `edge deploy` returned; counted as 0 ms from the return)")
        print(f"total run time {time.perf_counter() - started:.1f} s")
    finally:
        for c in clients:
            c.close()
        for node in pops + ([relay] if relay else []):
            node.remove()
        if origin is not None:
            origin.remove()
        keys.remove()
        for p in projects:
            p.remove()


if __name__ == "__main__":
    main()
