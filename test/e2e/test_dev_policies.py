"""End-to-end: route policies under `edge dev` (gateway/policy).

A project whose edge.toml declares [[policies]] (matched by path on the dev
server) and a [[ratelimits]] binding, with an API key in .dev.vars: every
policy's refusal, a CORS preflight answered without the worker, the worker
never entered for a refused request (it logs every request it sees), a
bad policy refused at start and on reload (the last good version keeps
serving), and the Rate Limiting binding.
"""
import hashlib
import json
import unittest

from edge_harness import EdgeProcess, Project

WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    console.log(`worker saw ${request.method} ${url.pathname}`);
    if (url.pathname === "/limit") {
      const out = [];
      for (let i = 0; i < 3; i++) out.push((await env.LIMITER.limit({ key: "k" })).success);
      return Response.json(out);
    }
    if (request.method === "POST") return new Response(`echo ${await request.text()}`);
    return new Response(`hello ${request.headers.get("x-key-name") ?? "anonymous"}`);
  },
};
"""

CONFIG = r"""
name = "dev-policies"
main = "index.js"

[[ratelimits]]
name = "LIMITER"
namespace_id = "7"
simple = { limit = 2, period = 10 }

[[policies]]
routes = ["example.com/api/*"]
cors = { origins = ["http://localhost:3000"], methods = ["GET", "POST"], headers = ["x-api-key"] }
validate = { methods = ["GET", "POST", "OPTIONS"], required_headers = ["x-client"], max_body_bytes = 16 }
api_key = { header = "x-api-key", secret_prefix = "KEY_", forward_header = "x-key-name" }
rate_limit = { requests = 3, period_s = 60, key = "api_key" }

[[policies]]
routes = ["example.com/orders"]
validate = { content_types = ["application/json"], schema = { type = "object", required = ["sku", "qty"], additionalProperties = false, properties = { sku = { type = "string", pattern = "^[A-Z0-9-]{3,32}$" }, qty = { type = "integer", minimum = 1 } } } }
"""


def problem(response):
    assert response.header("content-type") == "application/problem+json", response.headers
    return json.loads(response.body)


class DevPoliciesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = Project({"index.js": WORKER,
                               ".dev.vars": "KEY_dana=" + hashlib.sha256(b"dana-key").hexdigest() + "\n"},
                              config=CONFIG)
        cls.edge = EdgeProcess(cls.project.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def test_each_policy_refuses_before_the_worker(self):
        ok = {"x-client": "1", "x-api-key": "dana-key"}
        cases = [
            (dict(method="DELETE", path="/api/a", headers=ok), 405, "method-not-allowed"),
            (dict(path="/api/a", headers={"x-api-key": "dana-key"}), 400, "missing-header"),
            (dict(method="POST", path="/api/a", body=b"x" * 17, headers=ok), 413, "body-too-large"),
            (dict(path="/api/a", headers={"x-client": "1"}), 401, "api-key-missing"),
            (dict(path="/api/a", headers={"x-client": "1", "x-api-key": "nope"}), 403, "api-key-invalid"),
        ]
        for kwargs, status, kind in cases:
            response = self.edge.request(**kwargs)
            self.assertEqual(response.status, status, (kwargs, response.body))
            self.assertEqual(problem(response)["type"], "urn:edge:problem:" + kind)
        # The last refusal's line: a request the worker saw would have been
        # logged before its answer, so before this line.
        self.assertTrue(self.edge.wait_for_log(r"GET /api/a answered by the api_key policy: 403"),
                        self.edge.log())
        self.assertNotIn("worker saw DELETE", self.edge.log())
        self.assertNotIn("worker saw GET /api/a", self.edge.log())
        self.assertIn("answered by the api_key policy: 403", self.edge.log())

    def test_admitted_requests_reach_the_worker_with_the_key_name(self):
        response = self.edge.request(path="/api/b", headers={"x-client": "1", "x-api-key": "dana-key",
                                                             "x-key-name": "root"})
        self.assertEqual((response.status, response.body), (200, b"hello dana"))
        self.assertEqual(response.header("ratelimit-limit"), "3")
        self.assertTrue(self.edge.wait_for_log("worker saw GET /api/b"))
        # Other paths have no policy.
        self.assertEqual(self.edge.request(path="/other").body, b"hello anonymous")

    def test_json_bodies_are_checked_against_the_schema(self):
        json_type = {"content-type": "application/json"}
        good = self.edge.request(method="POST", path="/orders", body=b'{"sku":"AB-12","qty":2}',
                                 headers=json_type)
        self.assertEqual((good.status, good.body), (200, b'echo {"sku":"AB-12","qty":2}'))
        for body, pointer in [(b'{"sku":"AB-12","qty":0}', "/qty"), (b'{"sku":"ab","qty":1}', "/sku"),
                              (b'{"sku":"AB-12","qty":1,"extra":1}', "/extra"), (b'{"qty":1', "")]:
            refused = self.edge.request(method="POST", path="/orders", body=body, headers=json_type)
            self.assertEqual(refused.status, 400, (body, refused.body))
            detail = problem(refused)
            self.assertEqual(detail["type"], "urn:edge:problem:schema-violation")
            self.assertIn(pointer, detail["detail"])
        xml = self.edge.request(method="POST", path="/orders", body=b"<a/>",
                                headers={"content-type": "application/xml"})
        self.assertEqual(xml.status, 415)
        self.assertTrue(self.edge.wait_for_log(r"POST /orders answered by the \w+ policy: 415"),
                        self.edge.log())
        self.assertEqual(self.edge.log().count("worker saw POST /orders"), 1)

    def test_rate_limit_and_cors(self):
        headers = {"x-client": "1", "x-api-key": "dana-key", "Origin": "http://localhost:3000"}
        statuses = [self.edge.request(path="/api/c", headers=headers).status for _ in range(5)]
        self.assertIn(429, statuses)
        refused = self.edge.request(path="/api/c", headers=headers)
        self.assertEqual(refused.status, 429)
        self.assertEqual(refused.header("access-control-allow-origin"), "http://localhost:3000")
        self.assertIsNotNone(refused.header("retry-after"))
        preflight = self.edge.request(method="OPTIONS", path="/api/c", headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key"})
        self.assertEqual(preflight.status, 204)
        self.assertEqual(preflight.header("access-control-allow-headers"), "x-api-key")
        self.assertNotIn("worker saw OPTIONS", self.edge.log())

    def test_rate_limiting_binding(self):
        self.assertEqual(json.loads(self.edge.request(path="/limit").body), [True, True, False])

    def test_a_bad_policy_is_refused_on_reload(self):
        self.project.write("edge.toml", CONFIG.replace("period_s = 60", "period_s = 0"))
        self.assertTrue(self.edge.wait_for_log(r"reload failed.*policies\[0\]\.rate_limit\.period_s"))
        self.assertEqual(self.edge.request(path="/other").status, 200)
        self.project.write("edge.toml", CONFIG)
        self.assertTrue(self.edge.wait_for_log("reloaded worker 'dev-policies'"))

    def test_a_bad_policy_is_refused_at_start(self):
        project = Project({"index.js": WORKER}, config=CONFIG.replace('"x-api-key"]', '"x api"]'))
        try:
            with self.assertRaises(RuntimeError) as refused:
                EdgeProcess(project.dir, timeout=20)
            self.assertIn('policies[0].cors.headers: "x api" is not a header name', str(refused.exception))
        finally:
            project.remove()

if __name__ == "__main__":
    unittest.main()
