"""End-to-end: Workers KV under `edge dev`, and `edge kv` on the same store.

The store lives in <project>/.edge/state/kv (or <persist-to>/kv); these tests
check that it survives a restart and a kill -9, and that `edge kv` and a
running worker see each other's writes.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from edge_harness import BINARY, SOURCE_DIR, EdgeProcess, Project

KV_WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = url.searchParams.get("key");
    switch (url.pathname) {
      case "/put": {
        // Answers only once the put is acknowledged by the store.
        const value = url.searchParams.get("value") ?? (await request.text());
        await env.KV.put(key, value);
        return new Response(`stored ${key}`);
      }
      case "/get": {
        const value = await env.KV.get(key);
        return value === null ? new Response("missing", { status: 404 }) : new Response(value);
      }
      case "/meta": {
        const { value, metadata } = await env.KV.getWithMetadata(key);
        return Response.json({ value, metadata });
      }
      case "/delete":
        await env.KV.delete(key);
        return new Response(`deleted ${key}`);
      case "/all": {
        // Every key and value of the namespace: list page by page, then
        // read in bulk, 100 keys at a time.
        const names = [];
        let cursor;
        for (;;) {
          const page = await env.KV.list({ prefix: url.searchParams.get("prefix") ?? "", cursor });
          for (const { name } of page.keys) names.push(name);
          if (page.list_complete) break;
          cursor = page.cursor;
        }
        const all = {};
        for (let i = 0; i < names.length; i += 100) {
          const values = await env.KV.get(names.slice(i, i + 100));
          for (const [name, value] of values) all[name] = value;
        }
        return Response.json(all);
      }
    }
    return new Response("not found", { status: 404 });
  },
};
"""

CONFIG = """name = "kv-e2e"
main = "index.js"

[[kv_namespaces]]
binding = "KV"
id = "0f2ac74b498b48028cb68387c421e279"

[[kv_namespaces]]
binding = "CACHE"
"""


def q(**params):
    return "?" + urllib.parse.urlencode(params)


def edge_kv(project_dir, *args, input_bytes=None):
    """Runs `edge kv ARGS` in the project folder; returns CompletedProcess (bytes)."""
    return subprocess.run([BINARY, "kv", *args], cwd=project_dir, capture_output=True,
                          input=input_bytes, timeout=60)


class KvTestCase(unittest.TestCase):
    def setUp(self):
        self.project = Project({"index.js": KV_WORKER}, config=CONFIG)
        self.edges = []

    def tearDown(self):
        for edge in self.edges:
            if edge.alive():
                edge.stop()
        self.project.remove()

    def start(self, *args):
        edge = EdgeProcess(self.project.dir, *args)
        self.edges.append(edge)
        return edge

    def stop(self, edge):
        code = edge.stop()
        self.assertEqual(code, 0, "edge dev did not exit cleanly:\n" + edge.log())

    def put(self, edge, key, value):
        response = edge.request("POST", "/put" + q(key=key), body=value.encode())
        self.assertEqual(response.status, 200, response.body)
        return response

    def get(self, edge, key):
        return edge.request("GET", "/get" + q(key=key))


class KvPersistenceTest(KvTestCase):
    def test_kv_survives_a_restart(self):
        edge = self.start()
        self.put(edge, "greeting", "hello")
        self.put(edge, "unicode ✓", "välue")
        self.put(edge, "gone", "soon")
        self.assertEqual(edge.request("GET", "/delete" + q(key="gone")).status, 200)
        self.stop(edge)
        self.assertTrue(os.path.isfile(os.path.join(self.project.dir, ".edge", "state", "kv",
                                                    "data.mdb")))

        edge = self.start()
        self.assertEqual(self.get(edge, "greeting").body, b"hello")
        self.assertEqual(self.get(edge, "unicode ✓").body, "välue".encode())
        self.assertEqual(self.get(edge, "gone").status, 404)
        everything = json.loads(edge.request("GET", "/all").body)
        self.assertEqual(everything, {"greeting": "hello", "unicode ✓": "välue"})
        self.stop(edge)

    def test_every_acknowledged_put_survives_kill_9(self):
        edge = self.start()
        acknowledged = set()
        lock = threading.Lock()
        stop = threading.Event()
        counter = iter(range(1_000_000))
        errors_after_kill = []

        def client():
            while not stop.is_set():
                with lock:
                    n = next(counter)
                key = f"crash:{n:06d}"
                try:
                    response = edge.request("POST", "/put" + q(key=key),
                                            body=f"value of {key}".encode())
                except Exception as error:  # the server went away mid-request
                    errors_after_kill.append(error)
                    continue
                if response.status == 200 and response.body == f"stored {key}".encode():
                    with lock:
                        acknowledged.add(key)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()
        # Let the write loop run, then kill the process in the middle of it.
        deadline = time.time() + 20
        while time.time() < deadline:
            with lock:
                if len(acknowledged) >= 300:
                    break
            time.sleep(0.01)
        edge.proc.send_signal(signal.SIGKILL)
        edge.proc.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        edge.stop()
        self.assertEqual(edge.proc.returncode, -signal.SIGKILL)
        with lock:
            acknowledged_keys = set(acknowledged)
        self.assertGreaterEqual(len(acknowledged_keys), 50, "the write loop barely ran")

        edge = self.start()
        stored = json.loads(edge.request("GET", "/all" + q(prefix="crash:")).body)
        missing = sorted(acknowledged_keys - stored.keys())
        self.assertEqual(missing, [], f"{len(missing)} acknowledged puts were lost")
        for key in acknowledged_keys:
            self.assertEqual(stored[key], f"value of {key}")
        # Puts in flight at the kill may or may not have landed, but whole.
        for key, value in stored.items():
            self.assertEqual(value, f"value of {key}")
        # The store is still writable after the crash.
        self.put(edge, "after-crash", "ok")
        self.assertEqual(self.get(edge, "after-crash").body, b"ok")
        self.stop(edge)

    def test_persist_to_moves_the_store(self):
        state = tempfile.mkdtemp(prefix="edge-e2e-state-")
        try:
            edge = self.start("--persist-to", state)
            self.put(edge, "moved", "here")
            self.stop(edge)
            self.assertTrue(os.path.isfile(os.path.join(state, "kv", "data.mdb")))
            self.assertFalse(os.path.exists(os.path.join(self.project.dir, ".edge", "state", "kv")))
            result = edge_kv(self.project.dir, "get", "--binding", "KV", "moved",
                             "--persist-to", state)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, b"here")
            # The default store does not have it.
            result = edge_kv(self.project.dir, "get", "--binding", "KV", "moved")
            self.assertEqual(result.returncode, 1)
            edge = self.start("--persist-to", state)
            self.assertEqual(self.get(edge, "moved").body, b"here")
            self.stop(edge)
        finally:
            shutil.rmtree(state, ignore_errors=True)


class KvCommandTest(KvTestCase):
    def test_edge_kv_put_then_the_worker_reads_it(self):
        edge = self.start()
        # Written while `edge dev` has the store open: LMDB serves both.
        result = edge_kv(self.project.dir, "put", "--binding", "KV", "seeded", "from the cli")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.get(edge, "seeded").body, b"from the cli")

        value_file = os.path.join(self.project.dir, "blob.bin")
        blob = bytes(range(256)) * 64
        with open(value_file, "wb") as f:
            f.write(blob)
        result = edge_kv(self.project.dir, "put", "--binding", "KV", "blob", "--path", value_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        result = edge_kv(self.project.dir, "get", "--binding", "KV", "blob")
        self.assertEqual(result.stdout, blob)

        result = edge_kv(self.project.dir, "put", "--binding", "KV", "with-meta", "v",
                         "--metadata", '{"owner": "cli"}')
        self.assertEqual(result.returncode, 0, result.stderr)
        meta = json.loads(edge.request("GET", "/meta" + q(key="with-meta")).body)
        self.assertEqual(meta, {"value": "v", "metadata": {"owner": "cli"}})

        # The other binding is another namespace.
        result = edge_kv(self.project.dir, "put", "--binding", "CACHE", "seeded", "elsewhere")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.get(edge, "seeded").body, b"from the cli")

        result = edge_kv(self.project.dir, "delete", "--binding", "KV", "seeded")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.get(edge, "seeded").status, 404)
        self.stop(edge)

    def test_the_worker_puts_then_edge_kv_reads_it(self):
        edge = self.start()
        self.put(edge, "from-worker", "written by the worker ✓")
        for i in range(3):
            self.put(edge, f"list:{i}", str(i))
        # Read while the server runs, and again after it stopped.
        result = edge_kv(self.project.dir, "get", "--binding", "KV", "from-worker")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode(), "written by the worker ✓")
        self.stop(edge)
        result = edge_kv(self.project.dir, "list", "--binding", "KV", "--prefix", "list:")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout),
                         [{"name": "list:0"}, {"name": "list:1"}, {"name": "list:2"}])
        result = edge_kv(self.project.dir, "list", "--binding", "KV")
        self.assertEqual(len(json.loads(result.stdout)), 4)
        result = edge_kv(self.project.dir, "list", "--binding", "CACHE")
        self.assertEqual(json.loads(result.stdout), [])

    def test_edge_kv_errors(self):
        result = edge_kv(self.project.dir, "get", "--binding", "NOPE", "k")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b'no KV binding "NOPE"', result.stderr)
        self.assertIn(b"KV, CACHE", result.stderr)
        result = edge_kv(self.project.dir, "get", "--binding", "KV", "missing")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b'no value for "missing"', result.stderr)
        result = edge_kv(self.project.dir, "put", "--binding", "KV", "k" * 513, "v")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"exceeds key length limit of 512", result.stderr)
        result = edge_kv(self.project.dir, "put", "--binding", "KV", "k", "v", "--metadata", "{nope")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"--metadata is not JSON", result.stderr)
        result = edge_kv(self.project.dir, "put", "--binding", "KV", "k", "v", "--ttl", "30")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"at least 60 seconds", result.stderr)
        elsewhere = tempfile.mkdtemp(prefix="edge-e2e-empty-")
        try:
            result = edge_kv(elsewhere, "list", "--binding", "KV")
            self.assertEqual(result.returncode, 1)
            self.assertIn(b"no edge.toml or wrangler.toml", result.stderr)
            # --config points at the project from anywhere.
            result = edge_kv(elsewhere, "put", "--binding", "KV", "k", "v", "--config",
                             os.path.join(self.project.dir, "edge.toml"))
            self.assertEqual(result.returncode, 0, result.stderr)
            result = edge_kv(self.project.dir, "get", "--binding", "KV", "k")
            self.assertEqual(result.stdout, b"v")
        finally:
            shutil.rmtree(elsewhere, ignore_errors=True)


class KvCounterExampleTest(unittest.TestCase):
    """examples/kv-counter, with its state in a temporary folder."""

    def test_counts_survive_a_restart(self):
        example = os.path.join(SOURCE_DIR, "examples", "kv-counter")
        state = tempfile.mkdtemp(prefix="edge-e2e-kv-counter-")
        try:
            for expected in (b"/a has been visited 1 time\n", b"/a has been visited 2 times\n"):
                edge = EdgeProcess(example, "--persist-to", state)
                try:
                    self.assertEqual(edge.request("GET", "/a").body, expected)
                finally:
                    self.assertEqual(edge.stop(), 0)
            edge = EdgeProcess(example, "--persist-to", state)
            try:
                self.assertEqual(json.loads(edge.request("GET", "/counts").body), {"/a": 2})
            finally:
                self.assertEqual(edge.stop(), 0)
        finally:
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
