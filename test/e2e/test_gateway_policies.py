"""End-to-end: route policies under `edge serve` (gateway/policy).

One node with two serving threads, an operator's [[host_policies]] in its
node.toml and a worker whose edge.toml declares [[policies]] and a
[[ratelimits]] binding. Every policy's refusals are checked (status, RFC 9457
problem body, headers), that a refused request never enters an isolate
(/usage counts it as refused, not as an invocation; /metrics by outcome),
that it is in the access log and in `edge tail`, that the rate limit holds
across serving threads, that a flood of keys and of headers leaves the node
up, and that a worker cannot undo the operator's policies.
"""
import hashlib
import json
import os
import socket
import threading
import time
import unittest

from edge_harness import NodeProcess, Reader, make_worker, read_response, wait_for

WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    console.log(`worker saw ${request.method} ${url.pathname}`);
    if (url.pathname === "/limit") {
      const out = [];
      for (let i = 0; i < 4; i++) out.push((await env.LIMITER.limit({ key: url.searchParams.get("k") })).success);
      return Response.json(out);
    }
    if (request.method === "POST") {
      const body = await request.text();
      return new Response(`echo ${body.length}:${body}`);
    }
    return new Response(`hello ${request.headers.get("x-api-key-name") ?? "anonymous"}`, {
      headers: { "x-worker": "1" },
    });
  },
};
"""

CONFIG = r"""
[[ratelimits]]
name = "LIMITER"
namespace_id = "1001"
simple = { limit = 3, period = 60 }

[[policies]]
routes = ["pol.test/api/*"]
cors = { origins = ["https://app.test"], methods = ["GET", "POST", "PUT"], headers = ["content-type", "x-api-key"], max_age = 300, expose_headers = ["x-worker"] }
validate = { methods = ["GET", "POST", "OPTIONS"], content_types = ["application/json"], max_body_bytes = 64 }
api_key = { header = "x-api-key", secret_prefix = "APIKEY_", forward_header = "x-api-key-name" }

[[policies]]
routes = ["pol.test/limited/*"]
rate_limit = { requests = 6, period_s = 60, key = "ip" }

[[policies]]
routes = ["pol.test/flood/*"]
rate_limit = { requests = 1, period_s = 60, key = "header:x-user" }

# Meant to undo the operator's policy: a cors policy open to all, its own
# api_key on the operator's header, and a route pattern naming the host.
[[policies]]
routes = ["ops.test/*"]
cors = { origins = "*" }
api_key = { header = "x-api-key", keys = { mine = "%s" }, forward_header = "x-operator-key-name" }
""" % hashlib.sha256(b"worker-own-key").hexdigest()

NODE_TOML = r"""
trusted_proxies = ["127.0.0.0/8"]

[[host_policies]]
hosts = ["ops.test"]
api_key = { header = "x-operator-key", keys = { ops = "%s" }, forward_header = "x-operator-key-name" }
""" % hashlib.sha256(b"operator-key").hexdigest()


def problem(response):
    assert response.header("content-type") == "application/problem+json", response.headers
    body = json.loads(response.body)
    assert set(body) == {"type", "title", "status", "detail"}, body
    assert body["status"] == response.status, body
    return body


class GatewayPoliciesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        folder = os.path.dirname(os.path.abspath(__file__))
        cls.config_dir = __import__("tempfile").mkdtemp(prefix="edge-policies-")
        config = os.path.join(cls.config_dir, "node.toml")
        with open(config, "w") as f:
            f.write(NODE_TOML)
        cls.node = NodeProcess.for_class(cls, "--config", config, threads=2)
        cls.node.deploy_worker("pol", WORKER, ["pol.test/*", "ops.test/*"], CONFIG)
        result = cls.node.cli("secret", "put", "APIKEY_alice", "--to", cls.node.admin_url,
                              "--token-file", cls.node.token_file, "--name", "pol",
                              input=hashlib.sha256(b"alice-key").hexdigest() + "\n")
        assert result.returncode == 0, result.stderr

    def get(self, path, method="GET", body=b"", headers=None, host="pol.test"):
        return self.node.request(host, path, method=method, body=body, headers=headers)

    def test_validate_refusals(self):
        key = {"x-api-key": "alice-key"}
        response = self.get("/api/x", method="DELETE", headers=key)
        self.assertEqual(response.status, 405)
        self.assertEqual(response.header("allow"), "GET, POST, OPTIONS")
        self.assertEqual(problem(response)["type"], "urn:edge:problem:method-not-allowed")
        response = self.get("/api/x", method="POST", body=b"x=1",
                            headers={**key, "Content-Type": "text/plain"})
        self.assertEqual(response.status, 415)
        problem(response)
        response = self.get("/api/x", method="POST", body=b"x" * 65,
                            headers={**key, "Content-Type": "application/json"})
        self.assertEqual(response.status, 413)
        problem(response)
        response = self.get("/api/x", method="POST", body=b'{"a":1}',
                            headers={**key, "Content-Type": "application/json"})
        self.assertEqual((response.status, response.body), (200, b'echo 7:{"a":1}'))

    def chunked(self, path, chunks, headers):
        head = f"POST {path} HTTP/1.1\r\nHost: pol.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        with socket.create_connection(("127.0.0.1", self.node.http_port), timeout=30) as sock:
            sock.sendall(head.encode())
            try:
                for chunk in chunks:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    time.sleep(0.02)
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # refused and closed before the body was all sent
            return read_response(sock)

    def test_chunked_body_is_counted_and_the_worker_reads_the_same_bytes(self):
        headers = {"x-api-key": "alice-key", "Content-Type": "application/json"}
        response = self.chunked("/api/c", [b'{"a":', b'"' + b"b" * 20 + b'"}'], headers)
        self.assertEqual((response.status, response.body), (200, b'echo 28:{"a":"' + b"b" * 20 + b'"}'))
        response = self.chunked("/api/c", [b"x" * 40, b"y" * 40, b"z" * 4000], headers)
        self.assertEqual(response.status, 413)
        problem(response)

    def test_api_key(self):
        response = self.get("/api/x")
        self.assertEqual(response.status, 401)
        self.assertEqual(problem(response)["type"], "urn:edge:problem:api-key-missing")
        response = self.get("/api/x", headers={"x-api-key": "wrong"})
        self.assertEqual(response.status, 403)
        # The key's name reaches the worker; a client's own header of that name does not.
        response = self.get("/api/x", headers={"x-api-key": "alice-key", "x-api-key-name": "root"})
        self.assertEqual((response.status, response.body), (200, b"hello alice"))
        response = self.get("/open", headers={"x-api-key-name": "root"})
        self.assertEqual((response.status, response.body), (200, b"hello anonymous"))

    def test_cors_preflight_and_actual(self):
        response = self.get("/api/x", method="OPTIONS", headers={
            "Origin": "https://app.test", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, x-api-key"})
        self.assertEqual(response.status, 204)
        self.assertEqual(response.header("access-control-allow-origin"), "https://app.test")
        self.assertEqual(response.header("access-control-allow-methods"), "GET, POST, PUT")
        self.assertEqual(response.header("access-control-max-age"), "300")
        response = self.get("/api/x", method="OPTIONS", headers={
            "Origin": "https://evil.test", "Access-Control-Request-Method": "GET"})
        self.assertEqual(response.status, 403)
        self.assertIsNone(response.header("access-control-allow-origin"))
        # A refusal carries the CORS headers, so the page can read it.
        response = self.get("/api/x", headers={"Origin": "https://app.test"})
        self.assertEqual(response.status, 401)
        self.assertEqual(response.header("access-control-allow-origin"), "https://app.test")
        response = self.get("/api/x", headers={"Origin": "https://app.test", "x-api-key": "alice-key"})
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("access-control-allow-origin"), "https://app.test")
        self.assertEqual(response.header("access-control-expose-headers"), "x-worker")
        # Malformed origins get nothing, and the node lives.
        for origin in ("null", "https://app.test\tx", "h" * 4000):
            response = self.get("/api/x", headers={"Origin": origin, "x-api-key": "alice-key"})
            self.assertEqual(response.status, 200)
            self.assertIsNone(response.header("access-control-allow-origin"))

    def test_refused_requests_never_enter_an_isolate(self):
        before = self.node.worker_usage("pol")
        for _ in range(5):
            self.assertEqual(self.get("/api/x", headers={"x-api-key": "wrong"}).status, 403)
        self.assertEqual(self.get("/api/x", method="OPTIONS", headers={
            "Origin": "https://app.test", "Access-Control-Request-Method": "GET"}).status, 204)
        after = self.node.worker_usage("pol", lambda usage: usage["refused"] >= before["refused"] + 5)
        self.assertEqual(after["refused"], before["refused"] + 5)
        self.assertEqual(after["invocations"], before["invocations"])
        metrics = self.node.admin("GET", "/metrics").body.decode()
        self.assertRegex(metrics, r'edge_requests_total\{worker="pol",status_class="4xx",outcome="policyRefused"\} \d+')
        self.assertRegex(metrics, r'edge_requests_total\{worker="pol",status_class="2xx",outcome="preflight"\} \d+')
        # The access log is written in batches, after the answer: wait for
        # the refusals' lines (a worker's console line would come before its
        # request's access line).
        def refusals():
            return [r for r in self.node.access_records()
                    if r.get("outcome") == "policyRefused" and r.get("worker") == "pol"
                    and r["status"] == 403 and r.get("policy") == "api_key"]
        self.assertTrue(wait_for(lambda: len(refusals()) >= 5, 10), self.node.access_records())
        # The worker logged nothing for them.
        self.assertFalse(any("worker saw" in json.dumps(r) and r.get("status") == 403
                             for r in self.node.access_records("console")))

    def test_rate_limit_holds_across_serving_threads(self):
        statuses = []
        lock = threading.Lock()

        def one():
            response = self.get("/limited/x")
            with lock:
                statuses.append((response.status, response))

        threads = [threading.Thread(target=one) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(status for status, _ in statuses)
        self.assertEqual(codes.count(200), 6, codes)
        self.assertEqual(codes.count(429), 14, codes)
        refused = next(response for status, response in statuses if status == 429)
        problem(refused)
        self.assertGreaterEqual(int(refused.header("retry-after")), 1)
        self.assertEqual(refused.header("ratelimit-limit"), "6")
        self.assertEqual(refused.header("ratelimit-remaining"), "0")
        served = next(response for status, response in statuses if status == 200)
        self.assertEqual(served.header("ratelimit-limit"), "6")
        # Through a trusted proxy (loopback here), the forwarded client has its own bucket.
        response = self.get("/limited/x", headers={"X-Forwarded-For": "198.51.100.77"})
        self.assertEqual(response.status, 200)

    def test_a_key_flood_leaves_the_node_up(self):
        for i in range(300):
            response = self.get("/flood/x", headers={"x-user": f"user-{i}-" + "k" * 500})
            self.assertEqual(response.status, 200)
        self.assertEqual(self.get("/flood/x", headers={"x-user": "user-0-" + "k" * 500}).status, 429)
        # Huge header counts and values: refused by the server's limits or
        # answered; either way the node serves the next request.
        headers = {f"x-h{i}": "v" * 100 for i in range(1000)}
        try:
            self.get("/api/x", headers=headers)
        except OSError:
            pass
        self.assertEqual(self.get("/open").status, 200)

    def test_rate_limiting_binding(self):
        response = self.get("/limit?k=abc")
        self.assertEqual((response.status, json.loads(response.body)), (200, [True, True, True, False]))
        response = self.get("/limit?k=other")
        self.assertEqual(json.loads(response.body), [True, True, True, False])

    def test_operator_policy_cannot_be_bypassed(self):
        response = self.get("/", host="ops.test", headers={"x-api-key": "worker-own-key"})
        self.assertEqual(response.status, 401)
        self.assertEqual(problem(response)["type"], "urn:edge:problem:api-key-missing")
        response = self.get("/", host="ops.test", headers={"x-operator-key": "operator-key",
                                                         "x-api-key": "worker-own-key"})
        self.assertEqual(response.status, 200)

    def test_edge_tail_shows_refusals(self):
        event = self.node.tail_request_event(
            "pol", "/api/tail", lambda: self.assertEqual(self.get("/api/tail", headers={"x-api-key": "bad"}).status, 403))
        self.assertIsNotNone(event, "edge tail did not show the refusal")
        self.assertEqual((event["status"], event["outcome"], event["policy"]), (403, "policyRefused", "api_key"))

    def test_bad_policy_configs_are_deploy_errors(self):
        for extra, message in (
                ('[[policies]]\nrate_limit = { requests = 5, period_s = 0 }\n',
                 "policies[0].rate_limit.period_s must be an integer from 1 to 86400"),
                ('[[policies]]\nvalidate = { methods = ["GET"], max_body = 5 }\n',
                 "policies[0].validate.max_body: unknown key"),
                ('[[ratelimits]]\nname = "L"\nnamespace_id = "1"\nsimple = { limit = 5, period = 30 }\n',
                 "simple.period must be 10 or 60")):
            project = make_worker("broken", WORKER, ["broken.test/*"], extra)
            self.node.projects.append(project)
            result = self.node.deploy(project.dir)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(message, result.stderr)
        self.assertEqual(self.get("/", host="broken.test").status, 404)


if __name__ == "__main__":
    unittest.main()
