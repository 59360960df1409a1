"""End-to-end: Cloudflare Workflows on `edge dev` and `edge serve`.

examples/order-workflow end to end (a charge retried against a flaky
upstream, an event sent by another route, a sleep, a KV write), `edge
workflows` on the local state and against a node's admin API, kill -9 in
the middle of a step, a sleep across a restart (the restart moves the test
clock past the wake time: nothing waits for it), an instance that runs to
its end on the version that created it, and 1,000 sleeping instances that
hold no run and cost no CPU. No test asserts timing: they wait for effects.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import unittest
import urllib.parse

from edge_harness import BINARY, EdgeProcess, NodeProcess, Project

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "order-workflow")


def wait_for(predicate, timeout, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def example_project(retry_delay_ms="50", cool_off="1 second"):
    """A copy of examples/order-workflow with short delays."""
    project = Project({})
    shutil.rmtree(project.dir)
    shutil.copytree(EXAMPLE, project.dir)
    with open(os.path.join(EXAMPLE, "edge.toml")) as f:
        config = f.read()
    config = re.sub(r'RETRY_DELAY_MS = "\d+"', f'RETRY_DELAY_MS = "{retry_delay_ms}"', config)
    config = re.sub(r'COOL_OFF = "[^"]*"', f'COOL_OFF = "{cool_off}"', config)
    project.write("edge.toml", config)
    return project


# A workflow whose steps record how often they ran (in KV, outside the
# replay), for kill -9 and restarts.
COUNTING = r"""
import { WorkflowEntrypoint } from "cloudflare:workers";

async function bump(env, key) {
  const n = Number((await env.KV.get(key)) ?? 0) + 1;
  await env.KV.put(key, String(n));
  return n;
}

export class Counting extends WorkflowEntrypoint {
  async run(event, step) {
    const first = await step.do("first", async () => bump(this.env, `first:${event.instanceId}`));
    if (event.payload.slow) {
      await step.do("slow", async () => {
        const n = await bump(this.env, `slow:${event.instanceId}`);
        console.log(`slow started ${event.instanceId} ${n}`);
        await scheduler.wait(Number(event.payload.slow));
        return n;
      });
    }
    if (event.payload.nap) await step.sleep("nap", event.payload.nap);
    return { first, version: VERSION };
  }
}

const VERSION = "v1";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const id = url.searchParams.get("id");
    if (url.pathname === "/create") {
      const params = JSON.parse(url.searchParams.get("params") ?? "{}");
      return Response.json({ id: (await env.FLOW.create({ id, params })).id });
    }
    if (url.pathname === "/batch") {
      const prefix = url.searchParams.get("prefix");
      const items = [];
      for (let i = 0; i < 100; i++) items.push({ id: `${prefix}-${i}`, params: { nap: "1 hour" } });
      return Response.json({ made: (await env.FLOW.createBatch(items)).length });
    }
    if (url.pathname === "/status") return Response.json(await (await env.FLOW.get(id)).status());
    if (url.pathname === "/event") {
      await (await env.FLOW.get(id)).sendEvent({ type: "go", payload: 1 });
      return new Response("sent");
    }
    if (url.pathname === "/count") return new Response((await env.KV.get(url.searchParams.get("key"))) ?? "0");
    return new Response("counting");
  },
};
"""

COUNTING_CONFIG = """
[[workflows]]
name = "counting"
binding = "FLOW"
class_name = "Counting"

[[kv_namespaces]]
binding = "KV"
id = "counts"
"""


class DevWorkflowsTest(unittest.TestCase):
    def dev(self, project, state, clock_ms=None):
        env = {"EDGE_CLOCK_START_MS": str(clock_ms)} if clock_ms is not None else None
        server = EdgeProcess(project.dir, "--persist-to", state, extra_env=env)
        self.addCleanup(server.stop)
        return server

    def cli(self, project, state, *args):
        return subprocess.run([BINARY, "workflows", *args, "--config", os.path.join(project.dir, "edge.toml"),
                               "--persist-to", state], capture_output=True, text=True, timeout=60)

    def test_the_order_example_end_to_end(self):
        project = example_project()
        self.addCleanup(project.remove)
        state = os.path.join(project.dir, ".edge", "state")
        server = self.dev(project, state)

        def order(path="/orders/order-1"):
            response = server.request("GET", path)
            return json.loads(response.body)

        created = server.request("POST", "/orders", json.dumps({"id": "order-1", "item": "lamp", "amount": 40}).encode())
        self.assertEqual(created.status, 201, created.body + server.log().encode())
        self.assertEqual(json.loads(created.body), {"id": "order-1"})
        # Charged after two failed attempts, then waiting for "shipped".
        described = wait_for(lambda: (r := self.cli(project, state, "instances", "describe", "orders", "order-1"))
                             and "waitForEvent" in r.stdout and r, 30)
        self.assertTrue(described, server.log())
        self.assertEqual(order()["status"], "waiting")
        text = described.stdout
        self.assertIn("Instance order-1 of workflow orders: waiting", text)
        self.assertRegex(text, r"charge\s+complete .* 3 attempts, output \d+ bytes")
        self.assertIn("failed: Error: upstream answered 503", text)
        self.assertRegex(text, r"waitForEvent\s+shipped\s+waiting .*event \"shipped\", wakes at")
        # The event from the other route; then the sleep; then the KV record.
        sent = server.request("POST", "/orders/order-1/shipped", json.dumps({"tracking": "1Z999"}).encode())
        self.assertEqual(json.loads(sent.body), {"sent": True})
        done = wait_for(lambda: (o := order())["status"] == "complete" and o, 30)
        self.assertTrue(done, server.log())
        record = {"orderId": "order-1", "item": "lamp", "amount": 40, "chargeId": "ch_order-1", "tracking": "1Z999"}
        self.assertEqual(done["output"], record)
        self.assertEqual(done["recorded"], record)
        # A declined payment: NonRetryableError ends the instance at once.
        server.request("POST", "/orders", json.dumps({"id": "order-2", "item": "car", "amount": 5000}).encode())
        errored = wait_for(lambda: (o := order("/orders/order-2"))["status"] == "errored" and o, 30)
        self.assertTrue(errored, server.log())
        self.assertEqual(errored["error"], {"name": "NonRetryableError", "message": "payment declined"})
        # edge workflows on the local state.
        listed = self.cli(project, state, "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout, r"orders\s+2\s+1 complete, 1 errored")
        instances = self.cli(project, state, "instances", "list", "orders")
        self.assertIn("order-1", instances.stdout)
        self.assertIn("errored", instances.stdout)
        triggered = self.cli(project, state, "trigger", "orders", '{"item":"pen","amount":2}', "--id", "order-3")
        self.assertEqual(triggered.returncode, 0, triggered.stderr)
        waiting = wait_for(lambda: order("/orders/order-3")["status"] == "waiting", 30)
        self.assertTrue(waiting, server.log())
        self.assertEqual(self.cli(project, state, "instances", "terminate", "orders", "order-3").returncode, 0)
        self.assertEqual(order("/orders/order-3")["status"], "terminated")
        again = self.cli(project, state, "instances", "terminate", "orders", "order-3")
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("already terminated", again.stderr)
        missing = self.cli(project, state, "instances", "describe", "orders", "nope")
        self.assertIn("instance.not_found", missing.stderr)

    def test_kill_9_mid_step_resumes_at_that_step(self):
        project = Project({"index.js": COUNTING}, config='name = "counting"\nmain = "index.js"\n' + COUNTING_CONFIG)
        self.addCleanup(project.remove)
        state = os.path.join(project.dir, "state")
        server = self.dev(project, state)
        server.request("GET", "/create?id=k1&params=" + urllib.parse.quote(json.dumps({"slow": 3000})))
        self.assertTrue(server.wait_for_log(r"slow started k1 1", timeout=30), server.log())
        server.stop(sig=signal.SIGKILL)
        server = self.dev(project, state)
        done = wait_for(lambda: json.loads(server.request("GET", "/status?id=k1").body)["status"] == "complete", 30)
        self.assertTrue(done, server.log())
        # "first" ran once (its result was stored before the kill), "slow" twice.
        self.assertEqual(server.request("GET", "/count?key=first:k1").body, b"1")
        self.assertEqual(server.request("GET", "/count?key=slow:k1").body, b"2")
        self.assertIn("slow started k1 2", server.log())

    def test_a_sleep_across_a_restart(self):
        project = Project({"index.js": COUNTING}, config='name = "counting"\nmain = "index.js"\n' + COUNTING_CONFIG)
        self.addCleanup(project.remove)
        state = os.path.join(project.dir, "state")
        now = int(time.time() * 1000)
        server = self.dev(project, state, clock_ms=now)
        server.request("GET", "/create?id=s1&params=" + urllib.parse.quote(json.dumps({"nap": "1 hour"})))
        waiting = wait_for(lambda: json.loads(server.request("GET", "/status?id=s1").body)["status"] == "waiting", 30)
        self.assertTrue(waiting, server.log())
        server.stop()
        # Two hours later, by the clock the node is started with.
        server = self.dev(project, state, clock_ms=now + 2 * 3600 * 1000)
        done = wait_for(lambda: (s := json.loads(server.request("GET", "/status?id=s1").body))["status"] == "complete"
                        and s, 30)
        self.assertTrue(done, server.log())
        self.assertEqual(done["output"], {"first": 1, "version": "v1"})
        self.assertEqual(server.request("GET", "/count?key=first:s1").body, b"1")


class ServeWorkflowsTest(unittest.TestCase):
    def test_the_example_and_edge_workflows_against_a_node(self):
        node = NodeProcess()
        self.addCleanup(node.remove)
        project = example_project()
        node.projects.append(project)
        with open(os.path.join(project.dir, "edge.toml")) as f:
            config = f.read()
        # Top-level keys come before the first table.
        config = config.replace('compatibility_date = "2026-11-01"\n',
                                'compatibility_date = "2026-11-01"\nroutes = ["orders.test/*"]\n')
        project.write("edge.toml", config)
        deployed = node.deploy(project.dir)
        self.assertEqual(deployed.returncode, 0, deployed.stderr)
        common = ["--to", node.admin_url, "--token-file", node.token_file]
        created = node.request("orders.test", "/orders", method="POST",
                               body=json.dumps({"id": "o1", "item": "lamp", "amount": 40}).encode())
        self.assertEqual(created.status, 201, node.log())

        def status(id_="o1"):
            return json.loads(node.request("orders.test", f"/orders/{id_}").body)

        # Charged (after two failed attempts), then waiting for "shipped".
        described = wait_for(lambda: (r := node.cli("workflows", "instances", "describe", "orders", "o1", *common))
                             and "waitForEvent" in r.stdout and r, 30)
        self.assertTrue(described, node.log())
        self.assertEqual(status()["status"], "waiting")
        self.assertRegex(described.stdout, r"worker order-workflow \(version 1\)")
        self.assertRegex(described.stdout, r"charge\s+complete .* 3 attempts")
        node.request("orders.test", "/orders/o1/shipped", method="POST", body=b'{"tracking":"T1"}')
        done = wait_for(lambda: (s := status())["status"] == "complete" and s, 30)
        self.assertTrue(done, node.log())
        self.assertEqual(done["recorded"]["tracking"], "T1")
        # The runs are invocations: access log, tail lines, metrics. A run's
        # access line is written when its invocation ends, which can be just
        # after the status it stored is read back: wait for the lines.
        def runs_logged():
            return [r for r in node.access_records() if r.get("workflow") == "orders"]
        runs = wait_for(lambda: len(runs_logged()) >= 5 and runs_logged(), 10)
        self.assertTrue(runs, node.access)
        self.assertEqual(runs[0]["instance"], "o1")
        self.assertNotIn("method", runs[0])
        metrics = node.admin("GET", "/metrics").body.decode()
        self.assertIn('edge_workflow_instances{account="default",workflow="orders",status="complete"} 1', metrics)
        self.assertRegex(metrics, r'edge_workflow_step_retries_total\{account="default",workflow="orders"\} 2')
        # edge workflows against the admin API.
        listed = node.cli("workflows", "list", *common)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout, r"orders\s+1\s+1 complete")
        triggered = node.cli("workflows", "trigger", "orders", '{"item":"pen","amount":3}', "--id", "o2", *common)
        self.assertEqual(triggered.returncode, 0, triggered.stderr)
        at_the_wait = lambda: "waitForEvent" in node.cli("workflows", "instances", "describe", "orders", "o2",
                                                         *common).stdout
        self.assertTrue(wait_for(at_the_wait, 30), node.log())
        for verb, expected in (("pause", "paused"), ("resume", "waiting"), ("terminate", "terminated")):
            result = node.cli("workflows", "instances", verb, "orders", "o2", *common)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(status("o2")["status"], expected, verb)
        restarted = node.cli("workflows", "instances", "restart", "orders", "o2", *common)
        self.assertEqual(restarted.returncode, 0, restarted.stderr)
        self.assertTrue(wait_for(at_the_wait, 30), node.log())
        listed = node.cli("workflows", "instances", "list", "orders", *common)
        self.assertIn("o2", listed.stdout)
        self.assertEqual(node.admin("GET", "/workflows", token="wrong").status, 403)

    def test_an_instance_ends_on_the_version_that_created_it(self):
        node = NodeProcess()
        self.addCleanup(node.remove)
        source = COUNTING.replace('if (event.payload.nap) await step.sleep("nap", event.payload.nap);',
                                  'await step.waitForEvent("go", { type: "go" });')
        node.deploy_worker("counting", source, ["counting.test/*"], COUNTING_CONFIG)
        node.request("counting.test", "/create?id=p1")
        status = lambda: json.loads(node.request("counting.test", "/status?id=p1").body)
        self.assertTrue(wait_for(lambda: status()["status"] == "waiting", 30), node.log())
        node.deploy_worker("counting", source.replace('const VERSION = "v1"', 'const VERSION = "v2"'),
                           ["counting.test/*"], COUNTING_CONFIG)
        self.assertEqual(node.request("counting.test", "/event?id=p1").body, b"sent")
        done = wait_for(lambda: (s := status())["status"] == "complete" and s, 30)
        self.assertTrue(done, node.log())
        self.assertEqual(done["output"]["version"], "v1")
        # A new instance runs on the new version.
        node.request("counting.test", "/create?id=p2")
        self.assertTrue(wait_for(lambda: json.loads(node.request("counting.test", "/status?id=p2").body)["status"]
                                 == "waiting", 30))
        node.request("counting.test", "/event?id=p2")
        done = wait_for(lambda: (s := json.loads(node.request("counting.test", "/status?id=p2").body))["status"]
                        == "complete" and s, 30)
        self.assertEqual(done["output"]["version"], "v2")

    def test_kill_9_and_a_thousand_sleeping_instances(self):
        now = int(time.time() * 1000)
        node = NodeProcess(extra_env={"EDGE_CLOCK_START_MS": str(now)})
        self.addCleanup(node.remove)
        node.deploy_worker("counting", COUNTING, ["counting.test/*"], COUNTING_CONFIG)

        def rss_kb():
            with open(f"/proc/{node.proc.pid}/status") as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

        def runs_total():
            text = node.admin("GET", "/metrics").body.decode()
            match = re.search(r'edge_workflow_runs_total\{account="default",workflow="counting"\} (\d+)', text)
            return int(match.group(1)) if match else 0

        def waiting():
            text = node.admin("GET", "/metrics").body.decode()
            match = re.search(r'edge_workflow_instances\{account="default",workflow="counting",status="waiting"\} (\d+)',
                              text)
            return int(match.group(1)) if match else 0

        node.request("counting.test", "/create?id=warm&params=" + urllib.parse.quote(json.dumps({"nap": "1 hour"})))
        self.assertTrue(wait_for(lambda: waiting() == 1, 30), node.log())
        before = rss_kb()
        for batch in range(10):
            made = json.loads(node.request("counting.test", f"/batch?prefix=b{batch}").body)
            self.assertEqual(made, {"made": 100})
        self.assertTrue(wait_for(lambda: waiting() == 1001, 120, 0.5), node.log())
        # Two runs each (the first step, then the sleep's start): then nothing.
        settled = runs_total()
        self.assertEqual(settled, 2 * 1001)
        time.sleep(1)
        self.assertEqual(runs_total(), settled)
        grown_mb = (rss_kb() - before) / 1024
        self.assertLess(grown_mb, 64, f"RSS grew by {grown_mb:.1f} MiB for 1,000 sleeping instances")
        # kill -9 with every instance asleep; restarted an hour and a bit later,
        # each wakes once and completes.
        node.stop(sig=signal.SIGKILL)
        node.extra_env = {"EDGE_CLOCK_START_MS": str(now + 3600 * 1000 + 60 * 1000)}
        node._start()
        done = lambda: re.search(r'edge_workflow_instances\{account="default",workflow="counting",status="complete"\} 1001',
                                 node.admin("GET", "/metrics").body.decode())
        self.assertTrue(wait_for(done, 180, 0.5), node.log())
        self.assertEqual(node.request("counting.test", "/count?key=first:b3-7").body, b"1")


if __name__ == "__main__":
    unittest.main()
