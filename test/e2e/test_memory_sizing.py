"""End-to-end: memory sizing (`[limits] memory_mb`) on `edge serve` and `edge dev`.

- memory_mb goes from 16 to 2048: `edge deploy` refuses a value outside
  before it uploads, the node refuses an uploaded bundle with one (400),
  `edge dev` refuses to start, each naming the field; 2048 deploys and serves.
- The default CPU limit per request follows memory_mb (50 ms per 128 MiB,
  at least 10 ms); an explicit cpu_ms wins.
- CPU follows memory under contention: a tenant that floods its own queue
  on the node's one serving thread with CPU-bound requests does not starve
  a small tenant on the same thread.
"""
import base64
import json
import socket
import subprocess
import threading
import time
import unittest

from edge_harness import BINARY, NodeProcess, Project, read_response

HELLO = r"""
export default { fetch() { return new Response("sized ok"); } };
"""

ENDLESS = r"""
export default {
  fetch(request) {
    if (new URL(request.url).pathname === "/spin") { while (true) {} }
    return new Response("endless ok");
  },
};
"""

# Each request computes for a few milliseconds of CPU.
BURN = r"""
export default {
  fetch() {
    let x = 0;
    for (let i = 0; i < 300000; i++) x = (x * 31 + i) % 1000003;
    return new Response(String(x));
  },
};
"""

SMALL = r"""
export default { fetch() { return new Response("small answered"); } };
"""


def bundle_json(name, limits):
    source = base64.b64encode(HELLO.encode()).decode()
    return json.dumps({"name": name, "main": "index.js",
                       "modules": [{"name": "index.js", "content": source}],
                       "limits": limits, "routes": [f"{name}.test/*"]})


class MemorySizingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One serving thread that every tenant shares; no heavy lane, so
        # that CPU-bound workers stay on it too.
        cls.node = NodeProcess.for_class(cls, "--heavy-cpu-us", "0", threads=1)

    def deploy(self, name, source, limits):
        project = self.node.add_worker(name, source, [f"{name}.test/*"], "[limits]\n" + limits)
        return self.node.deploy(project.dir)

    def test_edge_deploy_enforces_the_range(self):
        for value in (15, 2049, 0):
            result = self.deploy(f"range{value}", HELLO, f"memory_mb = {value}\n")
            self.assertNotEqual(result.returncode, 0, result.stdout)
            self.assertIn(f"memory_mb must be an integer from 16 to 2048 (got {value})",
                          result.stderr)
            self.assertIn("edge.toml", result.stderr)
            self.assertEqual(self.node.request(f"range{value}.test").status, 404)
        for value in (16, 2048):
            result = self.deploy(f"edge{value}", HELLO, f"memory_mb = {value}\n")
            self.assertEqual(result.returncode, 0, result.stderr)
            response = self.node.request(f"edge{value}.test")
            self.assertEqual(response.status, 200, response.body)
            self.assertEqual(response.body, b"sized ok")

    def test_the_node_enforces_the_range_of_an_upload(self):
        for value in (8, 2049, 1 << 40):
            response = self.node.admin("PUT", "/workers/raw",
                                       bundle_json("raw", {"memory_mb": value}))
            self.assertEqual(response.status, 400, response.body)
            self.assertIn(f"limits.memory_mb must be an integer from 16 to 2048 (got {value})",
                          response.body.decode())
        self.assertEqual(self.node.request("raw.test").status, 404)
        response = self.node.admin("PUT", "/workers/raw", bundle_json("raw", {"memory_mb": 2048}))
        self.assertEqual(response.status, 200, response.body)
        # Its usage is billed at the configured size: 2 GiB.
        self.assertEqual(self.node.request("raw.test").body, b"sized ok")
        deadline = time.time() + 10
        usage = {}
        while time.time() < deadline and not usage.get("invocations"):
            status, answer = self.node.admin_json("GET", "/usage")
            self.assertEqual(status, 200)
            usage = answer["workers"].get("raw", {})
            time.sleep(0.1)
        self.assertEqual(usage["invocations"], 1)
        # GB-s = 2 GiB * the wall time, in seconds.
        self.assertAlmostEqual(usage["gb_seconds"], 2 * usage["wall_ms"] / 1000, delta=1e-5)

    def test_edge_dev_enforces_the_range(self):
        project = Project({"index.js": HELLO},
                          config='name = "dev"\nmain = "index.js"\n[limits]\nmemory_mb = 4096\n')
        self.addCleanup(project.remove)
        result = subprocess.run([BINARY, "dev", project.dir, "--port", "0"], capture_output=True,
                                text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("memory_mb must be an integer from 16 to 2048 (got 4096)", result.stderr)

    def assertCpuLimit(self, host, ms):
        response = self.node.request(host, "/spin")
        self.assertEqual(response.status, 500, response.body)
        self.assertIn(f"CPU time limit of {ms} ms", response.body.decode())
        self.assertTrue(self.node.alive(), self.node.log())

    def test_the_default_cpu_limit_follows_memory(self):
        for name, limits, ms in (("cpu256", "memory_mb = 256\n", 100),
                                 ("cpu16", "memory_mb = 16\n", 10),
                                 ("cpu512", "memory_mb = 512\n", 200),
                                 ("cpu128", "", 50),
                                 ("cpuset", "memory_mb = 256\ncpu_ms = 30\n", 30)):
            result = self.deploy(name, ENDLESS, limits)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(self.node.request(f"{name}.test").body, b"endless ok")
            self.assertCpuLimit(f"{name}.test", ms)

    def test_a_flooding_tenant_does_not_starve_another(self):
        self.assertEqual(self.deploy("flood", BURN, "memory_mb = 2048\ncpu_ms = 2000\n").returncode, 0)
        self.assertEqual(self.deploy("small", SMALL, "memory_mb = 16\n").returncode, 0)
        stop = threading.Event()
        flood_answers = []

        def flood():
            # Keep-alive connections, each sending its next request as soon
            # as the last one is answered.
            request = b"GET / HTTP/1.1\r\nHost: flood.test\r\n\r\n"
            with socket.create_connection(("127.0.0.1", self.node.http_port), timeout=60) as sock:
                while not stop.is_set():
                    sock.sendall(request)
                    flood_answers.append(read_response(sock).status)

        floods = [threading.Thread(target=flood, daemon=True) for _ in range(32)]
        for thread in floods:
            thread.start()
        try:
            time.sleep(1)
            answered = 0
            deadline = time.time() + 60
            while answered < 20 and time.time() < deadline:
                response = self.node.request("small.test", timeout=60)
                self.assertEqual(response.status, 200, response.body)
                self.assertEqual(response.body, b"small answered")
                answered += 1
            self.assertEqual(answered, 20)
            self.assertTrue(flood_answers, "the flood got no answers")
        finally:
            stop.set()
            for thread in floods:
                thread.join(timeout=60)
        self.assertTrue(self.node.alive(), self.node.log())
        self.assertTrue(all(status == 200 for status in flood_answers), set(flood_answers))


if __name__ == "__main__":
    unittest.main()
