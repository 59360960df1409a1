"""End-to-end: the `jwt` route policy under `edge dev` (gateway/policy).

A project whose edge.toml protects paths with an inline RS256 key, an HS256
secret from .dev.vars, and a JWKS served by a Python server in the test
(fetched on the dev server's loop while the request waits): valid tokens
reach the worker with request.cf.auth.claims and the claims header; bad
ones are 401 with a Bearer challenge and never reach the worker (it logs
every request it sees); a JWKS that cannot be fetched is a 503; a combined
route refuses each bad request with its own status; a bad jwt table is
refused at start.
"""
import json
import socket
import threading
import time
import unittest

from edge_harness import EdgeProcess, Project, read_response, send_request
from jwt_helpers import AUDIENCE, ISSUER, JwksServer, Key, default_claims, toml_string

WORKER = r"""
// A hostile worker: JSON.parse and setters on Object.prototype are its own
// before any request; request.cf.auth.claims must still be what was verified.
JSON.parse = () => ({ forged: true });
for (const name of ["auth", "claims", "sub", "colo"]) {
  Object.defineProperty(Object.prototype, name, { set() { throw new Error(`setter ${name}`); }, configurable: true });
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    console.log(`worker saw ${request.method} ${url.pathname}`);
    return Response.json({ claims: request.cf?.auth?.claims ?? null, header: request.headers.get("x-claims") });
  },
};
"""


def problem(response):
    assert response.header("content-type") == "application/problem+json", (response.status, response.body)
    return json.loads(response.body)


class DevJwtTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rs = Key("RS256")
        cls.hs = Key("HS256")
        cls.remote = Key("EdDSA", kid="k1")
        cls.jwks = JwksServer([cls.remote])
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = sock.getsockname()[1]
        # A JWKS server that takes the connection and never answers.
        cls.silent = socket.socket()
        cls.silent.bind(("127.0.0.1", 0))
        cls.silent.listen(16)
        common = f'issuer = "{ISSUER}", audiences = ["{AUDIENCE}"]'
        cls.config = f"""
name = "dev-jwt"
main = "index.js"

[[policies]]
routes = ["example.com/rs/*"]
jwt = {{ {common}, algorithms = ["RS256"], keys = [{toml_string(cls.rs.public_pem())}], claims_header = "x-claims", realm = "dev" }}

[[policies]]
routes = ["example.com/hs/*"]
jwt = {{ {common}, algorithms = ["HS256"], secret = "JWT_KEY" }}

[[policies]]
routes = ["example.com/jwks/*"]
jwt = {{ {common}, algorithms = ["EdDSA"], jwks_url = "{cls.jwks.url}" }}

[[policies]]
routes = ["example.com/down/*"]
jwt = {{ {common}, algorithms = ["EdDSA"], jwks_url = "http://127.0.0.1:{dead}/jwks" }}

[[policies]]
routes = ["example.com/silent/*"]
jwt = {{ {common}, algorithms = ["EdDSA"], jwks_url = "http://127.0.0.1:{cls.silent.getsockname()[1]}/jwks" }}

[[policies]]
routes = ["example.com/combo/*"]
validate = {{ methods = ["POST"], content_types = ["application/json"], schema = {{ type = "object", required = ["n"] }} }}
jwt = {{ {common}, algorithms = ["RS256"], keys = [{toml_string(cls.rs.public_pem())}] }}
rate_limit = {{ requests = 1, period_s = 60, key = "jwt_sub" }}
"""
        cls.project = Project({"index.js": WORKER, ".dev.vars": "JWT_KEY=" + cls.hs.secret.decode() + "\n"},
                              config=cls.config)
        cls.edge = EdgeProcess(cls.project.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)
        cls.jwks.stop()
        cls.silent.close()

    def get(self, path, token=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        return self.edge.request(path=path, headers=headers, **kwargs)

    def test_valid_tokens_reach_the_worker(self):
        claims = default_claims(sub="erin", tags=["ü"])
        response = self.get("/rs/a", token=self.rs.token(claims), headers={"x-claims": "forged"})
        self.assertEqual(response.status, 200, response.body)
        seen = json.loads(response.body)
        self.assertEqual(seen["claims"], claims)
        self.assertEqual(json.loads(seen["header"]), claims)
        response = self.get("/hs/a", token=self.hs.token(claims))
        self.assertEqual((response.status, json.loads(response.body)["claims"]), (200, claims))
        # From the JWKS: the first request waits for the fetch, the next is served from the cache.
        for _ in range(3):
            response = self.get("/jwks/a", token=self.remote.token(claims))
            self.assertEqual((response.status, json.loads(response.body)["claims"]), (200, claims))
        self.assertEqual(self.jwks.count(), 1)
        # No policy, no claims; the claims header is the gateway's on every route.
        self.assertEqual(json.loads(self.get("/other", headers={"x-claims": "forged"}).body),
                         {"claims": None, "header": None})

    def test_bad_tokens_never_reach_the_worker(self):
        missing = self.get("/rs/bad")
        self.assertEqual((missing.status, problem(missing)["type"]), (401, "urn:edge:problem:jwt-missing"))
        self.assertEqual(missing.header("www-authenticate"), 'Bearer realm="dev"')
        for token in (self.rs.token(default_claims(exp=int(time.time()) - 3600)),
                      self.hs.token(), Key("RS256").token(), "a.b.c"):
            response = self.get("/rs/bad", token=token)
            self.assertEqual(response.status, 401, response.body)
            self.assertEqual(problem(response)["type"], "urn:edge:problem:jwt-invalid")
            self.assertIn('error="invalid_token"', response.header("www-authenticate"))
        down = self.get("/down/x", token=self.remote.token())
        self.assertEqual((down.status, problem(down)["type"]), (503, "urn:edge:problem:jwt-keys-unavailable"))
        combo = [
            (dict(method="GET", token=self.rs.token()), 405),
            (dict(method="POST", body=b'{"n":1}', headers={"content-type": "application/json"}), 401),
            (dict(method="POST", token=self.rs.token(default_claims(sub="frank")), body=b'{}',
                  headers={"content-type": "application/json"}), 400),
            (dict(method="POST", token=self.rs.token(default_claims(sub="frank")), body=b'{"n":1}',
                  headers={"content-type": "application/json"}), 429),
        ]
        for kwargs, status in combo:
            self.assertEqual(self.get("/combo/x", **kwargs).status, status, kwargs)
        # The last refusal's line: a request the worker saw would have been
        # logged before its answer, so before this line.
        self.assertTrue(self.edge.wait_for_log(r"POST /combo/x answered by the \w+ policy: 429"),
                        self.edge.log())
        log = self.edge.log()
        for path in ("/rs/bad", "/down/x", "/combo/x"):
            self.assertNotIn("worker saw GET " + path, log)
            self.assertNotIn("worker saw POST " + path, log)
        self.assertIn("answered by the jwt policy: 401", log)

    def test_a_jwks_that_never_answers_holds_no_thread(self):
        result = {}

        def waiting():
            started = time.time()
            with self.edge.connect(timeout=30) as sock:
                send_request(sock, "GET", "/silent/x", b"", {"Authorization": "Bearer " + self.remote.token()},
                             close=True)
                result["response"] = read_response(sock)
            result["seconds"] = time.time() - started

        thread = threading.Thread(target=waiting)
        thread.start()
        time.sleep(0.5)
        # The dev server has one loop: it serves others while the fetch hangs.
        started = time.time()
        self.assertEqual(self.get("/rs/meanwhile", token=self.rs.token()).status, 200)
        self.assertLess(time.time() - started, 5)
        self.assertTrue(thread.is_alive())
        thread.join(30)
        response = result["response"]
        self.assertEqual((response.status, problem(response)["type"]), (503, "urn:edge:problem:jwt-keys-unavailable"))
        self.assertIn("no answer in time", problem(response)["detail"])
        self.assertGreaterEqual(result["seconds"], 9)

    def test_a_bad_jwt_table_is_refused_at_start(self):
        project = Project({"index.js": WORKER},
                          config=self.config.replace('algorithms = ["HS256"]', 'algorithms = ["none"]'))
        try:
            with self.assertRaises(RuntimeError) as refused:
                EdgeProcess(project.dir, timeout=20)
            self.assertIn('policies[1].jwt.algorithms: "none" is not one of RS256, ES256, EdDSA, HS256',
                          str(refused.exception))
        finally:
            project.remove()


if __name__ == "__main__":
    unittest.main()
