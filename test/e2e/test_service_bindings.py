"""End-to-end: service bindings between workers loaded by one `edge dev`."""
import os
import time
import unittest

from edge_harness import THREE_CHUNKS_JS, EdgeProcess, NodeProcess, Project, SOURCE_DIR

CALLER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/missing") return env.NOBODY.fetch(request);
    // Pass the request on (method, headers, body) and return the other
    // worker's response as is: its body streams through.
    return env.BACKEND.fetch(request);
  },
};
"""

BACKEND = THREE_CHUNKS_JS + r"""
let calls = 0;
export default {
  async fetch(request) {
    calls++;
    const url = new URL(request.url);
    if (url.pathname === "/stream") {
      return new Response(threeChunks("chunk"), { headers: { "x-backend": "yes" } });
    }
    if (url.pathname === "/throw") throw new Error("backend failure");
    const body = request.body ? await request.text() : "";
    return new Response(`${VERSION} ${request.method} ${url.pathname} ${body} ` +
                        `${request.headers.get("x-token")} #${calls}`);
  },
};
const VERSION = "v1";
"""


class ServiceBindingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.caller = Project({"index.js": CALLER}, config=(
            'name = "caller"\nmain = "index.js"\n'
            '[[services]]\nbinding = "BACKEND"\nservice = "backend"\n'
            '[[services]]\nbinding = "NOBODY"\nservice = "not-loaded"\n'))
        cls.backend = Project({"index.js": BACKEND},
                              config='name = "backend"\nmain = "index.js"\n')
        cls.edge = EdgeProcess(cls.caller.dir, cls.backend.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.caller, cls.backend)

    def test_request_goes_through_and_state_is_the_other_workers(self):
        response = self.edge.request("POST", "/echo", body=b"payload",
                                     headers={"X-Token": "t1"})
        self.assertEqual(response.status, 200)
        self.assertRegex(response.body.decode(), r"^v1 POST /echo payload t1 #\d+$")

    def test_streamed_body_passes_through(self):
        response = self.edge.request("GET", "/stream")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("x-backend"), "yes")
        self.assertEqual(response.body, b"chunk0;chunk1;chunk2;")

    def test_errors_in_the_other_worker_reject_the_call(self):
        self.assertEqual(self.edge.request("GET", "/throw").status, 500)
        self.assertTrue(self.edge.wait_for_log(r"\[backend\] Error: backend failure"),
                        self.edge.log())

    def test_a_worker_not_loaded_is_a_clear_error(self):
        self.assertEqual(self.edge.request("GET", "/missing").status, 500)
        self.assertTrue(self.edge.wait_for_log(r"no worker named 'not-loaded' is loaded"),
                        self.edge.log())

    def test_the_other_worker_reloads_on_its_own(self):
        self.backend.write("index.js", BACKEND.replace('"v1"', '"v2"'))
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.edge.request("GET", "/x").body.startswith(b"v2"):
                break
            time.sleep(0.05)
        self.assertTrue(self.edge.request("GET", "/x").body.startswith(b"v2"), self.edge.log())


# A worker bound to itself: recursion, fan-out and a call from a timer after
# its response went out.
SELF_CALLER = r"""
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/recurse") {
      const depth = Number(url.searchParams.get("depth"));
      try {
        const response = await env.SELF.fetch(`http://self/recurse?depth=${depth + 1}`);
        return new Response(await response.text());
      } catch (error) {
        return new Response(`stopped at ${depth}: ${error.name}: ${error.message}`);
      }
    }
    if (url.pathname === "/fanout") {
      let made = 0;
      try {
        for (;;) {
          await (await env.SELF.fetch("http://self/leaf")).text();
          made++;
        }
      } catch (error) {
        return new Response(`failed after ${made}: ${error.name}: ${error.message}`);
      }
    }
    if (url.pathname === "/late") {
      // A continuation of this invocation, run after it has ended (when
      // /release resolves the gate): V8 carries the invocation to it.
      const gate = new Promise((resolve) => { globalThis.releaseLate = resolve; });
      gate.then(async () => {
        try {
          await env.SELF.fetch("http://self/leaf");
          console.log("late call: went through");
        } catch (error) {
          console.log(`late call: ${error.name}: ${error.message}`);
        }
      });
      // A timer of this invocation: cleared when it ends, never fires.
      setTimeout(() => console.log("late timer fired"), 50);
      return new Response("sent");
    }
    if (url.pathname === "/release") {
      globalThis.releaseLate();
      return new Response("released");
    }
    if (url.pathname === "/waituntil") {
      ctx.waitUntil((async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const text = await (await env.SELF.fetch("http://self/leaf")).text();
        console.log(`waitUntil call: ${text}`);
      })());
      return new Response("sent");
    }
    return new Response("leaf");
  },
};
"""


class ServiceBindingLimitTest(unittest.TestCase):
    """Issue 10 part 5: service-binding calls are subrequests of the caller,
    one top-level request reaches at most 32 invocations, and an invocation
    that ended can call nothing."""

    @classmethod
    def setUpClass(cls):
        cls.project = Project({"index.js": SELF_CALLER}, config=(
            'name = "self"\nmain = "index.js"\n'
            '[[services]]\nbinding = "SELF"\nservice = "self"\n'))
        cls.edge = EdgeProcess(cls.project.dir, "--subrequest-limit", "40")

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def test_recursion_stops_at_32_invocations(self):
        response = self.edge.request("GET", "/recurse?depth=1")
        self.assertEqual(response.status, 200)
        self.assertEqual(
            response.body.decode(),
            "stopped at 32: Error: Subrequest depth limit exceeded. This request recursed "
            "through Workers too many times. This can happen e.g. if you have a Worker or "
            "Durable Object that calls other Workers or objects recursively.")
        # The process is fine, and the next request starts a chain of its own.
        self.assertEqual(self.edge.request("GET", "/leaf").body, b"leaf")
        self.assertTrue(self.edge.request("GET", "/recurse?depth=1").body.startswith(
            b"stopped at 32: "))

    def test_fan_out_stops_at_32_invocations(self):
        # 31 calls reach 31 more invocations (32 with the top-level one):
        # the 32nd call is refused before the subrequest limit (40).
        response = self.edge.request("GET", "/fanout")
        self.assertTrue(response.body.startswith(
            b"failed after 31: Error: Subrequest depth limit exceeded."), response.body)

    def test_a_call_from_an_ended_invocation_is_refused(self):
        self.assertEqual(self.edge.request("GET", "/late").body, b"sent")
        self.assertEqual(self.edge.request("GET", "/release").body, b"released")
        self.assertTrue(self.edge.wait_for_log(
            r'late call: TypeError: Service binding to "self": the invocation that made this '
            r'call has ended'), self.edge.log())
        self.assertNotIn("late call: went through", self.edge.log())
        self.assertNotIn("late timer fired", self.edge.log())

    def test_a_call_from_wait_until_after_the_response_goes_through(self):
        self.assertEqual(self.edge.request("GET", "/waituntil").body, b"sent")
        self.assertTrue(self.edge.wait_for_log(r"waitUntil call: leaf"), self.edge.log())


class ServiceBindingSubrequestLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.caller = Project({"index.js": SELF_CALLER.replace("env.SELF", "env.LEAF")}, config=(
            'name = "fanner"\nmain = "index.js"\n'
            '[[services]]\nbinding = "LEAF"\nservice = "leaf"\n'))
        cls.leaf = Project({"index.js": SELF_CALLER},
                           config='name = "leaf"\nmain = "index.js"\n')
        cls.edge = EdgeProcess(cls.caller.dir, cls.leaf.dir, "--subrequest-limit", "5")

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.caller, cls.leaf)

    def test_more_calls_than_the_subrequest_limit_fail(self):
        response = self.edge.request("GET", "/fanout")
        self.assertEqual(
            response.body.decode(),
            "failed after 5: Error: Too many subrequests. This invocation may make 5 "
            "subrequests (each fetch(), each redirect it follows, each service-binding call "
            "and each Cache API put, match or delete counts as one).")


class ServiceBindingExampleTest(unittest.TestCase):
    def test_example(self):
        root = os.path.join(SOURCE_DIR, "examples", "service-binding")
        edge = EdgeProcess(os.path.join(root, "front"), os.path.join(root, "auth"))
        try:
            ok = edge.request("GET", "/", headers={"Authorization": "Bearer secret-token"})
            self.assertEqual((ok.status, ok.body), (200, b"Hello, ada!\n"))
            self.assertEqual(edge.request("GET", "/").status, 403)
        finally:
            self.assertEqual(edge.stop(), 0)


if __name__ == "__main__":
    unittest.main()


# One worker of a chain: spins its share (the first number of ?spin=, in ms
# of wall time, so never more CPU than that), then calls env.NEXT with the
# rest and answers with the chain of names.
CHAIN_LINK = r"""
function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
export default {
  async fetch(request, env) {
    const spins = (new URL(request.url).searchParams.get("spin") || "0").split(",");
    spin(Number(spins[0]));
    if (env.NEXT === undefined || spins.length === 1) return new Response(env.NAME);
    const answer = await env.NEXT.fetch("http://next/?spin=" + spins.slice(1).join(","));
    return new Response(env.NAME + ">" + (await answer.text()), { status: answer.status });
  },
};
"""


class ServiceBindingCpuTest(unittest.TestCase):
    """Issue 10 part 5: the workers a request reaches through service
    bindings share its CPU limit. front (cpu_ms = 200) calls mid (200),
    which calls back (5000: a callee's larger limit does not extend the
    chain)."""

    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls, threads=2)
        for name, target, cpu_ms in (("front", "mid", 200), ("mid", "back", 200),
                                     ("back", None, 5000)):
            config = f'[vars]\nNAME = "{name}"\n[limits]\ncpu_ms = {cpu_ms}\n'
            if target:
                config += f'[[services]]\nbinding = "NEXT"\nservice = "{target}"\n'
            cls.node.deploy_worker(name, CHAIN_LINK, [f"{name}.chain.test/*"], config)

    def invocations(self):
        status, usage = self.node.admin_json("GET", "/usage")
        self.assertEqual(status, 200, usage)
        return {name: usage["workers"].get(name, {}).get("invocations", 0)
                for name in ("front", "mid", "back")}

    def assertServedWithinBudget(self):
        response = self.node.request("front.chain.test", "/?spin=10,10,10")
        self.assertEqual((response.status, response.body), (200, b"front>mid>back"))

    def test_a_chain_within_the_budget_is_served(self):
        before = self.invocations()
        self.assertServedWithinBudget()
        after = self.invocations()
        self.assertEqual({name: after[name] - before[name] for name in after},
                         {"front": 1, "mid": 1, "back": 1})

    def test_a_chain_over_the_top_level_budget_is_stopped(self):
        before = self.invocations()
        # front and mid spin up to 80 ms each, back up to 1500 ms: each
        # within its own limit, together over front's 200 ms. back is
        # stopped when the chain's budget runs out; mid and front, whose
        # chain has nothing left, are stopped as they take its failure.
        response = self.node.request("front.chain.test", "/?spin=80,80,1500")
        self.assertEqual(response.status, 500, response.body)
        self.assertIn(b"Worker exceeded its CPU time limit of 200 ms", response.body)
        self.assertTrue(self.node.alive(), self.node.log())
        # Each invocation shows under its own worker, back's as a service
        # call stopped at the CPU limit.
        deadline = time.time() + 10
        while True:
            after = self.invocations()
            records = {r["worker"]: r for r in self.node.access_records()
                       if r.get("url", "").endswith(("spin=80,80,1500", "spin=80,1500",
                                                     "spin=1500"))}
            if len(records) == 3 or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual({name: after[name] - before[name] for name in after},
                         {"front": 1, "mid": 1, "back": 1})
        self.assertEqual(sorted(records), ["back", "front", "mid"], records)
        self.assertEqual(records["back"]["remote"], "service-binding", records)
        for name in ("front", "mid", "back"):
            self.assertEqual(records[name]["outcome"], "exceededCpu", records)
        # The next request starts a chain of its own, with fresh isolates.
        self.assertServedWithinBudget()
