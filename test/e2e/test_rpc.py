"""End-to-end: JS RPC over service bindings (cloudflare:workers). A caller
calls the methods of another worker's WorkerEntrypoint class, default or
named, under `edge dev` and deployed under `edge serve`: arguments and
results are structured clones, errors come back with their name and
message, what is not a public method of the class cannot be reached, a
value that cannot be cloned is a DataCloneError, the size of a message is
capped, each call is a subrequest, recursion stops at the chain's depth,
hostile values and poisoned built-ins on either side leave the process
alive, and another account's worker is unreachable."""
import datetime
import json
import time
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project

CALLEE = r"""
import { WorkerEntrypoint } from "cloudflare:workers";

let calls = 0;

class Base extends WorkerEntrypoint {
  inherited() { return "from the parent class"; }
}

export default class MathService extends Base {
  fetch(request) { return new Response("default fetch " + new URL(request.url).pathname); }
  async add(a, b) { return a + b; }
  echo(value) { return value; }
  whoami() {
    return { greeting: this.env.GREETING, hasWaitUntil: typeof this.ctx.waitUntil === "function",
             own: Object.keys(this).sort() };
  }
  fail(message) { throw new RangeError(message); }
  failCustom() {
    class MyError extends Error { constructor(m) { super(m); this.name = "MyError"; } }
    throw new MyError("custom");
  }
  throwValue() { throw 42; }
  giveFunction() { return () => 1; }
  giveSymbol() { return Symbol("s"); }
  giveBig(size) { return "x".repeat(size); }
  giveGetterThatThrows() { return { get boom() { throw new TypeError("result getter"); } }; }
  get version() { return "v1"; }
  count() { return ++calls; }
  never() { return new Promise(() => {}); }
  spin() { for (;;) {} }
  async recurse(depth) {
    try {
      return await this.env.SELF.recurse(depth + 1);
    } catch (error) {
      return `stopped at ${depth}: ${error.name}: ${error.message}`;
    }
  }
  #secret() { return "private"; }
  callsPrivate() { return this.#secret(); }
}

export class Admin extends WorkerEntrypoint {
  fetch() { return new Response("admin fetch"); }
  secret() { return "admin secret " + this.env.GREETING; }
}

export const plain = { fetch() { return new Response("plain object entrypoint"); } };
"""

CALLEE_CONFIG = ('[vars]\nGREETING = "hello"\n'
                 '[[services]]\nbinding = "SELF"\nservice = "math"\n')

# The caller runs one scenario per path and answers with JSON: {ok: value}
# or {error: "Name: message"}.
CALLER = r"""
function outcome(promise) {
  return promise.then((ok) => ({ ok }),
                      (error) => ({ error: `${error && error.name}: ${error && error.message}` }));
}

const scenarios = {
  async add(env) { return outcome(env.MATH.add(1, 2)); },
  async clone(env) {
    const cyclic = { name: "cyclic" };
    cyclic.self = cyclic;
    const sent = {
      map: new Map([[1, "one"]]), set: new Set(["a"]), date: new Date(5), regexp: /a+/gi,
      bytes: new Uint8Array([1, 2, 3]), buffer: new ArrayBuffer(4), nested: [[1], { x: [2] }],
      cyclic, big: 2n ** 70n, nothing: undefined, nan: NaN,
    };
    const got = await env.MATH.echo(sent);
    return { ok: {
      map: got.map instanceof Map && got.map.get(1), set: got.set instanceof Set && got.set.has("a"),
      date: got.date instanceof Date && got.date.getTime(), regexp: String(got.regexp),
      bytes: got.bytes instanceof Uint8Array && Array.from(got.bytes),
      buffer: got.buffer instanceof ArrayBuffer && got.buffer.byteLength,
      nested: got.nested, cyclic: got.cyclic.self === got.cyclic, big: String(got.big),
      nothing: "nothing" in got && got.nothing === undefined, nan: Number.isNaN(got.nan),
      copy: got !== sent,
    } };
  },
  async whoami(env) { return outcome(env.MATH.whoami()); },
  async inherited(env) { return outcome(env.MATH.inherited()); },
  async private(env) { return outcome(env.MATH.callsPrivate()); },
  async privateDirect(env) { return outcome(env.MATH["#secret"]()); },
  async fail(env) {
    try {
      await env.MATH.fail("bad input");
    } catch (error) {
      return { ok: { name: error.name, message: error.message, isRangeError: error instanceof RangeError } };
    }
  },
  async failCustom(env) { return outcome(env.MATH.failCustom()); },
  async throwValue(env) { return env.MATH.throwValue().then(() => ({ ok: "no" }), (value) => ({ ok: value })); },
  async missing(env) { return outcome(env.MATH.nothing(1)); },
  async constructor(env) { return outcome(env.MATH.constructor()); },
  async objectPrototype(env) { return outcome(env.MATH.hasOwnProperty("add")); },
  async envLeak(env) { return outcome(Promise.resolve(env.MATH.env)); },
  async ctxLeak(env) { return outcome(env.MATH.ctx()); },
  async property(env) { return outcome(Promise.resolve(env.MATH.version)); },
  async propertyCalled(env) { return outcome(env.MATH.version()); },
  async stubShape(env) {
    return { ok: { then: env.MATH.then, fetchIsFunction: typeof env.MATH.fetch,
                   sameFetch: env.MATH.fetch === env.MATH.fetch, tag: Object.prototype.toString.call(env.MATH),
                   memberType: typeof env.MATH.anything } };
  },
  async functionArgument(env) { return outcome(env.MATH.echo(() => 1)); },
  async functionResult(env) { return outcome(env.MATH.giveFunction()); },
  async symbolResult(env) { return outcome(env.MATH.giveSymbol()); },
  async proxyArgument(env) { return outcome(env.MATH.echo(new Proxy({}, {}))); },
  async revokedProxyArgument(env) {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return outcome(env.MATH.echo({ inside: proxy }));
  },
  async throwingGetterArgument(env) {
    return outcome(env.MATH.echo({ get boom() { throw new TypeError("argument getter"); } }));
  },
  async throwingGetterResult(env) { return outcome(env.MATH.giveGetterThatThrows()); },
  async sparseArray(env) {
    const huge = [];
    huge.length = 2 ** 32 - 1;
    huge[7] = "seven";
    const got = await env.MATH.echo(huge);
    return { ok: [got.length, got[7]] };
  },
  async hugeArgument(env) { return outcome(env.MATH.echo("x".repeat(33 * 1024 * 1024))); },
  async hugeResult(env) { return outcome(env.MATH.giveBig(33 * 1024 * 1024)); },
  async largeButAllowed(env) {
    const got = await env.MATH.echo("y".repeat(8 * 1024 * 1024));
    return { ok: got.length };
  },
  async named(env) {
    return { ok: [await env.ADMIN.secret(), await (await env.ADMIN.fetch("http://admin/")).text()] };
  },
  async namedMissingMethod(env) { return outcome(env.ADMIN.add(1, 2)); },
  async plainFetch(env) { return { ok: await (await env.PLAIN.fetch("http://plain/")).text() }; },
  async plainRpc(env) { return outcome(env.PLAIN.add(1, 2)); },
  async noEntrypoint(env) { return outcome(env.NOPE.add(1, 2)); },
  async noEntrypointFetch(env) { return outcome(env.NOPE.fetch("http://nope/")); },
  async defaultFetch(env) { return { ok: await (await env.MATH.fetch("http://math/path")).text() }; },
  async recurse(env) { return outcome(env.MATH.recurse(1)); },
  async subrequests(env) {
    let made = 0;
    try {
      for (;;) {
        await env.MATH.count();
        made++;
      }
    } catch (error) {
      return { ok: `failed after ${made}: ${error.name}: ${error.message}` };
    }
  },
  async poisonedCaller(env) {
    const saved = {
      then: Promise.prototype.then,
      iterator: Array.prototype[Symbol.iterator],
      species: Object.getOwnPropertyDescriptor(Promise, Symbol.species),
    };
    Object.defineProperty(Array.prototype, "0", { configurable: true, set() { throw new Error("Array setter"); } });
    Object.defineProperty(Object.prototype, "status", { configurable: true, set() { throw new Error("Object setter"); } });
    Promise.prototype.then = function () { throw new Error("poisoned then"); };
    Array.prototype[Symbol.iterator] = function () { throw new Error("poisoned iterator"); };
    Object.defineProperty(Promise, Symbol.species, { configurable: true, get() { throw new Error("species"); } });
    let result;
    try {
      result = { ok: [await env.MATH.add(2, 3), await env.MATH.echo([1, 2])] };
    } catch (error) {
      result = { error: `${error.name}: ${error.message}` };
    } finally {
      delete Array.prototype[0];
      delete Object.prototype.status;
      Promise.prototype.then = saved.then;
      Array.prototype[Symbol.iterator] = saved.iterator;
      Object.defineProperty(Promise, Symbol.species, saved.species);
    }
    return result;
  },
  async poisonedCallee(env) { return outcome(env.POISONED.add(4, 5)); },
  async poisonedCalleeThrows(env) { return outcome(env.POISONED.fail()); },
  async never(env) { return outcome(env.MATH.never()); },
  async spin(env) { return outcome(env.MATH.spin()); },
};

export default {
  async fetch(request, env) {
    const name = new URL(request.url).pathname.slice(1);
    const run = scenarios[name];
    if (run === undefined) return new Response("no such scenario", { status: 404 });
    return Response.json(await run(env));
  },
};
"""

CALLER_CONFIG = ('[[services]]\nbinding = "MATH"\nservice = "math"\n'
                 '[[services]]\nbinding = "ADMIN"\nservice = "math"\nentrypoint = "Admin"\n'
                 '[[services]]\nbinding = "PLAIN"\nservice = "math"\nentrypoint = "plain"\n'
                 '[[services]]\nbinding = "NOPE"\nservice = "math"\nentrypoint = "Missing"\n'
                 '[[services]]\nbinding = "POISONED"\nservice = "poisoned"\n')

# A callee that poisoned its own built-ins at its top level.
POISONED = r"""
import { WorkerEntrypoint } from "cloudflare:workers";
// Null-prototype descriptors: defineProperty itself reads value and get.
Object.defineProperty(Array.prototype, "0", { __proto__: null, configurable: true, set() { throw new Error("Array setter"); } });
Promise.prototype.then = function () { throw new Error("poisoned then"); };
Array.prototype[Symbol.iterator] = function () { throw new Error("poisoned iterator"); };
Object.defineProperty(Promise, Symbol.species, { __proto__: null, get() { throw new Error("species"); } });
Object.defineProperty(Object.prototype, "get", { __proto__: null, configurable: true, get() { throw new Error("get getter"); } });
Object.defineProperty(Object.prototype, "value", { __proto__: null, configurable: true, get() { throw new Error("value getter"); }, set() { throw new Error("value setter"); } });
export default class extends WorkerEntrypoint {
  // Explicit: a default derived constructor spreads its arguments through
  // the Array iterator this worker broke.
  constructor(ctx, env) { super(ctx, env); }
  async add(a, b) { return a + b; }
  fail() { throw new TypeError("poisoned callee failed"); }
}
"""

NOT_IMPLEMENTED = 'TypeError: The RPC receiver does not implement the method "{}".'


class RpcChecks:
    """The scenarios every host must pass; `call(name)` runs one."""

    def call(self, name):
        raise NotImplementedError

    def assertOk(self, name, expected):
        self.assertEqual(self.call(name), {"ok": expected})

    def assertError(self, name, expected):
        got = self.call(name)
        self.assertIn("error", got, got)
        self.assertTrue(got["error"].startswith(expected), got)

    def test_a_method_is_called_with_its_arguments(self):
        self.assertOk("add", 3)

    def test_arguments_and_results_are_structured_clones(self):
        self.assertOk("clone", {
            "map": "one", "set": True, "date": 5, "regexp": "/a+/gi", "bytes": [1, 2, 3],
            "buffer": 4, "nested": [[1], {"x": [2]}], "cyclic": True,
            "big": str(2 ** 70), "nothing": True, "nan": True, "copy": True})

    def test_the_instance_has_env_and_ctx(self):
        self.assertOk("whoami", {"greeting": "hello", "hasWaitUntil": True, "own": ["ctx", "env"]})

    def test_inherited_and_private_use(self):
        self.assertOk("inherited", "from the parent class")
        self.assertOk("private", "private")
        self.assertError("privateDirect", NOT_IMPLEMENTED.format("#secret"))

    def test_errors_keep_their_name_and_message(self):
        self.assertOk("fail", {"name": "RangeError", "message": "bad input", "isRangeError": True})
        # As V8's serializer (and Workers) do: other names become Error.
        self.assertError("failCustom", "Error: custom")
        self.assertOk("throwValue", 42)

    def test_only_public_methods_of_the_class_are_reachable(self):
        self.assertError("missing", NOT_IMPLEMENTED.format("nothing"))
        self.assertError("constructor", NOT_IMPLEMENTED.format("constructor"))
        self.assertError("objectPrototype", NOT_IMPLEMENTED.format("hasOwnProperty"))
        self.assertError("envLeak", NOT_IMPLEMENTED.format("env"))
        self.assertError("ctxLeak", NOT_IMPLEMENTED.format("ctx"))
        self.assertError("propertyCalled", NOT_IMPLEMENTED.format("version"))

    def test_a_property_is_read_by_awaiting_it(self):
        self.assertOk("property", "v1")

    def test_the_binding_is_a_fetcher_with_rpc_members(self):
        self.assertOk("stubShape", {"fetchIsFunction": "function", "sameFetch": True,
                                    "tag": "[object Fetcher]", "memberType": "function"})

    def test_what_cannot_be_cloned_is_a_data_clone_error(self):
        self.assertError("functionArgument", "DataCloneError: () => 1 could not be cloned.")
        self.assertError("functionResult", "DataCloneError: () => 1 could not be cloned.")
        self.assertError("symbolResult", "DataCloneError: Symbol(s) could not be cloned.")
        self.assertError("proxyArgument", "DataCloneError: #<Object> could not be cloned.")
        self.assertError("revokedProxyArgument", "DataCloneError:")

    def test_throwing_getters_reject_the_call(self):
        self.assertError("throwingGetterArgument", "TypeError: argument getter")
        self.assertError("throwingGetterResult", "TypeError: result getter")

    def test_sizes(self):
        self.assertOk("sparseArray", [2 ** 32 - 1, "seven"])
        self.assertOk("largeButAllowed", 8 * 1024 * 1024)
        self.assertError("hugeArgument",
                         "RangeError: RPC arguments are limited to 32 MiB once serialized")
        self.assertError("hugeResult",
                         "RangeError: RPC results are limited to 32 MiB once serialized")

    def test_named_entrypoints(self):
        self.assertOk("named", ["admin secret hello", "admin fetch"])
        self.assertError("namedMissingMethod", NOT_IMPLEMENTED.format("add"))
        self.assertOk("plainFetch", "plain object entrypoint")
        self.assertError("plainRpc", "TypeError: The receiving Worker does not allow its methods "
                                     "to be called over RPC")
        self.assertError("noEntrypoint", 'TypeError: The worker has no entrypoint named "Missing"')
        # As a callee that throws: the fetch rejects.
        got = self.call("noEntrypointFetch")
        self.assertRegex(got.get("error", ""),
                         r'^Error: Service binding to "(\w+/)?math": Worker threw exception$')
        self.assertOk("defaultFetch", "default fetch /path")

    def test_recursion_stops_at_the_chain_depth(self):
        self.assertOk("recurse", "stopped at 31: Error: Subrequest depth limit exceeded. This "
                                 "request recursed through Workers too many times. This can "
                                 "happen e.g. if you have a Worker or Durable Object that calls "
                                 "other Workers or objects recursively.")

    def test_each_call_is_a_subrequest(self):
        got = self.call("subrequests")["ok"]
        self.assertTrue(got.startswith(f"failed after {self.SUBREQUESTS}: Error: Too many "
                                       "subrequests."), got)

    def test_poisoned_built_ins_on_either_side(self):
        self.assertOk("poisonedCaller", [5, [1, 2]])
        self.assertOk("poisonedCallee", 9)
        self.assertError("poisonedCalleeThrows", "TypeError: poisoned callee failed")
        self.assertOk("add", 3)


class RpcDevTest(RpcChecks, unittest.TestCase):
    SUBREQUESTS = 20

    @classmethod
    def setUpClass(cls):
        cls.caller = Project({"index.js": CALLER},
                             config='name = "front"\nmain = "index.js"\n' + CALLER_CONFIG)
        cls.callee = Project({"index.js": CALLEE},
                             config='name = "math"\nmain = "index.js"\n' + CALLEE_CONFIG)
        cls.poisoned = Project({"index.js": POISONED},
                               config='name = "poisoned"\nmain = "index.js"\n')
        cls.edge = EdgeProcess(cls.caller.dir, cls.callee.dir, cls.poisoned.dir,
                               "--subrequest-limit", str(cls.SUBREQUESTS))

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.caller, cls.callee, cls.poisoned)

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def call(self, name):
        response = self.edge.request("GET", "/" + name)
        self.assertEqual(response.status, 200, response.body)
        return json.loads(response.body)


class RpcServeTest(RpcChecks, unittest.TestCase):
    SUBREQUESTS = 20

    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls, threads=2)
        cls.node.deploy_worker("math", CALLEE, ["math.rpc.test/*"],
                               CALLEE_CONFIG + "[limits]\ncpu_ms = 1000\nmemory_mb = 256\n")
        cls.node.deploy_worker("poisoned", POISONED, ["poisoned.rpc.test/*"])
        cls.node.deploy_worker("front", CALLER, ["front.rpc.test/*"],
                               CALLER_CONFIG + "[limits]\ncpu_ms = 5000\nwall_ms = 8000\n"
                               f"memory_mb = 256\nsubrequests = {cls.SUBREQUESTS}\n")

    def tearDown(self):
        self.assertTrue(self.node.alive(), "edge serve died:\n" + self.node.log())

    def call(self, name):
        response = self.node.request("front.rpc.test", "/" + name)
        self.assertEqual(response.status, 200, response.body)
        return json.loads(response.body)

    def test_calls_show_as_invocations_of_the_callee(self):
        def invocations():
            status, usage = self.node.admin_json("GET", "/usage")
            self.assertEqual(status, 200, usage)
            return usage["workers"].get("math", {}).get("invocations", 0)

        # The access log is written in batches: an earlier test's record may
        # arrive late, so only records stamped from this call on count.
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        started = started.replace("+00:00", "Z")

        def records():
            return [r for r in self.node.access_records()
                    if r["worker"] == "math" and r["remote"] == "service-binding"
                    and r["url"] == "rpc:add" and r["method"] == "RPC" and r["time"] >= started]

        before = invocations()
        self.assertOk("add", 3)
        deadline = time.time() + 10
        while (invocations() == before or not records()) and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(invocations() - before, 1)
        self.assertEqual(len(records()), 1, self.node.access_records())

    def test_limits_end_a_callee_that_never_settles_or_spins(self):
        # The caller's wall limit ends the request whose callee never answers.
        started = time.time()
        response = self.node.request("front.rpc.test", "/never")
        self.assertGreaterEqual(response.status, 500, response.body)
        self.assertLess(time.time() - started, 20)
        # A callee over its own CPU limit (1 s, less than the caller's 5 s)
        # is stopped and the call rejects with the limit; the callee,
        # quarantined, keeps answering the caller (still on a serving
        # thread) across the thread hop.
        got = self.call("spin")
        self.assertRegex(got.get("error", ""), r'^Error: Service binding to "(\w+/)?math": Worker '
                                               r'exceeded its CPU time limit of 1000 ms$')
        deadline = time.time() + 10
        while time.time() < deadline and "[math] hit its CPU" not in self.node.log():
            time.sleep(0.05)
        self.assertIn("[math] hit its CPU or memory limit", self.node.log())
        self.assertNotIn("[front] hit its CPU", self.node.log())
        self.assertOk("add", 3)
        self.assertOk("clone", self.call("clone")["ok"])
        self.assertOk("named", ["admin secret hello", "admin fetch"])
        self.assertOk("largeButAllowed", 8 * 1024 * 1024)
        self.assertError("functionResult", "DataCloneError: () => 1 could not be cloned.")


SPY = r"""
export default {
  async fetch(request, env) {
    try {
      return new Response("reached: " + (await env.SVC.add(1, 2)));
    } catch (error) {
      return new Response(`refused: ${error.name}: ${error.message}`);
    }
  },
};
"""


class RpcAccountsTest(unittest.TestCase):
    def test_another_accounts_worker_is_unreachable(self):
        node = NodeProcess(threads=1)
        try:
            acme = node.create_account("acme", "*.acme.test")
            mallory = node.create_account("mallory", "*.mallory.test")
            for name, source, config, token in (
                    ("math", CALLEE, CALLEE_CONFIG, acme),
                    ("friend", SPY, '[[services]]\nbinding = "SVC"\nservice = "math"\n', acme),
                    ("spy", SPY, '[[services]]\nbinding = "SVC"\nservice = "math"\n'
                                 'entrypoint = "Admin"\n', mallory)):
                project = node.add_worker(name, source, [f"{name}.{'mallory' if token == mallory else 'acme'}.test/*"], config)
                result = node.cli("deploy", project.dir, "--to", node.admin_url, "--token-file", token)
                self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(node.request("friend.acme.test").body, b"reached: 3")
            self.assertEqual(node.request("spy.mallory.test").body,
                             b"refused: Error: Service binding to \"mallory/math\": no worker "
                             b"named 'math' is deployed in this account")
            self.assertTrue(node.alive(), node.log())
        finally:
            node.remove()


if __name__ == "__main__":
    unittest.main()
