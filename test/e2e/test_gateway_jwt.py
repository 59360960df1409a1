"""End-to-end: the `jwt` route policy under `edge serve` (gateway/policy).

A node with two serving threads whose outbound address policy allows
127.0.0.1 only (node.toml's allow_fetch_to), a worker whose [[policies]]
protect routes with RS256, ES256, EdDSA and HS256 keys inline or from a
JWKS served by a Python server in the test, and a route with jwt +
validate.schema + rate_limit keyed by the token's subject. Checked: valid
tokens reach the worker with their claims (request.cf.auth.claims and the
claims header); every kind of bad token is a 401 with a Bearer challenge and
a problem body, counted as refused, never entering an isolate; JWKS rotation
(a new kid is accepted after one refetch, and a flood of unknown kids costs
at most one fetch a minute); a JWKS that cannot be fetched (server down, or
a private address the node's policy refuses) is a 503; the edge tail and
access log show jwt refusals.
"""
import json
import os
import socket
import tempfile
import threading
import time
import unittest

from edge_harness import NodeProcess, wait_for
from jwt_helpers import AUDIENCE, ISSUER, JwksServer, Key, b64url, default_claims, hs256_token, toml_string

WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    console.log(`worker saw ${request.method} ${url.pathname}`);
    const body = request.method === "POST" ? await request.text() : null;
    return Response.json({
      claims: request.cf?.auth?.claims ?? null,
      header: request.headers.get("x-jwt-claims"),
      colo: request.cf?.colo,
      body,
    });
  },
};
"""

SCHEMA = '{ type = "object", required = ["qty"], properties = { qty = { type = "integer", minimum = 1 } } }'


def config(keys, jwks_url, dead_url, private_url):
    rs, es, ed = keys["RS256"], keys["ES256"], keys["EdDSA"]
    common = f'issuer = "{ISSUER}", audiences = ["{AUDIENCE}"]'
    es_jwk = es.jwk()
    es_table = "{ " + ", ".join(f"{k} = {toml_string(v)}" for k, v in es_jwk.items()) + " }"
    return f"""
[[policies]]
routes = ["jwt.test/rs/*"]
jwt = {{ {common}, algorithms = ["RS256", "HS256"], keys = [{toml_string(rs.public_pem())}], claims_header = "x-jwt-claims" }}

[[policies]]
routes = ["jwt.test/es/*"]
jwt = {{ {common}, algorithms = ["ES256"], keys = [{es_table}] }}

[[policies]]
routes = ["jwt.test/ed/*"]
jwt = {{ {common}, algorithms = ["EdDSA"], keys = [{toml_string(json.dumps(ed.jwk()))}] }}

[[policies]]
routes = ["jwt.test/hs/*"]
jwt = {{ {common}, algorithms = ["HS256"], secret = "JWT_SECRET" }}

[[policies]]
routes = ["jwt.test/jwks/*"]
jwt = {{ {common}, algorithms = ["RS256", "ES256"], jwks_url = "{jwks_url}", required_claims = ["exp", "sub"] }}

[[policies]]
routes = ["jwt.test/down/*"]
jwt = {{ {common}, algorithms = ["RS256"], jwks_url = "{dead_url}" }}

[[policies]]
routes = ["jwt.test/private/*"]
jwt = {{ {common}, algorithms = ["RS256"], jwks_url = "{private_url}" }}

[[policies]]
routes = ["jwt.test/combo/*"]
validate = {{ methods = ["POST"], content_types = ["application/json"], max_body_bytes = 1024, schema = {SCHEMA} }}
jwt = {{ {common}, algorithms = ["ES256"], keys = [{es_table}], required_claims = ["exp", "scope"] }}
rate_limit = {{ requests = 2, period_s = 60, key = "jwt_sub" }}
"""


def problem(response):
    assert response.header("content-type") == "application/problem+json", (response.status, response.body)
    body = json.loads(response.body)
    assert set(body) == {"type", "title", "status", "detail"}, body
    assert body["status"] == response.status, body
    return body


def dead_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GatewayJwtTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = {alg: Key(alg) for alg in ("RS256", "ES256", "EdDSA", "HS256")}
        cls.jwks_a = Key("RS256", kid="a")
        cls.jwks_b = Key("ES256", kid="b")
        cls.jwks = JwksServer([cls.jwks_a])
        cls.addClassCleanup(cls.jwks.stop)
        cls.config_dir = tempfile.mkdtemp(prefix="edge-jwt-")
        node_toml = os.path.join(cls.config_dir, "node.toml")
        cls.operator_key = Key("EdDSA", kid="ops")
        with open(node_toml, "w") as f:
            f.write('allow_fetch_to = ["127.0.0.1/32"]\n\n[[host_policies]]\nhosts = ["ops.test"]\n'
                    f'jwt = {{ algorithms = ["EdDSA"], keys = [{toml_string(json.dumps(cls.operator_key.jwk()))}], '
                    'required_claims = [] }\n')
        cls.node = NodeProcess.for_class(cls, "--config", node_toml, threads=2)
        port = cls.jwks.port
        cls.node.deploy_worker("jwt", WORKER, ["jwt.test/*", "ops.test/*"], config(
            cls.keys, cls.jwks.url, f"http://127.0.0.1:{dead_port()}/jwks", f"http://127.0.0.2:{port}/jwks"))
        result = cls.node.cli("secret", "put", "JWT_SECRET", "--to", cls.node.admin_url,
                              "--token-file", cls.node.token_file, "--name", "jwt",
                              input=cls.keys["HS256"].secret.decode() + "\n")
        assert result.returncode == 0, result.stderr
        # The JWKS's first fetch: the minute before another may start runs from here.
        cls.first_fetch = time.time()
        response = cls.send("/jwks/x", token=cls.jwks_a.token())
        assert response.status == 200, (response.status, response.body)
        assert cls.jwks.count() == 1, cls.jwks.count()

    @classmethod
    def send(cls, path, token=None, method="GET", body=b"", headers=None):
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = "Bearer " + token
        return cls.node.request("jwt.test", path, method=method, body=body, headers=all_headers)

    def get(self, path, **kwargs):
        return self.send(path, **kwargs)

    def admitted(self, response):
        self.assertEqual(response.status, 200, response.body)
        return json.loads(response.body)

    def refused(self, response, status=401, kind="jwt-invalid", reason=None):
        self.assertEqual(response.status, status, response.body)
        body = problem(response)
        self.assertEqual(body["type"], "urn:edge:problem:" + kind)
        if reason:
            self.assertIn(f"({reason})", body["detail"])
        return body

    def test_valid_tokens_of_each_algorithm_reach_the_worker_with_their_claims(self):
        for path, key in (("/rs/a", self.keys["RS256"]), ("/es/a", self.keys["ES256"]),
                          ("/ed/a", self.keys["EdDSA"]), ("/hs/a", self.keys["HS256"])):
            claims = default_claims(sub="sub-" + key.alg, name="Zoë 😀", roles=["a", "b"])
            seen = self.admitted(self.get(path, token=key.token(claims)))
            self.assertEqual(seen["claims"], claims, path)
        # The claims header carries the same object, in ASCII; a client's own is removed.
        claims = default_claims(name="Zoë 😀")
        seen = self.admitted(self.get("/rs/b", token=self.keys["RS256"].token(claims),
                                      headers={"x-jwt-claims": '{"sub":"root"}'}))
        self.assertEqual(json.loads(seen["header"]), claims)
        self.assertTrue(seen["header"].isascii())
        seen = self.admitted(self.get("/open", headers={"x-jwt-claims": '{"sub":"root"}'}))
        self.assertEqual((seen["header"], seen["claims"]), (None, None))

    def test_the_operators_jwt_policy_runs_first(self):
        response = self.node.request("ops.test", "/")
        self.refused(response, kind="jwt-missing")
        token = self.operator_key.token({"sub": "ops-user"})
        seen = self.admitted(self.node.request("ops.test", "/", headers={"Authorization": "Bearer " + token}))
        self.assertEqual(seen["claims"], {"sub": "ops-user"})
        # A worker's key is not the operator's.
        response = self.node.request("ops.test", "/", headers={
            "Authorization": "Bearer " + Key("EdDSA", kid="ops").token({"sub": "x"})})
        self.refused(response, reason="bad_signature")

    def test_bad_tokens_are_401_with_a_bearer_challenge(self):
        rs = self.keys["RS256"]
        now = int(time.time())
        response = self.get("/rs/x")
        self.refused(response, kind="jwt-missing")
        self.assertEqual(response.header("www-authenticate"), 'Bearer realm="edge"')
        cases = [
            (rs.token(default_claims(exp=now - 3600)), "expired"),
            (rs.token(default_claims(nbf=now + 3600)), "not_yet_valid"),
            (rs.token(default_claims(iss="https://evil.test")), "wrong_issuer"),
            (rs.token(default_claims(aud="other")), "wrong_audience"),
            (rs.token({"iss": ISSUER, "aud": AUDIENCE}), "missing_claim"),
            (b64url('{"alg":"none"}') + "." + b64url(json.dumps(default_claims())) + "." + b64url(b"x" * 32), "alg_none"),
            # HS256 is listed, and the RSA public key is no HMAC secret.
            (hs256_token(rs.public_pem().encode(), default_claims()), "unknown_key"),
            (self.keys["ES256"].token(), "alg_not_allowed"),
            (Key("RS256").token(), "bad_signature"),
            ("not.a.jwt", "malformed"),
            ("x" * 20000, "too_large"),
        ]
        before = self.node.worker_usage("jwt")
        for token, reason in cases:
            response = self.get("/rs/x", token=token)
            self.refused(response, reason=reason)
            challenge = response.header("www-authenticate")
            self.assertTrue(challenge.startswith('Bearer realm="edge", error="invalid_token", error_description="'),
                            challenge)
        # None of them entered an isolate: refused, not invocations, and the worker never logged them.
        after = self.node.worker_usage("jwt", lambda usage: usage["refused"] >= before["refused"] + len(cases))
        self.assertEqual(after["refused"], before["refused"] + len(cases))
        self.assertEqual(after["invocations"], before["invocations"])
        # The access log is written in batches, after the answer: wait for
        # the refusals' lines. A worker's console line would come before its
        # request's access line, so once these are in, any would be too.
        def refusals():
            return [r for r in self.node.access_records()
                    if r.get("outcome") == "policyRefused" and r.get("url", "").endswith("/rs/x")]
        records = wait_for(lambda: len(refusals()) >= len(cases) and refusals(), 10)
        self.assertTrue(records and all(r.get("policy") == "jwt" and r["status"] == 401 for r in records),
                        refusals())
        self.assertNotIn("worker saw GET /rs/x", json.dumps(self.node.access_records("console")))
        metrics = self.node.admin("GET", "/metrics").body.decode()
        self.assertRegex(metrics, r'edge_requests_total\{worker="jwt",status_class="4xx",outcome="policyRefused"\} \d+')

    def test_jwt_schema_and_rate_limit_on_one_route(self):
        es = self.keys["ES256"]
        json_type = {"Content-Type": "application/json"}
        good = es.token(default_claims(sub="carol", scope="orders"))
        cases = [
            (dict(method="GET", token=good), 405, "method-not-allowed"),
            (dict(method="POST", token=good, body=b"<a/>", headers={"Content-Type": "text/xml"}), 415,
             "unsupported-media-type"),
            (dict(method="POST", body=b'{"qty":1}', headers=json_type), 401, "jwt-missing"),
            (dict(method="POST", token=es.token(default_claims(sub="carol")), body=b'{"qty":1}',
                  headers=json_type), 401, "jwt-invalid"),
            (dict(method="POST", token=good, body=b'{"qty":0}', headers=json_type), 400, "schema-violation"),
        ]
        for kwargs, status, kind in cases:
            self.refused(self.get("/combo/order", **kwargs), status=status, kind=kind)
        # Two tokens a minute per subject (the schema failure above took one).
        seen = self.admitted(self.get("/combo/order", method="POST", token=good, body=b'{"qty":2}', headers=json_type))
        self.assertEqual((seen["body"], seen["claims"]["sub"]), ('{"qty":2}', "carol"))
        response = self.get("/combo/order", method="POST", token=good, body=b'{"qty":3}', headers=json_type)
        self.refused(response, status=429, kind="rate-limited")
        self.assertIsNotNone(response.header("retry-after"))
        # Another subject has its own bucket; the same subject's new token does not.
        other = es.token(default_claims(sub="dave", scope="orders"))
        self.admitted(self.get("/combo/order", method="POST", token=other, body=b'{"qty":2}', headers=json_type))
        again = es.token(default_claims(sub="carol", scope="orders", jti="2"))
        self.refused(self.get("/combo/order", method="POST", token=again, body=b'{"qty":2}', headers=json_type),
                     status=429, kind="rate-limited")

    def test_a_jwks_that_cannot_be_fetched_is_503(self):
        token = Key("RS256").token()
        # Nothing listens there: no keys at all, so no token can be checked.
        response = self.get("/down/x", token=token)
        body = self.refused(response, status=503, kind="jwt-keys-unavailable")
        self.assertEqual(response.header("retry-after"), "60")
        self.assertIn("/jwks", body["detail"])
        # 127.0.0.2 is loopback, outside what the node allows: refused as fetch() would be.
        body = self.refused(self.get("/private/x", token=token), status=503, kind="jwt-keys-unavailable")
        self.assertIn("loopback", body["detail"])

    def test_z_jwks_rotation_and_unknown_kid_floods(self):
        # Named to run last: it waits out the minute after the first fetch.
        fetches = self.jwks.count()
        self.admitted(self.get("/jwks/a", token=self.jwks_a.token()))  # cached: no fetch
        self.assertEqual(self.jwks.count(), fetches)
        # The server rotates to a new key; tokens with kids the cache lacks
        # come in a flood, from several connections at once.
        self.jwks.keys = [self.jwks_b]
        within_minute = time.time() - self.first_fetch < 50
        statuses = []
        lock = threading.Lock()

        def flood(n):
            for i in range(n):
                key = Key("ES256", kid=f"forged-{threading.get_ident()}-{i}")
                response = self.get("/jwks/f", token=key.token())
                with lock:
                    statuses.append(response.status)

        threads = [threading.Thread(target=flood, args=(10,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(set(statuses), {401})
        # Within the minute of the last fetch, no fetch: the flood cost nothing.
        if within_minute:
            self.assertEqual(self.jwks.count(), fetches)
        # Once the minute is over, the new kid brings one refetch and is accepted.
        time.sleep(max(0, self.first_fetch + 61 - time.time()))
        before = self.jwks.count()
        seen = self.admitted(self.get("/jwks/b", token=self.jwks_b.token(default_claims(sub="bob"))))
        self.assertEqual(seen["claims"]["sub"], "bob")
        self.assertEqual(self.jwks.count(), before + 1)
        # Another flood right after: at most that one fetch this minute.
        threads = [threading.Thread(target=flood, args=(10,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(self.jwks.count(), before + 1)
        # The old key is gone from the set.
        self.refused(self.get("/jwks/a", token=self.jwks_a.token()), reason="unknown_key")
        # The JWKS server goes down: the cached set keeps serving known kids.
        self.jwks.stop()
        self.admitted(self.get("/jwks/b", token=self.jwks_b.token()))

    def test_edge_tail_shows_jwt_refusals(self):
        event = self.node.tail_request_event(
            "jwt", "/rs/tail", lambda: self.assertEqual(self.get("/rs/tail", token="bad").status, 401))
        self.assertIsNotNone(event, "edge tail did not show the refusal")
        self.assertEqual((event["status"], event["outcome"], event["policy"]), (401, "policyRefused", "jwt"))

    def test_bad_jwt_configs_are_deploy_errors(self):
        from edge_harness import make_worker
        for extra, message in (
                ('[[policies]]\njwt = { algorithms = ["RS512"], jwks_url = "https://idp.test/jwks" }\n',
                 'policies[0].jwt.algorithms: "RS512" is not one of RS256, ES256, EdDSA, HS256'),
                ('[[policies]]\njwt = { algorithms = ["RS256"] }\n',
                 "policies[0].jwt needs exactly one of keys, secret, jwks_url"),
                ('[[policies]]\njwt = { algorithms = ["RS256"], keys = ["-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----"] }\n',
                 "policies[0].jwt.keys[0]: "),
                ('[[policies]]\njwt = { algorithms = ["RS256"], jwks_url = "https://idp.test/jwks", clock_skew_s = 3600 }\n',
                 "policies[0].jwt.clock_skew_s must be an integer from 0 to 600")):
            project = make_worker("broken", WORKER, ["broken.test/*"], extra)
            self.node.projects.append(project)
            result = self.node.deploy(project.dir)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(message, result.stderr)
        self.assertEqual(self.node.request("broken.test", "/").status, 404)


if __name__ == "__main__":
    unittest.main()
