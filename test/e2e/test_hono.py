"""End-to-end: a Hono app, bundled with esbuild from the npm registry, runs
unmodified under `edge dev`.

The app is built at test time: `npm install` of pinned hono and esbuild into a
cache folder keyed by the pinned versions (so reruns are fast and offline),
then `esbuild --bundle --format=esm`. If the registry cannot be reached (and
nothing is cached), the tests are skipped, not failed.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from edge_harness import EdgeProcess, Project, read_response, send_request

HONO_VERSION = "4.13.19"
ESBUILD_VERSION = "0.28.2"

PACKAGE_JSON = json.dumps({
    "name": "edge-e2e-hono",
    "private": True,
    "type": "module",
    "dependencies": {"hono": HONO_VERSION, "esbuild": ESBUILD_VERSION},
}, indent=2) + "\n"

JWT_SECRET = "edge-e2e-secret"

APP = r"""
import { Hono } from "hono";
import { cors } from "hono/cors";
import { basicAuth } from "hono/basic-auth";
import { jwt, sign } from "hono/jwt";
import { etag } from "hono/etag";
import { stream } from "hono/streaming";

const app = new Hono();

app.get("/", (c) => c.text("hello from hono"));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
app.get("/posts/:post/comments/:comment", (c) =>
  c.json({ post: c.req.param("post"), comment: c.req.param("comment") }));
app.get("/files/*", (c) => c.text("wildcard " + c.req.path));
app.post("/echo", async (c) => {
  const body = await c.req.json();
  return c.json({ got: body, query: c.req.query("q") ?? null }, 201);
});
app.get("/env", (c) => c.json({ greeting: c.env.GREETING }));

app.use("/api/*", cors({
  origin: "https://example.com",
  allowMethods: ["GET", "POST", "PUT"],
  allowHeaders: ["X-Custom"],
  maxAge: 600,
}));
app.get("/api/data", (c) => c.json({ data: 1 }));
app.put("/api/data", (c) => c.json({ put: true }));

app.use("/admin/*", basicAuth({ username: "admin", password: "s3cret" }));
app.get("/admin/panel", (c) => c.text("admin ok"));

app.get("/token", async (c) => {
  const token = await sign({ sub: "user-1", role: "tester" }, c.env.JWT_SECRET, "HS256");
  return c.json({ token });
});
app.use("/protected/*", (c, next) => jwt({ secret: c.env.JWT_SECRET, alg: "HS256" })(c, next));
app.get("/protected/me", (c) => c.json(c.get("jwtPayload")));

app.use("/etag/*", etag());
app.get("/etag/doc", (c) => c.text("a document whose etag is stable"));

app.get("/stream", (c) =>
  stream(c, async (s) => {
    for (let i = 0; i < 5; i++) {
      await s.write("chunk" + i + ";");
      await s.sleep(60);
    }
  }));

app.notFound((c) => c.json({ error: "not found", path: c.req.path }, 404));

export default app;
"""

EDGE_TOML = f"""name = "hono-app"
main = "dist/worker.js"

[vars]
GREETING = "hi from vars"
JWT_SECRET = "{JWT_SECRET}"
"""


def _cache_root():
    base = os.environ.get("EDGE_BUILD_DIR") or os.path.join(tempfile.gettempdir(), "edge-e2e-cache")
    key = hashlib.sha256(PACKAGE_JSON.encode()).hexdigest()[:16]
    return os.path.join(base, "hono-" + key)


def _run(cmd, cwd, timeout):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)


def _install_packages():
    """Returns the folder with node_modules, or raises unittest.SkipTest."""
    root = _cache_root()
    marker = os.path.join(root, ".installed")
    if os.path.exists(marker):
        return root
    for tool in ("npm", "node"):
        if shutil.which(tool) is None:
            raise unittest.SkipTest(f"`{tool}` is not installed")
    # Install into a fresh folder and rename it in place, so an interrupted
    # install never leaves a half-filled cache behind.
    os.makedirs(os.path.dirname(root), exist_ok=True)
    staging = tempfile.mkdtemp(prefix="hono-staging-", dir=os.path.dirname(root))
    try:
        with open(os.path.join(staging, "package.json"), "w") as f:
            f.write(PACKAGE_JSON)
        try:
            # Few, short retries: an unreachable registry should skip the
            # tests in seconds, not after npm's minutes of backoff.
            result = _run(["npm", "install", "--no-audit", "--no-fund", "--save-exact",
                           "--prefer-offline", "--fetch-retries=1",
                           "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=3000",
                           "--fetch-timeout=60000"],
                          staging, timeout=180)
        except subprocess.TimeoutExpired:
            raise unittest.SkipTest("npm install timed out: is registry.npmjs.org reachable?")
        if result.returncode != 0:
            errors = [line for line in result.stdout.splitlines() if line.startswith("npm error")]
            raise unittest.SkipTest(
                f"npm install of hono@{HONO_VERSION} esbuild@{ESBUILD_VERSION} failed "
                "(registry unreachable?): " + " | ".join(errors[:4]))
        open(os.path.join(staging, ".installed"), "w").close()
        try:
            os.rename(staging, root)
        except OSError:
            if not os.path.exists(marker):  # not a concurrent run that won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def _bundle(modules_dir, project_dir):
    """Bundles APP into project_dir/dist/worker.js with the cached esbuild."""
    src = os.path.join(modules_dir, "src")
    os.makedirs(src, exist_ok=True)
    entry = os.path.join(src, f"index-{os.getpid()}.js")
    with open(entry, "w") as f:
        f.write(APP)
    esbuild = os.path.join(modules_dir, "node_modules", ".bin", "esbuild")
    result = _run([esbuild, entry, "--bundle", "--format=esm", "--platform=neutral",
                   "--target=es2022", "--main-fields=module,main",
                   "--conditions=worker,browser",
                   "--outfile=" + os.path.join(project_dir, "dist", "worker.js")],
                  modules_dir, timeout=120)
    os.remove(entry)
    if result.returncode != 0:
        raise AssertionError("esbuild failed:\n" + result.stdout)


def _basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class HonoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        modules_dir = _install_packages()
        cls.project = Project({}, config=EDGE_TOML)
        try:
            _bundle(modules_dir, cls.project.dir)
            cls.edge = EdgeProcess(cls.project.dir)
        except Exception:
            cls.project.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def get_json(self, path, status=200, **kwargs):
        response = self.edge.request("GET", path, **kwargs)
        self.assertEqual(response.status, status, response.body.decode(errors="replace") +
                         "\n" + self.edge.log())
        self.assertTrue(response.header("content-type").startswith("application/json"),
                        response.header("content-type"))
        return json.loads(response.body)

    # Routing

    def test_text_route(self):
        response = self.edge.request("GET", "/")
        self.assertEqual(response.status, 200, self.edge.log())
        self.assertEqual(response.body, b"hello from hono")
        self.assertTrue(response.header("content-type").startswith("text/plain"))

    def test_path_params(self):
        self.assertEqual(self.get_json("/users/42"), {"id": "42"})
        self.assertEqual(self.get_json("/users/caf%C3%A9"), {"id": "café"})
        self.assertEqual(self.get_json("/posts/7/comments/abc"), {"post": "7", "comment": "abc"})

    def test_wildcard(self):
        response = self.edge.request("GET", "/files/a/b/c.txt")
        self.assertEqual(response.status, 200, self.edge.log())
        self.assertEqual(response.body, b"wildcard /files/a/b/c.txt")

    def test_not_found(self):
        self.assertEqual(self.get_json("/nowhere", status=404),
                         {"error": "not found", "path": "/nowhere"})
        # A known path with an unrouted method is a 404 too.
        response = self.edge.request("DELETE", "/users/1")
        self.assertEqual(response.status, 404)

    # JSON

    def test_json_body_and_status(self):
        response = self.edge.request("POST", "/echo?q=x%20y", body=b'{"a":[1,2],"b":"\xc3\xa9"}',
                                     headers={"Content-Type": "application/json"})
        self.assertEqual(response.status, 201, self.edge.log())
        self.assertTrue(response.header("content-type").startswith("application/json"))
        self.assertEqual(json.loads(response.body), {"got": {"a": [1, 2], "b": "é"}, "query": "x y"})

    def test_env_vars(self):
        self.assertEqual(self.get_json("/env"), {"greeting": "hi from vars"})

    # CORS

    def test_cors_simple_request(self):
        response = self.edge.request("GET", "/api/data", headers={"Origin": "https://example.com"})
        self.assertEqual(response.status, 200, self.edge.log())
        self.assertEqual(json.loads(response.body), {"data": 1})
        self.assertEqual(response.header("access-control-allow-origin"), "https://example.com")
        self.assertIn("origin", (response.header("vary") or "").lower())

    def test_cors_preflight(self):
        response = self.edge.request("OPTIONS", "/api/data", headers={
            "Origin": "https://example.com",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-Custom",
        })
        self.assertEqual(response.status, 204, self.edge.log())
        self.assertEqual(response.body, b"")
        self.assertEqual(response.header("access-control-allow-origin"), "https://example.com")
        self.assertEqual(response.header("access-control-allow-methods"), "GET,POST,PUT")
        self.assertEqual(response.header("access-control-allow-headers"), "X-Custom")
        self.assertEqual(response.header("access-control-max-age"), "600")

    def test_cors_preflight_is_followed_by_the_request_on_one_connection(self):
        # A 204 has no body: the next response on the connection must be intact.
        with self.edge.connect() as sock:
            send_request(sock, "OPTIONS", "/api/data", headers={
                "Origin": "https://example.com", "Access-Control-Request-Method": "PUT"})
            self.assertEqual(read_response(sock).status, 204)
            send_request(sock, "PUT", "/api/data", headers={"Origin": "https://example.com"},
                         close=True)
            response = read_response(sock)
            self.assertEqual(response.status, 200)
            self.assertEqual(json.loads(response.body), {"put": True})

    # Basic auth

    def test_basic_auth(self):
        response = self.edge.request("GET", "/admin/panel")
        self.assertEqual(response.status, 401, self.edge.log())
        self.assertIn("Basic", response.header("www-authenticate") or "")
        response = self.edge.request("GET", "/admin/panel",
                                     headers={"Authorization": _basic("admin", "wrong")})
        self.assertEqual(response.status, 401)
        response = self.edge.request("GET", "/admin/panel",
                                     headers={"Authorization": _basic("admin", "s3cret")})
        self.assertEqual(response.status, 200, self.edge.log())
        self.assertEqual(response.body, b"admin ok")

    # JWT

    def test_jwt_sign_then_verify(self):
        token = self.get_json("/token")["token"]
        header, payload, signature = token.split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)
        self.assertEqual(json.loads(base64.urlsafe_b64decode(pad(header))),
                         {"alg": "HS256", "typ": "JWT"})
        # The signature is HMAC-SHA256 of header.payload with the secret.
        import hmac
        expected = hmac.new(JWT_SECRET.encode(), f"{header}.{payload}".encode(),
                            hashlib.sha256).digest()
        self.assertEqual(base64.urlsafe_b64decode(pad(signature)), expected)

        me = self.get_json("/protected/me", headers={"Authorization": "Bearer " + token})
        self.assertEqual(me, {"sub": "user-1", "role": "tester"})

    def test_jwt_refuses_bad_tokens(self):
        response = self.edge.request("GET", "/protected/me")
        self.assertEqual(response.status, 401, self.edge.log())
        token = self.get_json("/token")["token"]
        header, payload, signature = token.split(".")
        tampered_payload = base64.urlsafe_b64encode(
            b'{"sub":"admin","role":"tester"}').decode().rstrip("=")
        for bad in (f"{header}.{tampered_payload}.{signature}",
                    f"{header}.{payload}.{signature[:-4]}AAAA",
                    "not-a-jwt"):
            response = self.edge.request("GET", "/protected/me",
                                         headers={"Authorization": "Bearer " + bad})
            self.assertEqual(response.status, 401, bad + "\n" + self.edge.log())

    # ETag

    def test_etag_and_if_none_match(self):
        first = self.edge.request("GET", "/etag/doc")
        self.assertEqual(first.status, 200, self.edge.log())
        tag = first.header("etag")
        self.assertIsNotNone(tag)
        self.assertRegex(tag, r'^(W/)?"[0-9a-f]+"$')
        self.assertEqual(self.edge.request("GET", "/etag/doc").header("etag"), tag)
        with self.edge.connect() as sock:
            send_request(sock, "GET", "/etag/doc", headers={"If-None-Match": tag})
            not_modified = read_response(sock)
            self.assertEqual(not_modified.status, 304, self.edge.log())
            self.assertEqual(not_modified.header("etag"), tag)
            # No body follows a 304: the next response must be intact.
            send_request(sock, "GET", "/etag/doc", headers={"If-None-Match": '"other"'},
                         close=True)
            again = read_response(sock)
            self.assertEqual(again.status, 200)
            self.assertEqual(again.body, b"a document whose etag is stable")

    # Streaming

    def test_stream_arrives_chunked_and_in_order(self):
        with self.edge.connect() as sock:
            send_request(sock, "GET", "/stream", close=True)
            start = time.monotonic()
            data = b""
            arrivals = []  # (seconds since the request, bytes so far)
            while True:
                piece = sock.recv(65536)
                if not piece:
                    break
                data += piece
                arrivals.append((time.monotonic() - start, len(data)))
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"\r\ntransfer-encoding: chunked", head.lower())
        # Decode the chunked framing.
        decoded, chunks, rest = b"", [], body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            chunks.append(rest[:size])
            self.assertEqual(rest[size:size + 2], b"\r\n")
            rest = rest[size + 2:]
        decoded = b"".join(chunks)
        self.assertEqual(decoded, b"chunk0;chunk1;chunk2;chunk3;chunk4;")
        self.assertGreaterEqual(len(chunks), 5, chunks)
        # The chunks were sent as written, not all at the end: the first byte
        # came long before the last (5 writes, 60 ms apart).
        first_at = next(t for t, n in arrivals if n > len(head) + 4)
        last_at = arrivals[-1][0]
        self.assertGreater(last_at - first_at, 0.15, arrivals)


if __name__ == "__main__":
    unittest.main()
