"""edge-sync and R2: the origin's store is the home of every bucket, and a
worker on any PoP reads and writes it through the origin. An origin, two
PoPs (pop-a, pop-b) syncing from it directly, a relay and a PoP (pop-c)
below it. A put on one PoP is read, listed and deleted on the other; ranges
and conditionals answer through a PoP as on one node; a multipart upload
takes parts from two PoPs; a bucket notification reaches the consumer on
the queues' home; with the origin down, calls fail with a clear error and
work again once it is back; a put that resolved survives `kill -9` of the
origin; a 64 MiB put and get pass through a PoP in bounded memory on both
sides; hostile inputs through the remote path leave the PoP alive; below a
relay, calls fail with an error saying why; `edge r2 ... --to ORIGIN`
reaches the same buckets; and bindings/r2/r2_test.js and
r2_multipart_test.js pass on a PoP."""
import hashlib
import json
import os
import signal
import socket
import threading
import time
import unittest
from urllib.parse import quote

from edge_harness import Project, Reader, read_response
from sync_harness import FleetKeys, OriginProcess, start_pop, wait_until

HOST = "fleetr2.test"
TESTS_HOST = "r2tests.test"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

WORKER = r"""
function json(value, status = 200) {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
}
function meta(object) {
  if (object === null) return null;
  return { key: object.key, size: object.size, etag: object.etag, version: object.version,
           uploaded: object.uploaded.getTime(), httpMetadata: object.httpMetadata,
           customMetadata: object.customMetadata, checksums: object.checksums.toJSON(),
           range: object.range ?? null };
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = url.searchParams.get("key");
    try {
      switch (url.pathname) {
        case "/put": {
          const put = await env.BUCKET.put(key, request.body, {
            httpMetadata: { contentType: request.headers.get("content-type") ?? "application/octet-stream" },
            customMetadata: { from: url.searchParams.get("from") ?? "" },
            sha256: url.searchParams.get("sha256") ?? undefined,
          });
          return json(meta(put));
        }
        case "/get": {
          const options = {};
          if (url.searchParams.has("offset")) {
            options.range = { offset: Number(url.searchParams.get("offset")) };
            if (url.searchParams.has("length")) options.range.length = Number(url.searchParams.get("length"));
          }
          if (url.searchParams.has("suffix")) options.range = { suffix: Number(url.searchParams.get("suffix")) };
          if (url.searchParams.has("ifMatch")) options.onlyIf = { etagMatches: url.searchParams.get("ifMatch") };
          if (url.searchParams.has("ifNoneMatch")) options.onlyIf = { etagDoesNotMatch: url.searchParams.get("ifNoneMatch") };
          const object = await env.BUCKET.get(key, options);
          if (object === null) return json(null, 404);
          if (!("body" in object)) return json({ meta: meta(object), body: null }, 412);
          if (url.searchParams.has("stream")) {
            return new Response(object.body, { headers: { etag: object.httpEtag } });
          }
          return json({ meta: meta(object), body: await object.text() });
        }
        case "/head":
          return json(meta(await env.BUCKET.head(key)));
        case "/list": {
          const listed = await env.BUCKET.list({
            prefix: url.searchParams.get("prefix") ?? undefined,
            delimiter: url.searchParams.get("delimiter") ?? undefined,
            include: ["customMetadata"],
          });
          return json({ keys: listed.objects.map((o) => o.key), prefixes: listed.delimitedPrefixes,
                        custom: listed.objects.map((o) => o.customMetadata), truncated: listed.truncated });
        }
        case "/delete":
          await env.BUCKET.delete(url.searchParams.getAll("key"));
          return json({ deleted: true });
        case "/mpu/create":
          return json({ uploadId: (await env.BUCKET.createMultipartUpload(key)).uploadId });
        case "/mpu/part": {
          const upload = env.BUCKET.resumeMultipartUpload(key, url.searchParams.get("id"));
          const part = await upload.uploadPart(Number(url.searchParams.get("n")), request.body);
          return json(part);
        }
        case "/mpu/complete": {
          const upload = env.BUCKET.resumeMultipartUpload(key, url.searchParams.get("id"));
          return json(meta(await upload.complete(await request.json())));
        }
        case "/kv":
          return new Response((await env.DATA.get(key)) ?? "missing");
        case "/hostile":
          return json(await hostile(env));
      }
    } catch (error) {
      return json({ error: String(error), name: error?.name }, 500);
    }
    return new Response("fleetr2");
  },
  async queue(batch, env) {
    for (const message of batch.messages) {
      await env.DATA.put("event:" + message.body.action + ":" + message.body.object.key,
                         JSON.stringify(message.body));
      message.ack();
    }
  },
};

// What a hostile tenant throws at the remote path: each must end in an
// error or a result, never a crash or a hang.
async function hostile(env) {
  const outcomes = {};
  const attempt = async (name, fn) => {
    try {
      const value = await fn();
      outcomes[name] = "ok:" + (value === null ? "null" : typeof value);
    } catch (error) {
      outcomes[name] = "error:" + error.name;
    }
  };
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  await attempt("revoked proxy options", () => env.BUCKET.put("h/revoked", "x", revocable.proxy));
  await attempt("proxy key", () => env.BUCKET.get(new Proxy({}, { get() { throw new Error("trap"); } })));
  await attempt("throwing toString", () => env.BUCKET.head({ toString() { throw new RangeError("no"); } }));
  await attempt("huge key", () => env.BUCKET.put("k".repeat(5000), "x"));
  await attempt("huge metadata", () => env.BUCKET.put("h/meta", "x", { customMetadata: { a: "v".repeat(10000) } }));
  await attempt("delete too many", () => env.BUCKET.delete(Array.from({ length: 1001 }, (_, i) => "k" + i)));
  // A stream that promises more than it ever gives: cancelled, nothing stored.
  const { readable, writable } = new FixedLengthStream(1 << 20);
  const writer = writable.getWriter();
  writer.write(new Uint8Array(1000));
  const never = env.BUCKET.put("h/never", readable);
  await new Promise((resolve) => setTimeout(resolve, 200));
  writer.abort(new Error("gone"));
  await attempt("aborted stream", () => never);
  // Poisoned built-ins while the calls go out and their answers come back.
  const then = Promise.prototype.then;
  const iterator = Array.prototype[Symbol.iterator];
  const species = Object.getOwnPropertyDescriptor(Array, Symbol.species);
  Object.defineProperty(Object.prototype, "etag", { get() { throw new Error("poisoned"); }, configurable: true });
  Array.prototype[Symbol.iterator] = function* () { throw new Error("poisoned iterator"); };
  Object.defineProperty(Array, Symbol.species, { get() { throw new Error("poisoned species"); }, configurable: true });
  try {
    await attempt("poisoned put", () => env.BUCKET.put("h/poisoned", "fine"));
    await attempt("poisoned list", () => env.BUCKET.list({ prefix: "h/" }));
    await attempt("poisoned get", () => env.BUCKET.get("h/poisoned"));
  } finally {
    delete Object.prototype.etag;
    Array.prototype[Symbol.iterator] = iterator;
    Object.defineProperty(Array, Symbol.species, species);
  }
  Promise.prototype.then = function () { throw new Error("poisoned then"); };
  let poisonedThen;
  try {
    poisonedThen = env.BUCKET.head("h/poisoned");
  } finally {
    Promise.prototype.then = then;
  }
  await attempt("poisoned then", () => poisonedThen);
  const stored = await env.BUCKET.get("h/poisoned");
  outcomes.stored = stored === null ? null : await stored.text();
  outcomes.never = await env.BUCKET.head("h/never");
  return outcomes;
}
"""

CONFIG = f"""name = "fleetr2"
main = "index.js"
routes = ["{HOST}/*"]
[limits]
cpu_ms = 30000
[[kv_namespaces]]
binding = "DATA"
id = "data"
[[r2_buckets]]
binding = "BUCKET"
bucket_name = "fleet-bucket"
[[queues.consumers]]
queue = "r2-events"
max_batch_size = 10
max_batch_timeout = 0
[[r2_event_notifications]]
bucket = "fleet-bucket"
queue = "r2-events"
event_types = ["object-create", "object-delete"]
prefix = "notify/"
"""

# bindings/r2's JavaScript tests, run by a worker on a PoP the way
# `edge test` runs them: one request per test.
RUNNER = r"""
import * as main from "./bindings/r2/r2_test.js";
import * as multipart from "./bindings/r2/r2_multipart_test.js";
const files = { main, multipart };
function collect(module) {
  const tests = module.default;
  return Object.entries(tests).filter(([, value]) => typeof value === "function");
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const file = files[url.searchParams.get("file")];
    if (url.pathname === "/names") return new Response(JSON.stringify(collect(file).map(([n]) => n)));
    const name = url.searchParams.get("name");
    const [, test] = collect(file).find(([n]) => n === name);
    try {
      await test.call(file.default, env);
      return new Response("ok");
    } catch (error) {
      return new Response(String((error && error.stack) || error), { status: 500 });
    }
  },
};
"""

RUNNER_CONFIG = f"""name = "r2tests"
main = "runner.js"
routes = ["{TESTS_HOST}/*"]
[limits]
cpu_ms = 30000
[[r2_buckets]]
binding = "BUCKET"
bucket_name = "test-bucket"
[[r2_buckets]]
binding = "OTHER"
bucket_name = "other-bucket"
"""


def vm_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakRss:
    """Samples a process's resident memory every 20 ms while in use."""

    def __init__(self, pid):
        self.pid = pid
        self.baseline = vm_kib(pid, "VmRSS")
        self.peak = self.baseline
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, vm_kib(self.pid, "VmRSS"))
            time.sleep(0.02)

    def growth_mib(self):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        return (self.peak - self.baseline) / 1024


class SyncR2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.addClassCleanup(cls.keys.remove)
        cls.origin = OriginProcess(cls.keys, extra=["--cron-home", "pop-a"])
        cls.addClassCleanup(cls.origin.remove)
        cls.pops = {}
        for pop_id in ("pop-a", "pop-b"):
            cls.pops[pop_id] = start_pop(cls.keys, cls.origin.url, pop_id)
            cls.addClassCleanup(cls.pops[pop_id].remove)
        cls.relay = start_pop(cls.keys, cls.origin.url, "relay-1", relay=True)
        cls.addClassCleanup(cls.relay.remove)
        cls.below = start_pop(cls.keys, cls.relay.admin_url, "pop-c")
        cls.addClassCleanup(cls.below.remove)
        project = Project({"index.js": WORKER}, config=CONFIG)
        cls.addClassCleanup(project.remove)
        result = cls.origin.deploy(project.dir)
        assert result.returncode == 0, result.stderr
        for node in [*cls.pops.values(), cls.below]:
            assert wait_until(lambda: node.request(HOST).body == b"fleetr2", 30), node.log()

    def call(self, pop, path, method="GET", body=b"", headers=None):
        response = self.pops[pop].request(HOST, path, method=method, body=body, headers=headers,
                                          timeout=120)
        return response.status, json.loads(response.body) if response.body else None

    def test_1_a_put_on_one_pop_is_read_listed_and_deleted_on_another(self):
        status, put = self.call("pop-a", "/put?key=docs/a.txt&from=pop-a", "PUT", b"hello fleet",
                                {"content-type": "text/plain"})
        self.assertEqual(status, 200, put)
        self.assertEqual(put["etag"], hashlib.md5(b"hello fleet").hexdigest())
        status, got = self.call("pop-b", "/get?key=docs/a.txt")
        self.assertEqual(status, 200, got)
        self.assertEqual(got["body"], "hello fleet")
        for field in ("etag", "version", "uploaded", "size", "checksums"):
            self.assertEqual(got["meta"][field], put[field], field)
        self.assertEqual(got["meta"]["httpMetadata"], {"contentType": "text/plain"})
        self.assertEqual(got["meta"]["customMetadata"], {"from": "pop-a"})
        status, head = self.call("pop-b", "/head?key=docs/a.txt")
        self.assertEqual(head["version"], put["version"])
        self.call("pop-b", "/put?key=docs/sub/b.txt", "PUT", b"b")
        status, listed = self.call("pop-a", "/list?prefix=docs/&delimiter=/")
        self.assertEqual((listed["keys"], listed["prefixes"]), (["docs/a.txt"], ["docs/sub/"]))
        self.assertEqual(listed["custom"], [{"from": "pop-a"}])
        self.assertEqual(self.call("pop-b", "/delete?key=docs/a.txt&key=docs/sub/b.txt")[0], 200)
        self.assertEqual(self.call("pop-a", "/head?key=docs/a.txt")[1], None)
        self.assertEqual(self.call("pop-a", "/get?key=docs/a.txt")[0], 404)
        # Nothing went to the PoPs' own stores.
        for pop in self.pops.values():
            listed = pop.admin("GET", "/r2/buckets")
            self.assertEqual(listed.status, 200, listed.body)
            self.assertEqual(json.loads(listed.body)["buckets"], [])

    def test_2_ranges_and_conditionals_through_a_pop(self):
        body = bytes(range(256)) * 400  # 100 KiB: read from the origin in blocks
        status, put = self.call("pop-a", "/put?key=range.bin", "PUT", body)
        self.assertEqual(status, 200, put)
        response = self.pops["pop-b"].request(HOST, "/get?key=range.bin&stream=1", timeout=60)
        self.assertEqual(response.body, body)
        status, got = self.call("pop-b", "/get?key=range.bin&offset=10&length=5")
        self.assertEqual(got["meta"]["range"], {"offset": 10, "length": 5})
        self.assertEqual(got["body"], body[10:15].decode("latin-1"))
        status, tail = self.call("pop-b", "/get?key=range.bin&suffix=3")
        self.assertEqual(tail["meta"]["range"], {"offset": len(body) - 3, "length": 3})
        response = self.pops["pop-b"].request(HOST, "/get?key=range.bin&stream=1&offset=70000",
                                              timeout=60)
        self.assertEqual(response.body, body[70000:])
        status, hit = self.call("pop-b", f"/get?key=range.bin&ifMatch={put['etag']}&offset=0&length=1")
        self.assertEqual(status, 200)
        status, miss = self.call("pop-b", "/get?key=range.bin&ifMatch=0123")
        self.assertEqual((status, miss["body"]), (412, None))
        self.assertEqual(miss["meta"]["etag"], put["etag"])
        status, none = self.call("pop-b", f"/get?key=range.bin&ifNoneMatch={put['etag']}")
        self.assertEqual(status, 412)
        status, bad = self.call("pop-b", "/get?key=range.bin&offset=999999")
        self.assertEqual(status, 500)
        self.assertIn("The requested range is not satisfiable", bad["error"])

    def test_3_multipart_with_parts_from_two_pops(self):
        status, created = self.call("pop-a", "/mpu/create?key=mpu.bin")
        self.assertEqual(status, 200, created)
        upload_id = created["uploadId"]
        part1 = os.urandom(5 << 20)
        part2 = b"the end"
        status, first = self.call("pop-a", f"/mpu/part?key=mpu.bin&id={upload_id}&n=1", "PUT", part1)
        self.assertEqual(status, 200, first)
        status, second = self.call("pop-b", f"/mpu/part?key=mpu.bin&id={upload_id}&n=2", "PUT", part2)
        self.assertEqual(status, 200, second)
        status, done = self.call("pop-b", f"/mpu/complete?key=mpu.bin&id={upload_id}", "POST",
                                 json.dumps([first, second]).encode())
        self.assertEqual(status, 200, done)
        self.assertTrue(done["etag"].endswith("-2"), done)
        response = self.pops["pop-a"].request(HOST, "/get?key=mpu.bin&stream=1", timeout=60)
        self.assertEqual(hashlib.sha256(response.body).hexdigest(),
                         hashlib.sha256(part1 + part2).hexdigest())

    def test_4_a_notification_reaches_the_consumer_on_the_home(self):
        status, put = self.call("pop-b", "/put?key=notify/x.txt", "PUT", b"event me")
        self.assertEqual(status, 200, put)
        self.call("pop-b", "/put?key=quiet/y.txt", "PUT", b"no event")  # outside the prefix
        self.call("pop-a", "/delete?key=notify/x.txt")

        def event(action):
            response = self.pops["pop-b"].request(HOST, f"/kv?key=event:{action}:notify/x.txt")
            return None if response.body == b"missing" else json.loads(response.body)
        self.assertTrue(wait_until(lambda: event("PutObject") is not None, 30), self.origin.log())
        created = event("PutObject")
        self.assertEqual(created["bucket"], "fleet-bucket")
        self.assertEqual(created["object"], {"key": "notify/x.txt", "size": 8, "eTag": put["etag"]})
        self.assertEqual(created["account"], "default")
        self.assertTrue(wait_until(lambda: event("DeleteObject") is not None, 30))
        response = self.pops["pop-b"].request(HOST, "/kv?key=event:PutObject:quiet/y.txt")
        self.assertEqual(response.body, b"missing")

    def test_5_origin_down_fails_clearly_and_recovers(self):
        self.origin.stop(signal.SIGKILL)
        try:
            status, put = self.call("pop-a", "/put?key=down.txt", "PUT", b"nope")
            self.assertEqual(status, 500)
            self.assertIn("could not be reached", put["error"])
            status, got = self.call("pop-b", "/get?key=range.bin")
            self.assertEqual(status, 500)
            self.assertIn("could not be reached", got["error"])
            # The PoPs live on and serve what needs no bucket.
            self.assertEqual(self.pops["pop-a"].request(HOST).body, b"fleetr2")
        finally:
            self.origin.start()
        self.assertTrue(wait_until(lambda: self.call("pop-a", "/put?key=down.txt", "PUT", b"back")[0] == 200, 30))
        self.assertEqual(self.call("pop-b", "/get?key=down.txt")[1]["body"], "back")

    def test_6_a_resolved_put_survives_kill_9_of_the_origin(self):
        bodies = {f"durable/{i}": os.urandom(1000 + i) for i in range(5)}
        for key, body in bodies.items():
            self.assertEqual(self.call("pop-a", f"/put?key={key}", "PUT", body)[0], 200)
        self.origin.stop(signal.SIGKILL)
        self.origin.start()
        for key, body in bodies.items():
            self.assertTrue(wait_until(
                lambda: self.pops["pop-b"].request(HOST, f"/get?key={key}&stream=1").body == body, 30),
                key)

    @unittest.skipIf(os.environ.get("EDGE_SANITIZERS") == "1",
                     "peak-memory bounds do not hold under the sanitizers")
    def test_0_a_64_mib_object_passes_through_a_pop_in_bounded_memory(self):
        size = 64 << 20
        block = os.urandom(1 << 20)
        digest = hashlib.sha256()
        pop, origin = self.pops["pop-a"], self.origin
        pop_rss, origin_rss = PeakRss(pop.proc.pid), PeakRss(origin.proc.pid)
        self.addCleanup(origin_rss.growth_mib)
        self.addCleanup(pop_rss.growth_mib)
        started = time.time()
        with socket.create_connection(("127.0.0.1", pop.http_port), timeout=300) as sock:
            sock.sendall((f"PUT /put?key=big.bin HTTP/1.1\r\nHost: {HOST}\r\n"
                          f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode())
            for _ in range(size // len(block)):
                digest.update(block)
                sock.sendall(block)
            put = read_response(sock)
        put_s = time.time() - started
        self.assertEqual(put.status, 200, put.body)
        put_growth = pop_rss.peak - pop_rss.baseline
        started = time.time()
        check = hashlib.sha256()
        total = 0
        with socket.create_connection(("127.0.0.1", self.pops["pop-b"].http_port), timeout=300) as sock:
            sock.sendall((f"GET /get?key=big.bin&stream=1 HTTP/1.1\r\nHost: {HOST}\r\n"
                          "Connection: close\r\n\r\n").encode())
            reader = Reader(sock)
            self.assertIn(b" 200 ", reader.read_line())
            while reader.read_line() != b"":
                pass
            body = reader.buffer
            while True:
                total += len(body)
                check.update(body)
                body = sock.recv(1 << 20)
                if not body:
                    break
        get_s = time.time() - started
        self.assertEqual(total, size)
        self.assertEqual(check.hexdigest(), digest.hexdigest())
        pop_growth, origin_growth = pop_rss.growth_mib(), origin_rss.growth_mib()
        print(f"\n64 MiB through a PoP: put {size / put_s / 1e6:.0f} MB/s, get "
              f"{size / get_s / 1e6:.0f} MB/s; RSS growth: PoP {pop_growth:.0f} MiB "
              f"({put_growth / 1024:.0f} MiB by the end of the put), origin {origin_growth:.0f} MiB")
        self.assertLess(pop_growth, 48, "the PoP held the object in memory")
        self.assertLess(origin_growth, 48, "the origin held the object in memory")

    def test_8_hostile_inputs_through_the_remote_path(self):
        status, outcomes = self.call("pop-b", "/hostile")
        self.assertEqual(status, 200, outcomes)
        self.assertEqual(outcomes["revoked proxy options"], "error:TypeError")
        self.assertEqual(outcomes["proxy key"], "error:Error")
        self.assertEqual(outcomes["throwing toString"], "error:RangeError")
        self.assertTrue(outcomes["huge key"].startswith("error:"), outcomes)
        self.assertTrue(outcomes["huge metadata"].startswith("error:"), outcomes)
        self.assertTrue(outcomes["delete too many"].startswith("error:"), outcomes)
        self.assertTrue(outcomes["aborted stream"].startswith("error:"), outcomes)
        self.assertEqual(outcomes["never"], None)
        self.assertEqual(outcomes["stored"], "fine")
        self.assertTrue(self.pops["pop-b"].alive())
        self.assertEqual(self.pops["pop-b"].request(HOST).body, b"fleetr2")

    def test_9_below_a_relay_calls_fail_saying_why(self):
        response = self.below.request(HOST, "/put?key=relay.txt", method="PUT", body=b"x")
        self.assertEqual(response.status, 500)
        self.assertIn("relay", json.loads(response.body)["error"])
        response = self.below.request(HOST, "/head?key=relay.txt")
        self.assertIn("relay", json.loads(response.body)["error"])

    def test_a_the_cli_reaches_the_origins_buckets(self):
        self.assertEqual(self.call("pop-a", "/put?key=cli/one.txt", "PUT", b"from a PoP")[0], 200)
        cli = ["--to", self.origin.url, "--token-file", self.origin.token_file]
        listed = self.pops["pop-a"].cli("r2", "bucket", "list", *cli)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("fleet-bucket", listed.stdout)
        got = self.pops["pop-a"].cli("r2", "object", "get", "fleet-bucket/cli/one.txt", *cli)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(got.stdout, "from a PoP")
        upload = os.path.join(self.origin.dir, "upload.txt")
        with open(upload, "w") as f:
            f.write("from the CLI")
        put = self.pops["pop-a"].cli("r2", "object", "put", "fleet-bucket/cli/two.txt", "--file",
                                     upload, *cli)
        self.assertEqual(put.returncode, 0, put.stderr)
        self.assertEqual(self.call("pop-b", "/get?key=cli/two.txt")[1]["body"], "from the CLI")
        # A stored rule, made at the origin, fires for writes from PoPs.
        rule = self.pops["pop-a"].cli("r2", "bucket", "notification", "create", "fleet-bucket",
                                      "--event-type", "object-create", "--queue", "r2-events",
                                      "--prefix", "cli/", *cli)
        self.assertEqual(rule.returncode, 0, rule.stderr)
        self.assertEqual(self.call("pop-b", "/put?key=cli/three.txt", "PUT", b"3")[0], 200)
        self.assertTrue(wait_until(lambda: self.pops["pop-a"].request(
            HOST, "/kv?key=event:PutObject:cli/three.txt").body != b"missing", 30))

    def test_b_the_r2_javascript_tests_pass_on_a_pop(self):
        files = {"runner.js": RUNNER}
        for name in ("r2_test.js", "r2_multipart_test.js", "r2_testing.js"):
            with open(os.path.join(REPO, "bindings", "r2", name)) as f:
                files[f"bindings/r2/{name}"] = f.read()
        with open(os.path.join(REPO, "runtime", "testing", "assert.js")) as f:
            files["runtime/testing/assert.js"] = f.read()
        project = Project(files, config=RUNNER_CONFIG)
        self.addCleanup(project.remove)
        result = self.origin.deploy(project.dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        pop = self.pops["pop-b"]
        self.assertTrue(wait_until(
            lambda: pop.request(TESTS_HOST, "/names?file=main").status == 200, 30), pop.log())
        failures = []
        count = 0
        for file in ("main", "multipart"):
            names = json.loads(pop.request(TESTS_HOST, f"/names?file={file}").body)
            self.assertGreater(len(names), 2, names)
            for name in names:
                count += 1
                response = pop.request(TESTS_HOST, f"/run?file={file}&name={quote(name)}", timeout=120)
                if response.status != 200:
                    failures.append(f"{file}: {name}: {response.body.decode(errors='replace')}")
        self.assertEqual(failures, [], "\n".join(failures))
        print(f"\n{count} R2 JavaScript tests passed on a PoP")


if __name__ == "__main__":
    unittest.main()
