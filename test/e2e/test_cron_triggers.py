"""End-to-end: cron triggers (`[triggers] crons`) on `edge dev` and `edge serve`.

No test waits for a real minute: the schedulers' clock is started a few
seconds before a minute boundary (EDGE_CLOCK_START_MS), so the trigger's
minute comes at once; the tests wait for its effects (a KV write, access-log
records, tail lines), never assert how long it took.

Hostile scheduled handlers on `edge serve`: one loops forever (stopped by
background_cpu_ms), one never settles its waitUntil promise (ended by the
wall-time limit), one throws, one poisons Object.prototype and Array.prototype
first; the node keeps serving, and each outcome is recorded.
"""
import json
import os
import queue
import subprocess
import threading
import time
import unittest

from edge_harness import BINARY, EdgeProcess, NodeProcess, Project, wait_for

MINUTE_MS = 60_000


def clock_before_next_minute(lead_ms):
    """A Unix time `lead_ms` before a minute boundary (for EDGE_CLOCK_START_MS)."""
    now = int(time.time() * 1000)
    boundary = (now // MINUTE_MS + 1) * MINUTE_MS
    return boundary - lead_ms, boundary


# Records each scheduled event in KV; GET /last shows the latest.
RECORDING_WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/last") return new Response((await env.KV.get("last")) ?? "none");
    return new Response("hello");
  },
  async scheduled(controller, env, ctx) {
    console.log(`scheduled ${controller.cron}`);
    controller.noRetry();
    const seen = {
      cron: controller.cron,
      scheduledTime: controller.scheduledTime,
      type: typeof controller.scheduledTime,
      tag: Object.prototype.toString.call(controller),
      waitUntil: typeof ctx.waitUntil,
    };
    ctx.waitUntil(env.KV.put("last", JSON.stringify(seen)));
  },
};
"""

# (Service-worker scripts get no bindings as globals here: the event is
# kept in the script's own state, which the same isolate's fetch shows.)
SERVICE_WORKER = r"""
let last = "none";
addEventListener("fetch", (event) => event.respondWith(new Response(last)));
addEventListener("scheduled", (event) => {
  event.waitUntil(Promise.resolve().then(() => {
    last = JSON.stringify({ cron: event.cron, scheduledTime: event.scheduledTime, type: event.type });
  }));
});
"""

THROWING_WORKER = r"""
export default {
  fetch() { return new Response("fine"); },
  scheduled(controller) { throw new Error(`cron failed for ${controller.cron}`); },
};
"""

REJECTING_WAITUNTIL_WORKER = r"""
export default {
  fetch() { return new Response("fine"); },
  scheduled(controller, env, ctx) { ctx.waitUntil(Promise.reject(new Error("late failure"))); },
};
"""

SCHEDULED_ONLY_WORKER = r"""
export default {
  async scheduled(controller, env) { await env.KV.put("only", controller.cron); },
};
"""

# Poisons the built-ins the runtime could reach while it finishes the
# event (every getter throws), then returns; it counts its runs in a global.
POISONING_WORKER = r"""
export default {
  fetch() { return new Response("unreachable once poisoned"); },
  scheduled(controller) {
    globalThis.runs = (globalThis.runs ?? 0) + 1;
    console.log(`poisoning run ${globalThis.runs} for ${controller.cron}`);
    const boom = () => { throw new Error("poisoned"); };
    for (const name of ["then", "cron", "scheduledTime", "waitUntil", "noRetry", "type",
                        "catch", "finally"]) {
      Object.defineProperty(Object.prototype, name, { get: boom, set: boom, configurable: true });
    }
    Object.defineProperty(Array.prototype, "0", { get: boom, set: boom, configurable: true });
    Array.prototype.push = boom;
    Promise.prototype.then = boom;
    JSON.stringify = boom;
    String.prototype.toString = boom;
  },
};
"""

SPINNING_WORKER = r"""
export default {
  fetch() { return new Response("still here"); },
  scheduled() { console.log("spinning"); for (;;) {} },
};
"""

HANGING_WORKER = r"""
export default {
  fetch() { return new Response("still here"); },
  scheduled(controller, env, ctx) { ctx.waitUntil(new Promise(() => {})); },
};
"""

# About 100-300 ms of CPU: over cpu_ms (10) but well under background_cpu_ms.
BUSY_WORKER = r"""
export default {
  fetch() { return new Response("busy"); },
  async scheduled(controller, env) {
    let x = 0;
    const end = Date.now() + 150;
    while (Date.now() < end) x += Math.sqrt(x + 1);
    await env.KV.put("busy", "done");
  },
};
"""


def dev_config(name, crons, extra=""):
    cron_list = ", ".join(f'"{c}"' for c in crons)
    return (f'name = "{name}"\nmain = "index.js"\n[triggers]\ncrons = [{cron_list}]\n'
            f'[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n{extra}')


class DevCronTest(unittest.TestCase):
    def start(self, source, crons=("0 0 1 1 *",), **kwargs):
        project = Project({"index.js": source}, config=dev_config("crondev", crons))
        self.addCleanup(project.remove)
        server = EdgeProcess(project.dir, "--persist-to", os.path.join(project.dir, "state"),
                             **kwargs)
        self.addCleanup(server.stop)
        return server

    def test_trigger_fires_at_its_minute(self):
        start, boundary = clock_before_next_minute(1500)
        server = self.start(RECORDING_WORKER, crons=("* * * * *",),
                            extra_env={"EDGE_CLOCK_START_MS": str(start)})
        body = wait_for(lambda: (b := server.request("GET", "/last").body) != b"none" and b, 30)
        self.assertTrue(body, server.log())
        seen = json.loads(body)
        self.assertEqual(seen["cron"], "* * * * *")
        self.assertEqual(seen["scheduledTime"] % MINUTE_MS, 0)
        self.assertGreaterEqual(seen["scheduledTime"], boundary)
        self.assertEqual(seen["type"], "number")
        self.assertEqual(seen["tag"], "[object ScheduledController]")
        self.assertEqual(seen["waitUntil"], "function")
        self.assertTrue(server.wait_for_log(r'cron "\* \* \* \* \*": Ran scheduled event'),
                        server.log())
        self.assertIn("scheduled * * * * *", server.log())

    def test_test_endpoints_run_the_handler_at_once(self):
        server = self.start(RECORDING_WORKER)
        response = server.request("GET", "/__scheduled?cron=*/5+*+*+*+*")
        self.assertEqual(response.status, 200, server.log())
        self.assertEqual(response.body, b"Ran scheduled event")
        seen = json.loads(server.request("GET", "/last").body)
        self.assertEqual(seen["cron"], "*/5 * * * *")
        response = server.request(
            "GET", "/cdn-cgi/handler/scheduled?cron=0%203%20*%20*%20MON-FRI&time=1700000000000")
        self.assertEqual(response.status, 200)
        seen = json.loads(server.request("GET", "/last").body)
        self.assertEqual(seen, {**seen, "cron": "0 3 * * MON-FRI", "scheduledTime": 1700000000000})
        # Without a cron the handler still runs, with "".
        self.assertEqual(server.request("GET", "/__scheduled").status, 200)
        self.assertEqual(json.loads(server.request("GET", "/last").body)["cron"], "")
        self.assertEqual(server.request("GET", "/__scheduled?time=soon").status, 400)
        # Other paths still reach fetch.
        self.assertEqual(server.request("GET", "/__scheduledx").body, b"hello")

    def test_service_worker_form(self):
        server = self.start(SERVICE_WORKER)
        self.assertEqual(server.request("GET", "/__scheduled?cron=1+2+3+4+5").status, 200,
                         server.log())
        seen = json.loads(server.request("GET", "/").body)
        self.assertEqual(seen["cron"], "1 2 3 4 5")
        self.assertIsInstance(seen["scheduledTime"], int)
        self.assertEqual(seen["type"], "scheduled")

    def test_failures_answer_500_naming_them(self):
        server = self.start(THROWING_WORKER)
        response = server.request("GET", "/__scheduled?cron=*+*+*+*+*")
        self.assertEqual(response.status, 500)
        self.assertIn(b"Worker threw exception", response.body)
        self.assertTrue(server.wait_for_log(r"cron failed for \* \* \* \* \*"), server.log())
        self.assertEqual(server.request("GET", "/").body, b"fine")

    def test_a_rejected_waituntil_fails_the_event(self):
        server = self.start(REJECTING_WAITUNTIL_WORKER)
        response = server.request("GET", "/__scheduled")
        self.assertEqual(response.status, 500)
        self.assertTrue(server.wait_for_log("late failure"), server.log())

    def test_a_worker_with_only_a_scheduled_handler(self):
        server = self.start(SCHEDULED_ONLY_WORKER)
        self.assertEqual(server.request("GET", "/__scheduled?cron=x").status, 200, server.log())
        response = server.request("GET", "/")
        self.assertEqual(response.status, 500)
        self.assertTrue(server.wait_for_log("no fetch handler"), server.log())

    def test_a_worker_without_a_scheduled_handler(self):
        server = self.start('export default { fetch() { return new Response("x"); } };')
        response = server.request("GET", "/__scheduled")
        self.assertEqual(response.status, 500)
        self.assertTrue(server.wait_for_log("no scheduled handler"), server.log())

    def test_poisoned_prototypes_do_not_stop_the_event(self):
        server = self.start(POISONING_WORKER)
        for run in (1, 2):  # the second runs in the poisoned isolate
            response = server.request("GET", "/__scheduled?cron=a")
            self.assertEqual(response.status, 200, server.log())
            self.assertEqual(response.body, b"Ran scheduled event")
            self.assertTrue(server.wait_for_log(f"poisoning run {run} for a"), server.log())

    def test_a_bad_expression_refuses_to_start(self):
        project = Project({"index.js": RECORDING_WORKER},
                          config=dev_config("bad", ["*/5 * * * *", "0 24 * * *"]))
        self.addCleanup(project.remove)
        result = subprocess.run([BINARY, "dev", project.dir, "--port", "0"], capture_output=True,
                                text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('"0 24 * * *"', result.stderr)
        self.assertIn("invalid hour field", result.stderr)


class ServeCronTest(unittest.TestCase):
    """One node, its clock 20 s before a minute; every worker has "* * * * *"."""

    @classmethod
    def setUpClass(cls):
        start, cls.boundary = clock_before_next_minute(20_000)
        cls.node = NodeProcess.for_class(cls, extra_env={"EDGE_CLOCK_START_MS": str(start)})
        kv = '[[kv_namespaces]]\nbinding = "KV"\nid = "cron"\n'
        every_minute = '[triggers]\ncrons = ["* * * * *"]\n'
        workers = {
            "recorder": (RECORDING_WORKER, kv + every_minute),
            "busy": (BUSY_WORKER, kv + every_minute + "[limits]\ncpu_ms = 10\n"),
            "spinner": (SPINNING_WORKER,
                        every_minute + "[limits]\ncpu_ms = 10\nbackground_cpu_ms = 300\n"),
            "hanger": (HANGING_WORKER, every_minute + "[limits]\nwall_ms = 2000\n"),
            "thrower": (THROWING_WORKER, every_minute),
            "poisoner": (POISONING_WORKER, every_minute),
        }
        for name, (source, config) in workers.items():
            cls.node.deploy_worker(name, source, [f"{name}.test/*"], config)
        cls.tail = subprocess.Popen(
            [BINARY, "tail", "recorder", "--from", cls.node.admin_url, "--token-file",
             cls.node.token_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cls.tail_lines = queue.Queue()
        threading.Thread(target=lambda: [cls.tail_lines.put(line) for line in cls.tail.stdout],
                         daemon=True).start()
        cls.addClassCleanup(cls.tail.kill)
        # Every trigger's first minute: each worker's scheduled record.
        cls.records = wait_for(lambda: cls.scheduled_records(len(workers)), 120, 0.2)

    @classmethod
    def scheduled_records(cls, count):
        records = {}
        for record in cls.node.access_records():
            if "cron" in record:
                records.setdefault(record["worker"], record)
        return records if len(records) >= count else None

    def record(self, worker):
        self.assertIsNotNone(self.records, self.node.log())
        return self.records[worker]

    def test_each_trigger_fires_once_for_its_minute(self):
        record = self.record("recorder")
        self.assertEqual(record["cron"], "* * * * *")
        self.assertEqual(record["outcome"], "ok")
        self.assertEqual(record["status"], 200)
        self.assertEqual(record["remote"], "cron")
        self.assertNotIn("method", record)
        seen = json.loads(self.node.request("recorder.test", "/last").body)
        self.assertEqual(seen["cron"], "* * * * *")
        self.assertEqual(seen["scheduledTime"] % MINUTE_MS, 0)
        self.assertGreaterEqual(seen["scheduledTime"], self.boundary)
        self.assertTrue(record["scheduled_time"].endswith(":00.000Z"), record)
        # One fire per minute per trigger, not one per serving thread.
        minute = record["scheduled_time"]
        same = [r for r in self.node.access_records()
                if r.get("worker") == "recorder" and r.get("scheduled_time") == minute]
        self.assertEqual(len(same), 1)
        console = [r for r in self.node.access_records("console")
                   if r.get("request_id") == record["request_id"]]
        self.assertEqual([c["message"] for c in console], ["scheduled * * * * *"])

    def test_it_is_metered(self):
        self.record("recorder")
        status, usage = self.node.admin_json("GET", "/usage")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(usage["workers"]["recorder"]["invocations"], 1)
        metrics = self.node.admin("GET", "/metrics").body.decode()
        self.assertIn('edge_requests_total{worker="recorder",status_class="2xx",outcome="ok"}',
                      metrics)

    def test_edge_tail_shows_it(self):
        self.record("recorder")
        deadline = time.time() + 30
        lines = []
        while time.time() < deadline:
            try:
                line = self.tail_lines.get(timeout=1)
            except queue.Empty:
                continue
            lines.append(line)
            if '"* * * * *" - Ok' in line:
                break
        self.assertTrue(any('"* * * * *" - Ok @' in line for line in lines), lines)

    def test_background_cpu_limit_not_cpu_ms_applies(self):
        # cpu_ms = 10 would stop 150 ms of work; background_cpu_ms (30 s) does not.
        self.assertEqual(self.record("busy")["outcome"], "ok")

    def test_a_handler_that_loops_forever_is_stopped(self):
        record = self.record("spinner")
        self.assertEqual(record["outcome"], "exceededCpu")
        self.assertEqual(self.node.request("spinner.test").body, b"still here")

    def test_a_waituntil_that_never_settles_ends_at_the_wall_limit(self):
        record = self.record("hanger")
        self.assertEqual(record["outcome"], "exceededWall")
        self.assertEqual(self.node.request("hanger.test").body, b"still here")

    def test_a_throwing_handler_is_an_exception(self):
        record = self.record("thrower")
        self.assertEqual(record["outcome"], "exception")
        self.assertEqual(record["status"], 500)

    def test_poisoned_prototypes(self):
        self.assertEqual(self.record("poisoner")["outcome"], "ok")

    def test_a_bad_expression_is_a_deploy_error(self):
        project = self.node.add_worker("badcron", RECORDING_WORKER, ["badcron.test/*"],
                                       '[triggers]\ncrons = ["*/5 * * * *", "5 4 * * MONDAY"]\n')
        result = self.node.deploy(project.dir)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('"5 4 * * MONDAY"', result.stderr)
        # The admin API refuses such a bundle too, naming it.
        bundle = json.dumps({"name": "badcron", "main": "index.js",
                             "modules": [{"name": "index.js", "content": ""}],
                             "triggers": {"crons": ["61 * * * *"]}})
        response = self.node.admin("PUT", "/workers/badcron", bundle,
                                   headers={"Content-Type": "application/json"})
        self.assertEqual(response.status, 400, response.body)
        self.assertIn(b"61 * * * *", response.body)


if __name__ == "__main__":
    unittest.main()
