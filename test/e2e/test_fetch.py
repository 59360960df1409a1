"""End-to-end: fetch() from a worker under `edge dev` to local upstreams.

The upstreams are Python servers started here: plain HTTP (streaming both
ways, redirects, a request that never gets an answer, a slow endpoint for the
pool bound) and HTTPS with certificates from a throwaway CA made with the
openssl command; `edge dev` trusts that CA through SSL_CERT_FILE.
"""
import http.server
import json
import os
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from edge_harness import (SOURCE_DIR, EdgeProcess, Project, read_response, received_chunks,
                          send_request)

WORKER = r"""
// A duck-typed AbortSignal when AbortController is not there (yet).
function makeAbort() {
  if (typeof AbortController === "function") {
    const controller = new AbortController();
    return { signal: controller.signal, abort: (r) => controller.abort(r) };
  }
  const listeners = [];
  const signal = {
    aborted: false, reason: undefined,
    addEventListener(type, fn) { if (type === "abort") listeners.push(fn); },
    removeEventListener(type, fn) { const i = listeners.indexOf(fn); if (i >= 0) listeners.splice(i, 1); },
  };
  return {
    signal,
    abort(reason) {
      signal.aborted = true;
      signal.reason = reason;
      for (const fn of listeners.splice(0)) fn();
    },
  };
}

function describe(e) { return `${e.name}: ${e.message}`; }

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const up = url.searchParams.get("upstream");
    switch (url.pathname) {
      case "/get": {
        const r = await fetch(`${up}/hello`, { headers: { "x-from-worker": "1" } });
        return new Response(`${r.status} ${r.statusText} ${r.headers.get("x-upstream")} ${await r.text()}`);
      }
      case "/stream-down": {
        // The upstream's body streams through as it arrives.
        const r = await fetch(`${up}/stream-down`);
        return new Response(r.body, { headers: { "x-upstream-status": String(r.status) } });
      }
      case "/stream-up": {
        let i = 0;
        const body = new ReadableStream({
          async pull(controller) {
            if (i === 3) return controller.close();
            await new Promise((r) => setTimeout(r, 150));
            controller.enqueue(new TextEncoder().encode(`piece${i++}`));
          },
        });
        const r = await fetch(`${up}/stream-up`, { method: "POST", body });
        return new Response(await r.text());
      }
      case "/redirect": {
        const mode = url.searchParams.get("mode");
        const status = url.searchParams.get("status") || "302";
        try {
          const r = await fetch(`${up}/redirect?status=${status}&to=/echo`, {
            redirect: mode, method: "POST", body: "payload",
          });
          return Response.json({
            status: r.status, redirected: r.redirected, url: r.url,
            location: r.headers.get("location"), body: await r.text(),
          });
        } catch (e) {
          return Response.json({ error: describe(e) });
        }
      }
      case "/abort": {
        const { signal, abort } = makeAbort();
        setTimeout(() => abort(), Number(url.searchParams.get("after") || 300));
        try {
          const r = await fetch(`${up}/hang`, { signal });
          return new Response(`not aborted: ${r.status}`);
        } catch (e) {
          return new Response(describe(e));
        }
      }
      case "/tls": {
        try {
          const r = await fetch(url.searchParams.get("target"));
          return new Response(`ok ${await r.text()}`);
        } catch (e) {
          return new Response(describe(e));
        }
      }
      case "/many": {
        const n = Number(url.searchParams.get("n"));
        let done = 0;
        try {
          for (let i = 0; i < n; i++) {
            await (await fetch(`${up}/hello`)).text();
            done++;
          }
          return new Response(`all ${done}`);
        } catch (e) {
          return new Response(`failed after ${done}: ${describe(e)}`);
        }
      }
      case "/slow": {
        const r = await fetch(`${up}/slow`);
        return new Response(await r.text());
      }
      case "/events": {
        // Server-sent events from the upstream, over a real connection: the
        // upstream ends the stream after two events and is reconnected to.
        const source = new EventSource(`${up}/events`);
        const seen = [];
        await new Promise((resolve) => {
          source.onopen = () => seen.push("open");
          source.onerror = () => seen.push(`error ${source.readyState}`);
          source.onmessage = (e) => {
            seen.push(`${e.data} #${e.lastEventId} from ${e.origin}`);
            if (seen.length >= 6) resolve();
          };
        });
        source.close();
        return Response.json(seen);
      }
    }
    return new Response("no such test", { status: 404 });
  },
};
"""


class Upstream(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """A keep-alive HTTP/1.1 server that counts its connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context=None):
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.lock = threading.Lock()
        self.accepted = 0
        self.open = 0
        self.max_open = 0
        self.hang_disconnected = threading.Event()
        self.upload_arrivals = []
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server_address[1]

    def process_request_thread(self, request, client_address):
        with self.lock:
            self.accepted += 1
            self.open += 1
            self.max_open = max(self.max_open, self.open)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.lock:
                self.open -= 1

    def handle_error(self, request, client_address):
        pass  # clients that go away (aborts, failed handshakes) are expected

    def stop(self):
        self.shutdown()
        self.server_close()


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=(), reason=None):
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            pieces = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return pieces
                pieces.append((time.monotonic(), self.rfile.read(size)))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        return [(time.monotonic(), self.rfile.read(length))] if length else []

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        pieces = self.read_body()
        path = parsed.path
        if path == "/hello":
            self.send(200, b"hello from upstream",
                      [("X-Upstream", "python"), ("X-Saw", self.headers.get("x-from-worker", ""))])
        elif path == "/echo":
            body = b"".join(p for _, p in pieces)
            self.send(200, f"{self.command} {body.decode()}".encode())
        elif path == "/stream-down":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(3):
                data = f"chunk{i};".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                time.sleep(0.3)
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/stream-up":
            chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
            arrivals = [t for t, _ in pieces]
            spread = arrivals[-1] - arrivals[0] if arrivals else 0
            body = json.dumps({"chunked": chunked, "pieces": [p.decode() for _, p in pieces],
                               "spread": spread})
            self.send(200, body.encode())
        elif path == "/redirect":
            self.send(int(query.get("status", "302")), b"moved", [("Location", query["to"])])
        elif path == "/hang":
            # Never answers; notes when the client goes away.
            conn = self.connection
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                readable, _, _ = select.select([conn], [], [], 0.05)
                if readable:
                    try:
                        if conn.recv(1, socket.MSG_PEEK) == b"":
                            break
                    except OSError:
                        break
            self.server.hang_disconnected.set()
            self.close_connection = True
        elif path == "/slow":
            time.sleep(0.1)
            self.send(200, b"slow")
        elif path == "/events":
            # Two events, then the end of the stream (the client reconnects,
            # saying the last id it saw); a retry of 1 s.
            last = self.headers.get("Last-Event-ID", "")
            accept = self.headers.get("Accept", "")
            start = 0 if last == "" else int(last) + 1
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(start, start + 2):
                data = f"retry: 1000\nid: {i}\ndata: event {i} ({accept})\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send(404, b"not found")


def make_certificates(folder):
    """A CA, a good certificate for localhost and an expired one, or None."""
    def run(*args):
        subprocess.run(args, cwd=folder, check=True, capture_output=True)

    try:
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=edge e2e CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "good.key",
            "-out", "good.csr", "-subj", "/CN=localhost")
        with open(os.path.join(folder, "good.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        run("openssl", "x509", "-req", "-in", "good.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "good.pem", "-days", "2", "-extfile", "good.ext")
        with open(os.path.join(folder, "ca.cnf"), "w") as f:
            f.write(f"[ca]\ndefault_ca=c\n[c]\ndir={folder}\ndatabase={folder}/index.txt\n"
                    f"serial={folder}/serial\nnew_certs_dir={folder}\ndefault_md=sha256\n"
                    "policy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n")
        open(os.path.join(folder, "index.txt"), "w").close()
        with open(os.path.join(folder, "serial"), "w") as f:
            f.write("1000\n")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "expired.key",
            "-out", "expired.csr", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        run("openssl", "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
            "-in", "expired.csr", "-out", "expired.pem",
            "-startdate", "20200101000000Z", "-enddate", "20200102000000Z")
    except (OSError, subprocess.CalledProcessError):
        return None
    return {name: os.path.join(folder, name)
            for name in ("ca.pem", "good.pem", "good.key", "expired.pem", "expired.key")}


def tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class FetchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream()
        cls.cert_dir = tempfile.mkdtemp(prefix="edge-e2e-certs-")
        cls.certs = make_certificates(cls.cert_dir)
        cls.tls_good = cls.tls_expired = None
        saved = os.environ.get("SSL_CERT_FILE")
        if cls.certs:
            cls.tls_good = Upstream(tls_context(cls.certs["good.pem"], cls.certs["good.key"]))
            cls.tls_expired = Upstream(tls_context(cls.certs["expired.pem"],
                                                   cls.certs["expired.key"]))
            os.environ["SSL_CERT_FILE"] = cls.certs["ca.pem"]
        cls.project = Project({"index.js": WORKER})
        try:
            cls.edge = EdgeProcess(cls.project.dir)
        finally:
            if saved is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = saved

    @classmethod
    def tearDownClass(cls):
        try:
            cls.edge.stop_and_remove(cls.project)
        finally:
            for server in (cls.upstream, cls.tls_good, cls.tls_expired):
                if server is not None:
                    server.stop()
            shutil.rmtree(cls.cert_dir, ignore_errors=True)

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def up(self, upstream=None):
        return f"http://127.0.0.1:{(upstream or self.upstream).port}"

    def get(self, path, **params):
        params.setdefault("upstream", self.up())
        query = urllib.parse.urlencode(params)
        return self.edge.request("GET", f"{path}?{query}")

    def test_get_with_headers(self):
        response = self.get("/get")
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body, b"200 OK python hello from upstream")

    def test_response_body_streams_through_as_it_arrives(self):
        query = urllib.parse.urlencode({"upstream": self.up()})
        with self.edge.connect() as sock:
            sock.sendall(f"GET /stream-down?{query} HTTP/1.1\r\nHost: localhost\r\n"
                         "Connection: close\r\n\r\n".encode())
            start = time.monotonic()
            sock.settimeout(10)
            first_data_at = None
            received = b""
            for data in received_chunks(sock):
                received += data
                if first_data_at is None and b"chunk0;" in received:
                    first_data_at = time.monotonic() - start
            total = time.monotonic() - start
        self.assertIn(b"x-upstream-status: 200", received.lower())
        for i in range(3):
            self.assertIn(f"chunk{i};".encode(), received)
        # The upstream takes ~0.9 s; its first chunk came through long before.
        self.assertIsNotNone(first_data_at)
        self.assertLess(first_data_at, total - 0.4, (first_data_at, total))

    def test_request_body_streams_out_as_it_is_produced(self):
        response = self.get("/stream-up")
        self.assertEqual(response.status, 200, response.body)
        result = json.loads(response.body)
        self.assertTrue(result["chunked"])
        self.assertEqual("".join(result["pieces"]), "piece0piece1piece2")
        self.assertGreaterEqual(len(result["pieces"]), 2)
        # The pieces reached the upstream as the worker produced them (150 ms apart).
        self.assertGreater(result["spread"], 0.15, result)

    def test_redirect_follow(self):
        result = json.loads(self.get("/redirect", mode="follow").body)
        self.assertEqual(result["status"], 200, result)
        self.assertTrue(result["redirected"])
        self.assertEqual(result["url"], self.up() + "/echo")
        self.assertEqual(result["body"], "GET ")  # a 302 turns POST into GET without a body
        result = json.loads(self.get("/redirect", mode="follow", status="307").body)
        self.assertEqual(result["body"], "POST payload")

    def test_redirect_manual_returns_the_redirect(self):
        result = json.loads(self.get("/redirect", mode="manual").body)
        self.assertEqual(result["status"], 302, result)
        self.assertFalse(result["redirected"])
        self.assertEqual(result["location"], "/echo")
        self.assertEqual(result["body"], "moved")

    def test_redirect_error_rejects(self):
        result = json.loads(self.get("/redirect", mode="error").body)
        self.assertIn("TypeError: Fetch failed", result.get("error", ""), result)
        self.assertIn('redirect mode is "error"', result["error"])

    def test_abort_cancels_the_request_and_frees_the_connection(self):
        self.upstream.hang_disconnected.clear()
        response = self.get("/abort", after="300")
        self.assertEqual(response.body, b"AbortError: The operation was aborted.")
        self.assertTrue(self.upstream.hang_disconnected.wait(5),
                        "the upstream connection stayed open after the abort")

    def test_trusted_certificate(self):
        if not self.certs:
            self.skipTest("the openssl command failed")
        response = self.get("/tls", target=f"https://localhost:{self.tls_good.port}/hello")
        self.assertEqual(response.body, b"ok hello from upstream")

    def test_bad_certificate_is_a_clear_type_error(self):
        if not self.certs:
            self.skipTest("the openssl command failed")
        response = self.get("/tls", target=f"https://localhost:{self.tls_expired.port}/hello")
        self.assertEqual(
            response.body,
            b"TypeError: TLS certificate verification failed for localhost: "
            b"the certificate has expired")
        # An IP address the certificate names is verified as such.
        response = self.get("/tls", target=f"https://127.0.0.1:{self.tls_good.port}/hello")
        self.assertEqual(response.body, b"ok hello from upstream")

    def test_subrequest_limit(self):
        self.assertEqual(self.get("/many", n="50").body, b"all 50")
        body = self.get("/many", n="51").body.decode()
        self.assertTrue(body.startswith("failed after 50: Error: Too many subrequests."), body)

    def test_event_source_reads_and_reconnects_with_the_last_event_id(self):
        response = self.get("/events")
        self.assertEqual(response.status, 200, response.body)
        origin = self.up()
        self.assertEqual(json.loads(response.body), [
            "open",
            f"event 0 (text/event-stream) #0 from {origin}",
            f"event 1 (text/event-stream) #1 from {origin}",
            "error 0",
            "open",
            f"event 2 (text/event-stream) #2 from {origin}",
        ])

    def test_pool_bound_holds_under_load(self):
        before = self.upstream.accepted
        with ThreadPoolExecutor(max_workers=100) as pool:
            bodies = list(pool.map(lambda _: self.get("/slow").body, range(200)))
        self.assertEqual(bodies, [b"slow"] * 200)
        # 200 concurrent invocations, one origin: at most 32 connections (the
        # default bound), reused across invocations.
        self.assertLessEqual(self.upstream.max_open, 32 + 1)  # +1: earlier tests' idle ones
        self.assertLessEqual(self.upstream.accepted - before, 32)


class ProxyExampleTest(unittest.TestCase):
    """examples/proxy, pointed at a local upstream."""

    def test_proxies_and_rewrites_headers(self):
        upstream = Upstream()
        folder = tempfile.mkdtemp(prefix="edge-e2e-proxy-")
        try:
            example = os.path.join(SOURCE_DIR, "examples", "proxy")
            shutil.copy(os.path.join(example, "index.js"), folder)
            with open(os.path.join(example, "edge.toml")) as f:
                config = f.read().replace("http://127.0.0.1:8080",
                                          f"http://127.0.0.1:{upstream.port}")
            with open(os.path.join(folder, "edge.toml"), "w") as f:
                f.write(config)
            edge = EdgeProcess(folder)
            try:
                response = edge.request("GET", "/hello")
                self.assertEqual(response.status, 200)
                self.assertEqual(response.body, b"hello from upstream")
                # The upstream's length is known, so it is passed on (as on Workers).
                self.assertEqual(response.header("content-length"), "19")
                self.assertEqual(response.header("x-proxied-by"), "edge")
                self.assertEqual(response.header("x-upstream"), "python")
                self.assertIsNone(response.header("server"))
                echoed = edge.request("POST", "/echo", body=b"sent through")
                self.assertEqual(echoed.body, b"POST sent through")
                moved = edge.request("GET", "/redirect?to=/elsewhere")
                self.assertEqual(moved.status, 302)  # redirect: "manual" passes it on
                self.assertEqual(moved.header("location"), "/elsewhere")
            finally:
                self.assertEqual(edge.stop(), 0)
        finally:
            upstream.stop()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
