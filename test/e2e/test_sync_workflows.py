"""Workflows in a fleet: an origin and three PoPs, pop-a the home (pinned
with --cron-home). A create at pop-b runs on pop-a; its status is read from
pop-c; sendEvent, pause and terminate from PoPs that are not the home reach
it; kill -9 of the home and a restart resume every instance, and creates
made while it was down run once it is back; another account's worker does
not reach the instance; the origin refuses a take from a PoP that is not the
home or has an old term, and malformed bodies; params over the limits are
refused at the PoP; with the origin down, a create fails saying so. No test
asserts timing: they wait for effects."""
import json
import signal
import subprocess
import unittest
import urllib.parse

from edge_harness import BINARY, NodeProcess, Project
from sync_harness import SYNC_TOKEN, FleetKeys, OriginProcess, _call, wait_until

WORKER = r"""
import { WorkflowEntrypoint } from "cloudflare:workers";

export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    const first = await step.do("first", async () => ({ n: event.payload.n ?? 0 }));
    if (event.payload.wait) {
      const got = await step.waitForEvent("go", { type: "go", timeout: "1 hour" });
      return { first, got: got.payload };
    }
    return { first };
  }
}

async function answer(work) {
  try {
    return Response.json(await work());
  } catch (e) {
    return Response.json({ error: `${e.name}: ${e.message}` }, { status: 400 });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const id = url.searchParams.get("id");
    switch (url.pathname) {
      case "/create":
        return answer(async () => ({
          id: (await env.FLOW.create({ id, params: JSON.parse(url.searchParams.get("params") ?? "{}") })).id,
        }));
      case "/big":
        return answer(async () => env.FLOW.create({ id, params: "x".repeat(Number(url.searchParams.get("n"))) }));
      case "/big-batch":
        return answer(async () => {
          const items = [], big = "y".repeat(1000 * 1000);
          for (let i = 0; i < 30; i++) items.push({ id: `${id}-${i}`, params: big });
          return (await env.FLOW.createBatch(items)).length;
        });
      case "/batch":
        return answer(async () => {
          const items = [];
          for (let i = 0; i < 5; i++) items.push({ id: `${id}-${i}`, params: { n: i } });
          items.push({ id: "w1", params: {} });  // taken: skipped
          return (await env.FLOW.createBatch(items)).map((instance) => instance.id);
        });
      case "/status":
        return answer(async () => (await env.FLOW.get(id)).status());
      case "/event":
        return answer(async () => {
          await (await env.FLOW.get(id)).sendEvent({ type: "go", payload: url.searchParams.get("payload") });
          return "sent";
        });
      case "/control":
        return answer(async () => {
          await (await env.FLOW.get(id))[url.searchParams.get("op")]();
          return "done";
        });
    }
    return new Response("flows");
  },
};
"""

# A worker that poisons its built-ins before every call it makes through
# the fleet: the calls still work, and its own errors are still errors.
POISONED = r"""
import { WorkflowEntrypoint } from "cloudflare:workers";

export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    return await step.do("only", async () => event.payload);
  }
}

function poison() {
  Object.prototype.id = "hijacked";
  Object.prototype.params = "hijacked";
  Object.prototype.type = "hijacked";
  Array.prototype[Symbol.iterator] = function* () { throw new Error("poisoned iterator"); };
  Promise.prototype.then = function () { throw new Error("poisoned Promise.then"); };
  Object.defineProperty(Array, Symbol.species, { get() { throw new Error("poisoned species"); }, configurable: true });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const id = url.searchParams.get("id");
    if (url.pathname === "/status") {
      return new Response(JSON.stringify(await (await env.FLOW.get(id)).status()));
    }
    const results = [];
    poison();
    const attempts = [
      async () => { await env.FLOW.create({ id, params: { n: 1 } }); },
      async () => { await env.FLOW.create({ id: { toString() { throw new Error("toString throws"); } } }); },
      async () => { const p = Proxy.revocable({}, {}); p.revoke(); await env.FLOW.create({ id: id + "-r", params: p.proxy }); },
      async () => { await (await env.FLOW.get(id)).status(); },
      async () => { await env.FLOW.create({ id: "x".repeat(100000) }); },
      async () => { await (await env.FLOW.get(id)).sendEvent({ type: { valueOf() { throw new Error("valueOf throws"); } } }); },
      async () => {
        // Its own then getter: every promise resolved with an object rejects.
        Object.defineProperty(Object.prototype, "then", { get() { throw new Error("poisoned then"); }, configurable: true });
        try { await env.FLOW.get(id); } finally { delete Object.prototype.then; }
      },
    ];
    for (let i = 0; i < attempts.length; i++) {
      try {
        await attempts[i]();
        results[results.length] = "ok";
      } catch (e) {
        results[results.length] = String(e && e.name);
      }
    }
    return new Response(JSON.stringify(results));
  },
};
"""

CONFIG = """name = "{name}"
main = "index.js"
routes = ["{host}/*"]

[limits]
cpu_ms = 2000

[[workflows]]
name = "flow"
binding = "FLOW"
class_name = "Flow"
"""


class SyncWorkflowsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.addClassCleanup(cls.keys.remove)
        cls.origin = OriginProcess(cls.keys, extra=["--cron-home", "pop-a"])
        cls.addClassCleanup(cls.origin.remove)
        cls.pops = {}
        for pop_id in ("pop-a", "pop-b", "pop-c"):
            cls.pops[pop_id] = NodeProcess.for_class(cls, *cls.pop_args(pop_id), threads=1)
        cls.projects = []
        cls.deploy("flows", "flows.test", cls.origin.token_file)
        # Another account, with a worker of the same workflow name.
        token_file = cls.origin.dir + "/other.token"
        result = subprocess.run([BINARY, "account", "create", "other", "--hosts", "other.test",
                                 "--token-out", token_file, "--to", cls.origin.url, "--token-file",
                                 cls.origin.token_file], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        cls.deploy("other-flows", "other.test", token_file)
        cls.deploy("poisoned", "poisoned.test", cls.origin.token_file, POISONED, "pflow")
        for node in cls.pops.values():
            for host in ("flows.test", "other.test"):
                assert wait_until(lambda: node.request(host).body == b"flows", 30), node.log()
            assert wait_until(lambda: node.request("poisoned.test", "/status?id=none").status == 500,
                              30), node.log()
        # Every PoP has learned the home from a check-in.
        for node in cls.pops.values():
            assert wait_until(lambda: json.loads(node.admin("GET", "/status").body)
                              .get("cron_home") == "pop-a", 20), node.log()

    @classmethod
    def pop_args(cls, pop_id):
        return ["--sync-from", cls.origin.url, "--sync-key", cls.keys.verify_key,
                "--sync-token-file", cls.keys.sync_token_file, "--secrets-key",
                cls.keys.secrets_key, "--pop-id", pop_id]

    @classmethod
    def deploy(cls, name, host, token_file, source=WORKER, workflow="flow"):
        config = CONFIG.format(name=name, host=host).replace('name = "flow"', f'name = "{workflow}"')
        project = Project({"index.js": source}, config=config)
        cls.addClassCleanup(project.remove)
        result = subprocess.run([BINARY, "deploy", project.dir, "--to", cls.origin.url,
                                 "--token-file", token_file], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr

    def call(self, pop, path, host="flows.test", **query):
        response = self.pops[pop].request(host, path + "?" + urllib.parse.urlencode(query))
        return response.status, json.loads(response.body)

    def status(self, pop, id, host="flows.test"):
        code, body = self.call(pop, "/status", host, id=id)
        return body if code == 200 else body["error"]

    def wait_status(self, pop, id, expected, timeout=30):
        return wait_until(lambda: (s := self.status(pop, id)) and isinstance(s, dict)
                          and s.get("status") == expected, timeout, 0.1)

    def runs(self, pop, id):
        return [r for r in self.pops[pop].access_records() if r.get("instance") == id]

    def origin_post(self, path, body):
        status, answer = _call(self.origin.port, "POST", path, body.encode(), SYNC_TOKEN)
        return status, answer.decode()

    def test_1_created_at_one_pop_runs_on_the_home_and_answers_at_every_pop(self):
        code, body = self.call("pop-b", "/create", id="w1", params='{"wait":true,"n":7}')
        self.assertEqual((code, body), (200, {"id": "w1"}), self.pops["pop-b"].log()[-3000:])
        # Right after the create the origin knows it (queued at the least).
        self.assertIn(self.status("pop-c", "w1")["status"], ("queued", "running", "waiting"))
        self.assertTrue(self.wait_status("pop-c", "w1", "waiting"), self.pops["pop-a"].log()[-3000:])
        # The run's access record is written when its invocation ends, which can be
        # just after the status it stored is read back: wait for it.
        self.assertTrue(wait_until(lambda: self.runs("pop-a", "w1"), 10), self.pops["pop-a"].log()[-3000:])
        self.assertEqual(self.runs("pop-b", "w1"), [])
        self.assertEqual(self.runs("pop-c", "w1"), [])
        # Taken: refused from any PoP, and from the home itself.
        code, body = self.call("pop-c", "/create", id="w1")
        self.assertEqual(code, 400)
        self.assertIn("instance.already_exists", body["error"])
        code, body = self.call("pop-a", "/create", id="w1")
        self.assertIn("instance.already_exists", body["error"])
        # The event from a third PoP wakes the wait on the home.
        self.assertEqual(self.call("pop-c", "/event", id="w1", payload="parcel"), (200, "sent"))
        self.assertTrue(self.wait_status("pop-b", "w1", "complete"))
        self.assertEqual(self.status("pop-b", "w1")["output"], {"first": {"n": 7}, "got": "parcel"})
        self.assertEqual(self.status("pop-a", "w1")["output"], {"first": {"n": 7}, "got": "parcel"})
        # A batch from a PoP: the taken id skipped.
        code, body = self.call("pop-c", "/batch", id="b")
        self.assertEqual((code, body), (200, [f"b-{i}" for i in range(5)]))
        for i in range(5):
            self.assertTrue(self.wait_status("pop-b", f"b-{i}", "complete"))
        self.assertEqual(self.status("pop-b", "b-3")["output"], {"first": {"n": 3}})
        # Unknown ids: not found, as on one node.
        self.assertIn("instance.not_found", self.status("pop-b", "nope"))
        code, body = self.call("pop-b", "/event", id="nope", payload="x")
        self.assertIn("instance.not_found", body["error"])

    def test_2_pause_resume_and_terminate_from_pops_that_are_not_the_home(self):
        self.assertEqual(self.call("pop-b", "/create", id="w2", params='{"wait":true}')[0], 200)
        self.assertTrue(self.wait_status("pop-c", "w2", "waiting"))
        self.assertEqual(self.call("pop-c", "/control", id="w2", op="pause"), (200, "done"))
        self.assertTrue(self.wait_status("pop-b", "w2", "paused"))
        self.assertEqual(self.call("pop-b", "/control", id="w2", op="resume"), (200, "done"))
        self.assertTrue(self.wait_status("pop-c", "w2", "waiting"))
        self.assertEqual(self.call("pop-b", "/control", id="w2", op="terminate"), (200, "done"))
        self.assertTrue(self.wait_status("pop-c", "w2", "terminated"))
        code, body = self.call("pop-c", "/control", id="w2", op="terminate")
        self.assertEqual(code, 400)
        self.assertIn("already terminated", body["error"])
        code, body = self.call("pop-b", "/event", id="w2", payload="late")
        self.assertIn("Cannot send an event", body["error"])

    def test_3_another_accounts_worker_does_not_reach_the_instance(self):
        self.assertEqual(self.call("pop-b", "/create", id="mine", params='{"wait":true}')[0], 200)
        self.assertTrue(self.wait_status("pop-c", "mine", "waiting"))
        for pop in ("pop-a", "pop-b", "pop-c"):
            self.assertIn("instance.not_found", self.status(pop, "mine", host="other.test"))
            code, body = self.call(pop, "/event", host="other.test", id="mine", payload="x")
            self.assertIn("instance.not_found", body["error"])
            code, body = self.call(pop, "/control", host="other.test", id="mine", op="terminate")
            self.assertIn("instance.not_found", body["error"])
        # Its own instance of the same id is another one.
        code, body = self.call("pop-c", "/create", host="other.test", id="mine")
        self.assertEqual((code, body), (200, {"id": "mine"}))
        self.assertEqual(self.status("pop-b", "mine")["status"], "waiting")

    def test_4_hostile_calls_are_refused(self):
        # Params over 1 MiB, and a batch over what one forwarded call carries.
        code, body = self.call("pop-b", "/big", id="big", n=str(2 * 1024 * 1024))
        self.assertEqual(code, 400)
        self.assertIn("RangeError", body["error"])
        code, body = self.call("pop-b", "/big-batch", id="bb")
        self.assertEqual(code, 400)
        self.assertIn("RangeError", body["error"])
        self.assertIn("instance.not_found", self.status("pop-c", "bb-0"))
        # The home's calls with another PoP's id, or an old term; malformed
        # bodies; a submit for an id that is not valid.
        status, answer = self.origin_post("/sync/workflows/take", '{"pop_id":"pop-b","term":1}')
        self.assertEqual(status, 409, answer)
        self.assertIn("not the workflow home", answer)
        term = json.loads(self.origin.admin("GET", "/status")[1])["cron_term"]
        status, answer = self.origin_post("/sync/workflows/take",
                                          json.dumps({"pop_id": "pop-a", "term": term + 5}))
        self.assertEqual(status, 409, answer)
        status, answer = self.origin_post(
            "/sync/workflows/summaries",
            json.dumps({"pop_id": "pop-a", "term": term - 1, "summaries": []}))
        self.assertEqual(status, 409, answer)
        for body in ("{", "[]", '{"batch":true}', '{"batch":false,"commands":[{"op":"create"}]}',
                     '{"batch":false,"commands":[{"op":"pause","account":"","workflow":"flow",'
                     '"id":"-bad"}]}'):
            status, answer = self.origin_post("/sync/workflows/submit", body)
            self.assertEqual(status, 400, body + " -> " + answer)
        status, _ = _call(self.origin.port, "POST", "/sync/workflows/take", b"{}", "wrong-token")
        self.assertEqual(status, 403)
        # A worker that poisons its built-ins, passes Proxies (a revoked one
        # too) and ids whose toString throws gets errors or instances, and
        # the PoP and the home live on.
        response = self.pops["pop-b"].request("poisoned.test", "/?id=poison-1")
        self.assertEqual(response.status, 200, self.pops["pop-b"].log()[-3000:])
        results = json.loads(response.body)
        self.assertEqual(results[0], "ok", results)
        self.assertEqual(results[3], "ok", results)
        for i in (1, 2, 4, 5, 6):
            self.assertNotEqual(results[i], "ok", results)
        self.assertEqual(len(results), 7)
        self.assertTrue(wait_until(lambda: b'"complete"' in self.pops["pop-c"].request(
            "poisoned.test", "/status?id=poison-1").body, 30))
        self.assertIn(b'"output":{"n":1}', self.pops["pop-c"].request(
            "poisoned.test", "/status?id=poison-1").body)
        # The fleet goes on.
        self.assertEqual(self.call("pop-c", "/create", id="after-hostile")[0], 200)
        self.assertTrue(self.wait_status("pop-b", "after-hostile", "complete"))

    def test_5_kill_9_of_the_home_and_a_restart_resume_every_instance(self):
        for id in ("k1", "k2"):
            self.assertEqual(self.call("pop-b", "/create", id=id, params='{"wait":true}')[0], 200)
        for id in ("k1", "k2"):
            self.assertTrue(self.wait_status("pop-c", id, "waiting"))
        home = self.pops["pop-a"]
        home.proc.send_signal(signal.SIGKILL)
        home.proc.wait()
        home._stderr_thread.join(timeout=5)
        home._stdout_thread.join(timeout=5)
        home.proc.stdout.close()
        home.proc.stderr.close()
        # While the home is down: creates and events are kept at the origin.
        self.assertEqual(self.call("pop-b", "/create", id="k3", params='{"wait":true}')[0], 200)
        self.assertEqual(self.status("pop-c", "k3")["status"], "queued")
        self.assertEqual(self.call("pop-c", "/event", id="k1", payload="while-down"), (200, "sent"))
        home._start()
        self.assertTrue(self.wait_status("pop-b", "k1", "complete", 60), home.log()[-3000:])
        self.assertEqual(self.status("pop-b", "k1")["output"]["got"], "while-down")
        self.assertTrue(self.wait_status("pop-c", "k3", "waiting", 60))
        for id in ("k2", "k3"):
            self.assertEqual(self.call("pop-c", "/event", id=id, payload=id), (200, "sent"))
        for id in ("k2", "k3"):
            self.assertTrue(self.wait_status("pop-b", id, "complete", 60), home.log()[-3000:])
            self.assertEqual(self.status("pop-b", id)["output"]["got"], id)

    def test_6_with_the_origin_down_a_create_fails_saying_so(self):
        self.origin.stop(signal.SIGKILL)
        try:
            code, body = self.call("pop-b", "/create", id="lost")
            self.assertEqual(code, 400)
            self.assertIn("origin could not be reached", body["error"])
        finally:
            self.origin.start()
        self.assertTrue(wait_until(lambda: self.call("pop-b", "/create", id="found")[0] == 200, 30))
        self.assertTrue(self.wait_status("pop-c", "found", "complete", 60))
        self.assertIn("instance.not_found", self.status("pop-c", "lost"))


if __name__ == "__main__":
    unittest.main()
