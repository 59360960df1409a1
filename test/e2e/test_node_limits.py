"""End-to-end: the per-worker limits of `edge serve`, on one multi-tenant node.

Every limit a bundle carries (`[limits]` in edge.toml: cpu_ms, memory_mb,
startup_cpu_ms, wall_ms, subrequests, request_bytes, response_bytes) is
driven past by a worker of its own; each test checks that the offending
request gets the documented answer, that the worker serves its next request
normally, that other tenants never notice, and that the node process stays
up. The last test runs a CPU hog and a memory hog flat out beside a plain
worker and checks the plain worker's every answer.
"""
import http.server
import re
import socket
import threading
import time
import unittest
import uuid

from edge_harness import NodeProcess, Reader, read_response

CPU_WORKER = r"""
// Spins for `ms` of wall time (never more CPU than that).
function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/spin") {
      while (true) {}
    }
    if (url.pathname === "/spin-await") {
      // No single entry into JavaScript uses more than 30 ms of CPU; only
      // their sum goes past the 50 ms limit (after the second one on an
      // idle machine; a spin measures wall time, so on a loaded one each
      // segment uses less CPU and more of them are needed).
      let segments = 0;
      for (let i = 0; i < 100; ++i) {
        spin(30);
        ++segments;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      return new Response(`survived ${segments} segments`);
    }
    return new Response("cpu worker ok");
  },
};
"""

# Allocates until the isolate's heap limit stops it (the CPU limit is set
# high so that the memory limit is the one that is hit).
HEAP_WORKER = r"""
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/hog") {
      const hoard = [];
      while (true) hoard.push(new Array(100000).fill(hoard.length + 0.5));
    }
    return new Response("heap worker ok");
  },
};
"""

GOOD_VERSION = r"""
export default { fetch() { return new Response("startup good version"); } };
"""

# Spins until stopped: a wall-clock spin could stay under the CPU limit on
# a loaded machine.
SLOW_STARTUP = r"""
for (;;) {}
export default { fetch() { return new Response("startup bad version"); } };
"""

# Spins 500 ms at startup: fine with `startup_cpu_ms = 5000`.
ALLOWED_SLOW_STARTUP = r"""
const end = Date.now() + 500;
while (Date.now() < end) {}
export default { fetch() { return new Response("slow but allowed"); } };
"""

WALL_WORKER = r"""
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/sleep") {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      return new Response("woke up");
    }
    return new Response("wall worker ok");
  },
};
"""

SUBREQUEST_WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const count = Number(url.searchParams.get("n") ?? "3");
    const seen = [];
    for (let i = 0; i < count; ++i) {
      try {
        const response = await fetch(`${env.UPSTREAM}/item/${i}`);
        seen.push(`${i}:${response.status}:${await response.text()}`);
      } catch (error) {
        seen.push(`${i}:threw:${error.message}`);
      }
    }
    return new Response(seen.join("\n"));
  },
};
"""

REQUEST_SIZE_WORKER = r"""
export default {
  async fetch(request) {
    try {
      const text = await request.text();
      return new Response(`read ${text.length} bytes`);
    } catch (error) {
      return new Response(`body error: ${error.message}`, { status: 400 });
    }
  },
};
"""

RESPONSE_SIZE_WORKER = r"""
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const size = Number(url.searchParams.get("size") ?? "5000");
    if (url.pathname === "/stream") {
      // No Content-Length: the size is only known as the body goes out.
      const chunk = new TextEncoder().encode("y".repeat(500));
      let sent = 0;
      const body = new ReadableStream({
        async pull(controller) {
          if (sent >= size) return controller.close();
          controller.enqueue(chunk);
          sent += chunk.length;
          await new Promise((resolve) => setTimeout(resolve, 1));
        },
      });
      return new Response(body);
    }
    return new Response("x".repeat(size));
  },
};
"""

HELLO_WORKER = r"""
export default {
  fetch(request) {
    const url = new URL(request.url);
    return new Response(`hello from c ${url.searchParams.get("i")}`);
  },
};
"""

HOG_CPU_EVERY_REQUEST = r"""
export default { fetch() { while (true) {} } };
"""

HOG_HEAP_EVERY_REQUEST = r"""
export default {
  fetch() {
    const hoard = [];
    while (true) hoard.push(new Array(100000).fill(hoard.length + 0.5));
  },
};
"""

CPU_MESSAGE = "CPU time limit of 50 ms"
MEMORY_MESSAGE = re.compile(r"memory limit of 32 MiB")


class Upstream:
    """A loopback HTTP server for the subrequest test; counts its requests."""

    def __init__(self):
        self.hits = 0
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                upstream.hits += 1
                body = f"upstream {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class NodeLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream()
        cls.addClassCleanup(cls.upstream.stop)
        cls.node = NodeProcess.for_class(cls, "--allow-fetch-to", "127.0.0.0/8", threads=2)
        cls.deploy_ok("cpu", CPU_WORKER, "[limits]\ncpu_ms = 50\n")
        cls.deploy_ok("heap", HEAP_WORKER, "[limits]\nmemory_mb = 32\ncpu_ms = 10000\n")
        cls.deploy_ok("wall", WALL_WORKER, "[limits]\nwall_ms = 300\n")
        cls.deploy_ok("subreq", SUBREQUEST_WORKER,
                      f'[vars]\nUPSTREAM = "http://127.0.0.1:{cls.upstream.port}"\n'
                      "[limits]\nsubrequests = 2\n")
        cls.deploy_ok("reqsize", REQUEST_SIZE_WORKER, "[limits]\nrequest_bytes = 1000\n")
        cls.deploy_ok("respsize", RESPONSE_SIZE_WORKER, "[limits]\nresponse_bytes = 1000\n")
        cls.deploy_ok("tenant-a", HOG_CPU_EVERY_REQUEST, "[limits]\ncpu_ms = 50\n")
        cls.deploy_ok("tenant-b", HOG_HEAP_EVERY_REQUEST,
                      "[limits]\nmemory_mb = 32\ncpu_ms = 10000\n")
        cls.deploy_ok("tenant-c", HELLO_WORKER)

    @classmethod
    def make(cls, name, source, limits=""):
        return cls.node.add_worker(name, source, [f"{name}.test/*"], limits)

    @classmethod
    def deploy_ok(cls, name, source, limits=""):
        return cls.node.deploy_worker(name, source, [f"{name}.test/*"], limits)

    def get(self, worker, path="/", **kwargs):
        return self.node.request(f"{worker}.test", path, **kwargs)

    def assertAlive(self):
        self.assertTrue(self.node.alive(), "edge serve exited:\n" + self.node.log())

    def assertServes(self, worker, body):
        response = self.get(worker)
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body.decode(), body)

    def assertStopped(self, worker, path, status, outcome, check_body, **kwargs):
        """Requests `path` of `worker`, tagged with a fresh marker, and expects
        `status`, a body that `check_body(text)` accepts (it asserts) and
        `outcome` in the request's access record, which it returns."""
        marker = uuid.uuid4().hex
        separator = "&" if "?" in path else "?"
        response = self.get(worker, f"{path}{separator}m={marker}", **kwargs)
        self.assertEqual(response.status, status, response.body)
        check_body(response.body.decode())
        record = self.access_record(marker)
        self.assertEqual(record["outcome"], outcome)
        return record

    def access_record(self, marker, timeout=10):
        """The access-log record whose URL contains `marker`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for record in self.node.access_records():
                if marker in record.get("url", ""):
                    return record
            time.sleep(0.05)
        self.fail(f"no access-log line for {marker}")

    def metric(self, name, labels):
        response = self.node.admin("GET", "/metrics")
        self.assertEqual(response.status, 200, response.body)
        for line in response.body.decode().splitlines():
            if line.startswith(f"{name}{{") and labels in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def test_cpu_limit_stops_a_spinning_request(self):
        record = self.assertStopped("cpu", "/spin", 500, "exceededCpu",
                                    lambda body: self.assertIn(CPU_MESSAGE, body))
        # The worker's next request, and another tenant's, are served.
        self.assertServes("cpu", "cpu worker ok")
        self.assertServes("wall", "wall worker ok")
        self.assertAlive()
        self.assertGreaterEqual(self.metric("edge_limit_kills_total", 'kind="cpu"'), 1)
        self.assertEqual(record["worker"], "cpu")
        self.assertEqual(record["status"], 500)

    def test_cpu_time_adds_up_across_awaits(self):
        self.assertStopped("cpu", "/spin-await", 500, "exceededCpu",
                           lambda body: self.assertIn(CPU_MESSAGE, body))
        self.assertServes("cpu", "cpu worker ok")
        self.assertAlive()

    def test_heap_limit_stops_an_allocating_request(self):
        self.assertStopped("heap", "/hog", 500, "exceededMemory",
                           lambda body: self.assertRegex(body, MEMORY_MESSAGE))
        # A fresh isolate serves the next request.
        self.assertServes("heap", "heap worker ok")
        self.assertServes("cpu", "cpu worker ok")
        self.assertAlive()
        self.assertGreaterEqual(self.metric("edge_limit_kills_total", 'kind="memory"'), 1)

    def test_startup_limit_refuses_the_deploy_and_keeps_the_old_version(self):
        self.deploy_ok("startup", GOOD_VERSION)
        self.assertServes("startup", "startup good version")

        kills_before = self.metric("edge_limit_kills_total", 'kind="startup"')
        result = self.node.deploy(self.make("startup", SLOW_STARTUP).dir)
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("startup exceeded its CPU time limit of 400 ms", result.stderr)
        self.assertEqual(self.metric("edge_limit_kills_total", 'kind="startup"'),
                         kills_before + 1)
        self.assertServes("startup", "startup good version")
        status, info = self.node.admin_json("GET", "/workers/startup")
        self.assertEqual(status, 200)
        self.assertEqual(info["version"], 1)

        # `startup_cpu_ms` in edge.toml raises the limit.
        result = self.node.deploy(
            self.make("startup", ALLOWED_SLOW_STARTUP, "[limits]\nstartup_cpu_ms = 5000\n").dir)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertServes("startup", "slow but allowed")
        self.assertAlive()

    def test_wall_limit_answers_504(self):
        self.assertStopped("wall", "/sleep", 504, "exceededWall",
                           lambda body: self.assertIn("wall time limit of 300 ms", body))
        self.assertServes("wall", "wall worker ok")
        self.assertGreaterEqual(self.metric("edge_limit_kills_total", 'kind="wall"'), 1)
        self.assertAlive()

    def test_subrequest_limit_makes_the_third_fetch_throw(self):
        hits_before = self.upstream.hits
        response = self.get("subreq", "/?n=3")
        self.assertEqual(response.status, 200, response.body)
        lines = response.body.decode().split("\n")
        self.assertEqual(lines[0], "0:200:upstream /item/0")
        self.assertEqual(lines[1], "1:200:upstream /item/1")
        self.assertTrue(lines[2].startswith("2:threw:"), lines)
        self.assertIn("Too many subrequests", lines[2])
        self.assertIn("2 subrequests", lines[2])
        self.assertEqual(self.upstream.hits - hits_before, 2)
        # The limit is per request: the next one may fetch twice again.
        response = self.get("subreq", "/?n=2")
        self.assertEqual(response.body.decode(), "0:200:upstream /item/0\n1:200:upstream /item/1")
        self.assertAlive()

    def test_request_size_limit(self):
        # Within the limit: read whole.
        response = self.get("reqsize", "/", method="POST", body=b"a" * 900)
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body, b"read 900 bytes")

        # Content-Length over the limit: refused before the worker runs.
        self.assertStopped("reqsize", "/", 413, "requestTooLarge",
                           lambda body: self.assertIn("limit of 1000 bytes", body),
                           method="POST", body=b"a" * 2000)

        # Chunked: the size shows only as the body arrives; reading it fails
        # in the worker once it passes the limit.
        response = self.chunked_post("reqsize.test", "/", [b"b" * 500] * 4)
        self.assertEqual(response.status, 400, response.body)
        self.assertIn("body error:", response.body.decode())
        self.assertIn("limit of 1000 bytes", response.body.decode())

        # A chunked body within the limit is read whole.
        response = self.chunked_post("reqsize.test", "/", [b"c" * 300] * 3)
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body, b"read 900 bytes")
        self.assertAlive()

    def chunked_post(self, host, path, chunks):
        with socket.create_connection(("127.0.0.1", self.node.http_port), timeout=30) as sock:
            head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
                    "Connection: close\r\n\r\n").encode()
            body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
            try:
                sock.sendall(head + body + b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the node may answer and close before reading it all
            return read_response(sock)

    def test_response_size_limit(self):
        response = self.get("respsize", "/?size=1000")
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(len(response.body), 1000)

        self.assertStopped("respsize", "/?size=5000", 500, "responseTooLarge",
                           lambda body: self.assertIn("size limit of 1000 bytes", body))

        # Streamed (no Content-Length): the 200 is on its way already, so the
        # connection is cut before the body completes.
        marker = uuid.uuid4().hex
        with socket.create_connection(("127.0.0.1", self.node.http_port), timeout=30) as sock:
            sock.sendall(f"GET /stream?size=5000&m={marker} HTTP/1.1\r\nHost: respsize.test\r\n"
                         "Connection: close\r\n\r\n".encode())
            data = Reader(sock).read_until_close()
        self.assertNotIn(b"0\r\n\r\n", data[-7:], "a streamed body over the limit completed")
        self.assertLess(data.count(b"y"), 5000)
        self.assertEqual(self.access_record(marker)["outcome"], "responseTooLarge")

        response = self.get("respsize", "/stream?size=1000")
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body, b"y" * 1000)
        self.assertAlive()

    def test_tenants_over_their_limits_do_not_harm_a_neighbour(self):
        # A spins and B allocates on every request while C is served.
        stop = threading.Event()
        failures = []
        counts = {"a": 0, "b": 0}

        def hammer(tenant, expected):
            while not stop.is_set():
                try:
                    response = self.get(f"tenant-{tenant}")
                except OSError as error:
                    failures.append(f"{tenant}: {error!r}")
                    continue
                counts[tenant] += 1
                body = response.body.decode(errors="replace")
                if response.status != 500 or not expected.search(body):
                    failures.append(f"{tenant}: {response.status} {body[:200]}")

        # C's requests go out on a few connections at a time: each may wait
        # behind a hog's request on its serving thread, and 300 of them one
        # after the other would take long on a small machine.
        total, senders = 300, 4
        answers = {}

        def send_c(first):
            for i in range(first, total, senders):
                try:
                    response = self.get("tenant-c", f"/?i={i}")
                    answers[i] = (response.status, response.body)
                except OSError as error:
                    answers[i] = (None, repr(error).encode())

        hammers = [threading.Thread(target=hammer, args=("a", re.compile(CPU_MESSAGE))),
                   threading.Thread(target=hammer, args=("b", MEMORY_MESSAGE))]
        clients = [threading.Thread(target=send_c, args=(first,)) for first in range(senders)]
        usage_before = self.usage("tenant-c")
        started = time.time()
        try:
            for thread in hammers:
                thread.start()
            time.sleep(0.5)  # the hogs are busy before C's first request
            for thread in clients:
                thread.start()
            # The hogs go on for at least 5 s, and until C is done.
            while any(t.is_alive() for t in clients) or time.time() - started < 5:
                self.assertAlive()
                time.sleep(0.1)
        finally:
            stop.set()
            for thread in clients + hammers:
                thread.join(timeout=120)
        self.assertAlive()
        wrong = {i: answer for i, answer in answers.items()
                 if answer != (200, f"hello from c {i}".encode())}
        self.assertEqual(wrong, {})
        self.assertEqual(len(answers), total)
        self.assertEqual(failures, [])
        self.assertGreater(counts["a"], 0)
        self.assertGreater(counts["b"], 0)

        # Every request to C was metered, and only those.
        deadline = time.time() + 10
        while time.time() < deadline and self.usage("tenant-c") - usage_before < total:
            time.sleep(0.1)
        self.assertEqual(self.usage("tenant-c") - usage_before, total)
        self.assertEqual(usage_before, 0)

    def usage(self, worker):
        status, usage = self.node.admin_json("GET", "/usage")
        self.assertEqual(status, 200, usage)
        return usage["workers"].get(worker, {}).get("invocations", 0)


if __name__ == "__main__":
    unittest.main()
