"""End-to-end: WebSockets a worker opens itself (`new WebSocket(url)`,
`fetch()` with `Upgrade: websocket`), proxies (a fetched WebSocket returned
in the worker's own 101) and gets through a service binding, under `edge
dev` and `edge serve`, against an RFC 6455 server written here (plain and
TLS with a throwaway CA, as test_fetch.py makes): echo of text and binary,
fragmented messages, ping/pong, close codes both ways, the protocol errors
the client raises (1002 for a masked server frame, 1007, 1009), a refused
handshake, a server that never answers it, a server that floods a worker
that never reads, hostile values, the address policy and the per-account
cap of a node.
"""
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import tempfile
import shutil
import threading
import time
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project, read_response, send_request
from test_fetch import make_certificates, tls_context
from ws_client import HandshakeRefused, WsClient

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsServer:
    """A WebSocket server: what each connection does depends on its path.
    Records, per path, what the client sent (its close code, its pongs)."""

    def __init__(self, context=None):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.context = context
        self.seen = {}
        self.flood_sent = 0
        self.accepted = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def note(self, path, what):
        with self.lock:
            self.seen.setdefault(path, []).append(what)

    def stop(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def frame(opcode, payload, fin=True, mask=False):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        mask_bit = 0x80 if mask else 0
        if n < 126:
            head += bytes([mask_bit | n])
        elif n < 65536:
            head += bytes([mask_bit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            head += key
        return head + payload

    @staticmethod
    def read_exact(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def read_frame(self, conn):
        b0, b1 = self.read_exact(conn, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exact(conn, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(conn, 8))[0]
        masked = bool(b1 & 0x80)
        key = self.read_exact(conn, 4) if masked else b""
        payload = self.read_exact(conn, n)
        if masked:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return b0 & 0x80, b0 & 0x0F, payload, masked

    def _serve(self, conn):
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.note(path, {"headers": headers})
            if path == "/silent":
                time.sleep(30)
                return
            if path == "/refuse":
                body = b"no WebSockets here"
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
                return
            accept = base64.b64encode(hashlib.sha1(
                (headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
            if path == "/bad-accept":
                accept = base64.b64encode(b"x" * 20).decode()
            extra = ""
            if "sec-websocket-protocol" in headers:
                extra = "Sec-WebSocket-Protocol: " + \
                    headers["sec-websocket-protocol"].split(",")[0].strip() + "\r\n"
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n" +
                          extra + "\r\n").encode())
            self._after_handshake(conn, path)
        except (EOFError, OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _after_handshake(self, conn, path):
        if path == "/fragmented":
            conn.sendall(self.frame(1, b"hel", fin=False) + self.frame(9, b"mid-ping") +
                         self.frame(0, b"lo ", fin=False) + self.frame(0, b"world"))
        elif path == "/ping":
            conn.sendall(self.frame(9, b"are you there"))
        elif path == "/server-close":
            conn.sendall(self.frame(1, b"bye soon") + self.frame(8, struct.pack("!H", 4000) + b"bye"))
        elif path == "/masked":
            conn.sendall(self.frame(1, b"masked!", mask=True))
        elif path == "/bad-utf8":
            conn.sendall(self.frame(1, b"\xff\xfe"))
        elif path == "/too-big":
            conn.sendall(self.frame(2, b"\0" * ((1 << 20) + 1)))
        elif path == "/flood":
            chunk = self.frame(2, b"f" * 65536)
            conn.settimeout(20)
            try:
                for _ in range(2000):  # 128 MiB unless the client stops reading
                    conn.sendall(chunk)
                    self.flood_sent += len(chunk)
            except (OSError, socket.timeout):
                pass
            return
        while True:
            fin, opcode, payload, masked = self.read_frame(conn)
            if not masked:
                self.note(path, {"unmasked": opcode})
            if opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.note(path, {"close": code, "reason": payload[2:].decode()})
                try:
                    conn.sendall(self.frame(8, payload))
                except OSError:
                    pass
                return
            if opcode == 9:
                conn.sendall(self.frame(10, payload))
            elif opcode == 10:
                self.note(path, {"pong": payload.decode()})
            elif opcode in (1, 2):
                conn.sendall(self.frame(opcode, payload))


CLIENT = r"""
function collect(ws, sendFirst) {
  // Every event of a WebSocket until its close, as strings.
  const events = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ events, timeout: true }), 8000);
    ws.addEventListener("open", () => {
      events.push(`open:${ws.protocol}`);
      for (const m of sendFirst) ws.send(m);
    });
    ws.addEventListener("message", (e) => {
      const d = typeof e.data === "string" ? e.data : `bin:${new Uint8Array(e.data).join(",")}`;
      events.push(`message:${d}`);
      if (d.endsWith("done") || d === "bin:1,2,3") ws.close(1000, "thanks");
    });
    ws.addEventListener("error", () => events.push("error"));
    ws.addEventListener("close", (e) => {
      events.push(`close:${e.code}:${e.reason}:${e.wasClean}`);
      clearTimeout(timer);
      resolve({ events, readyState: ws.readyState });
    });
  });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const to = url.searchParams.get("to");
    try {
      switch (url.pathname) {
        case "/ctor": {
          const ws = new WebSocket(to, ["chat.v1", "chat.v2"]);
          const first = [ws.readyState, ws.url, ws.binaryType, ws.extensions, ws.bufferedAmount];
          const send = JSON.parse(url.searchParams.get("send") || "[]");
          const got = await collect(ws, send.map((m) => (m === "BIN" ? new Uint8Array([1, 2, 3]) : m)));
          return Response.json({ first, ...got });
        }
        case "/fetch": {
          const r = await fetch(to, { headers: { Upgrade: "websocket", "X-Hello": "there" } });
          const ws = r.webSocket;
          if (ws === null) return Response.json({ status: r.status, body: await r.text() });
          ws.accept();
          const done = collect(ws, []);
          ws.send("héllo");
          ws.send("done");
          const got = await done;
          return Response.json({ status: r.status, upgrade: r.headers.get("upgrade"), ...got });
        }
        case "/events": {
          // Only what the server does, until it or the runtime closes.
          const r = await fetch(to, { headers: { Upgrade: "websocket" } });
          r.webSocket.accept();
          const got = await collect(r.webSocket, []);
          if (url.searchParams.get("echo")) r.webSocket.send("late");
          return Response.json(got);
        }
        case "/close-code": {
          const ws = new WebSocket(to);
          const got = collect(ws, []);
          ws.addEventListener("open", () => ws.close(4321, "custom"));
          return Response.json(await got);
        }
        case "/unread": {
          // Accepts nothing: the server floods, the socket is not read.
          const r = await fetch(to, { headers: { Upgrade: "websocket" } });
          globalThis.kept = r.webSocket;
          return new Response(`unread ${r.status}`);
        }
        case "/proxy": {
          const r = await fetch(to, { headers: { Upgrade: "websocket" } });
          return new Response(null, { status: 101, webSocket: r.webSocket });
        }
        case "/svc-proxy":
          return env.SVC.fetch(request);
        case "/svc-inside": {
          const r = await env.SVC.fetch("http://svc/", { headers: { Upgrade: "websocket" } });
          const ws = r.webSocket;
          ws.accept();
          const done = collect(ws, []);
          ws.send("through the binding");
          ws.send("done");
          return Response.json({ status: r.status, ...(await done) });
        }
        case "/many": {
          const n = Number(url.searchParams.get("n"));
          const sockets = [];
          try {
            for (let i = 0; i < n; i++) {
              const r = await fetch(to, { headers: { Upgrade: "websocket" } });
              sockets.push(r.webSocket);
            }
            return new Response(`opened ${sockets.length}`);
          } catch (e) {
            return new Response(`${e.name} after ${sockets.length}: ${e.message}`);
          } finally {
            for (const ws of sockets) { ws.accept(); ws.close(1000); }
          }
        }
        case "/hostile": {
          const results = [];
          const tryIt = async (name, fn) => {
            try { await fn(); results.push(`${name}:ok`); } catch (e) { results.push(`${name}:${e.name}`); }
          };
          const revocable = Proxy.revocable([], {});
          revocable.revoke();
          await tryIt("revoked-protocols", () => new WebSocket(to, revocable.proxy));
          await tryIt("proxy-protocols", () => new WebSocket(to, new Proxy(["a b"], {})));
          await tryIt("throwing-url", () => new WebSocket({ toString() { throw new RangeError("no"); } }));
          await tryIt("bad-scheme", () => new WebSocket("ftp://example.com/"));
          await tryIt("fragment", () => new WebSocket("ws://example.com/#x"));
          await tryIt("dup-protocols", () => new WebSocket(to, ["a", "a"]));
          await tryIt("endless-protocols", () => new WebSocket(to, { *[Symbol.iterator]() { for (;;) yield "p"; } }));
          await tryIt("post-upgrade", () => fetch(to, { method: "POST", body: "x", headers: { Upgrade: "websocket" } }));
          await tryIt("ftp-upgrade", () => fetch("ftp://example.com/", { headers: { Upgrade: "websocket" } }));
          // Poisoned built-ins, then a whole exchange.
          Object.defineProperty(Object.prototype, "data", { get() { throw new Error("poisoned data"); }, configurable: true });
          Object.defineProperty(Object.prototype, "kind", { get() { throw new Error("poisoned kind"); }, configurable: true });
          const then = Promise.prototype.then;
          const iterator = Array.prototype[Symbol.iterator];
          const dispatch = EventTarget.prototype.dispatchEvent;
          Array.prototype[Symbol.iterator] = function* () { throw new Error("poisoned iterator"); };
          EventTarget.prototype.dispatchEvent = () => { throw new Error("poisoned dispatch"); };
          let got;
          try {
            const ws = new WebSocket(to, "chat.v1");
            Promise.prototype.then = function () { throw new Error("poisoned then"); };
            got = await new Promise((resolve) => {
              ws.onopen = () => ws.send("poisoned but working");
              ws.onmessage = (e) => { ws.close(1000); resolve(`echo:${e.data}`); };
              ws.onerror = () => resolve("error");
              setTimeout(() => resolve("timeout"), 5000);
            });
          } finally {
            Promise.prototype.then = then;
            Array.prototype[Symbol.iterator] = iterator;
            EventTarget.prototype.dispatchEvent = dispatch;
            delete Object.prototype.data;
            delete Object.prototype.kind;
          }
          return Response.json({ results, got });
        }
        case "/never-settles": {
          // A handler that never settles: the invocation holds, the
          // process lives.
          const ws = new WebSocket(to);
          ws.onmessage = () => new Promise(() => {});
          ws.onopen = () => ws.send("x");
          return new Response("left open");
        }
      }
    } catch (e) {
      return new Response(`${e.name}: ${e.message}`, { status: 500 });
    }
    return new Response("not found", { status: 404 });
  },
};
"""

# The worker behind the service binding: a WebSocketPair echo.
BACKEND = r"""
export default {
  fetch(request) {
    const pair = new WebSocketPair();
    pair[1].accept();
    pair[1].addEventListener("message", (e) => pair[1].send(`backend:${e.data}`));
    return new Response(null, { status: 101, webSocket: pair[0] });
  },
};
"""


class ClientMixin:
    def get(self, path):
        raise NotImplementedError

    def ws_url(self, path, tls=False):
        if tls:
            return f"wss://localhost:{self.tls_server.port}{path}"
        return f"ws://127.0.0.1:{self.server.port}{path}"

    def json(self, path):
        status, body = self.get(path)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def seen(self, path, key, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.server.lock:
                items = [s for s in self.server.seen.get(path, []) if key in s]
            if items:
                return items
            time.sleep(0.05)
        self.fail(f"the server saw no {key} on {path}: {self.server.seen.get(path)}")

    def test_constructor_echo_text_and_binary(self):
        got = self.json("/ctor?to=" + self.ws_url("/echo") + '&send=["héllo","BIN"]')
        self.assertEqual(got["first"][0], 0)  # CONNECTING
        self.assertEqual(got["first"][1], self.ws_url("/echo"))
        self.assertEqual(got["first"][3:], ["", 0])
        self.assertEqual(got["events"], ["open:chat.v1", "message:héllo", "message:bin:1,2,3",
                                         "close:1000:thanks:true"])
        self.assertEqual(got["readyState"], 3)
        headers = self.seen("/echo", "headers")[-1]["headers"]
        self.assertEqual(headers["sec-websocket-protocol"], "chat.v1, chat.v2")
        self.assertEqual(headers["sec-websocket-version"], "13")
        self.assertNotIn("unmasked", json.dumps(self.server.seen.get("/echo")))

    def test_fetch_upgrade(self):
        got = self.json("/fetch?to=" + self.ws_url("/echo2"))
        self.assertEqual(got["status"], 101)
        self.assertEqual(got["upgrade"].lower(), "websocket")
        self.assertEqual(got["events"], ["message:héllo", "message:done", "close:1000:thanks:true"])
        self.assertEqual(self.seen("/echo2", "headers")[-1]["headers"]["x-hello"], "there")
        self.assertEqual(self.seen("/echo2", "close")[-1]["close"], 1000)
        # http: URLs work as ws: ones do.
        got = self.json(f"/fetch?to=http://127.0.0.1:{self.server.port}/echo3")
        self.assertEqual(got["status"], 101)

    def test_tls(self):
        if self.tls_server is None:
            self.skipTest("no openssl command")
        got = self.json("/ctor?to=" + self.ws_url("/echo", tls=True) + '&send=["done"]')
        self.assertEqual(got["events"], ["open:chat.v1", "message:done", "close:1000:thanks:true"])
        got = self.json("/fetch?to=" + self.ws_url("/tls-fetch", tls=True))
        self.assertEqual(got["status"], 101)

    def test_fragmented_message_and_ping(self):
        got = self.json("/events?to=" + self.ws_url("/fragmented") + "&echo=1")
        self.assertTrue(got.get("timeout") or "message:hello world" in got["events"], got)
        self.assertEqual(got["events"][0], "message:hello world")
        self.assertEqual(self.seen("/fragmented", "pong")[0]["pong"], "mid-ping")
        got = self.json("/ctor?to=" + self.ws_url("/ping") + '&send=["done"]')
        self.assertEqual(got["events"], ["open:chat.v1", "message:done", "close:1000:thanks:true"])
        self.assertEqual(self.seen("/ping", "pong")[0]["pong"], "are you there")

    def test_close_codes(self):
        got = self.json("/events?to=" + self.ws_url("/server-close"))
        self.assertEqual(got["events"], ["message:bye soon", "close:4000:bye:true"])
        got = self.json("/close-code?to=" + self.ws_url("/client-close"))
        self.assertEqual(got["events"], ["open:", "close:4321:custom:true"])
        self.assertEqual(self.seen("/client-close", "close")[0]["reason"], "custom")

    def test_protocol_errors(self):
        for path, code in (("/masked", 1002), ("/bad-utf8", 1007), ("/too-big", 1009)):
            got = self.json("/events?to=" + self.ws_url(path))
            self.assertEqual(got["events"][-2:][0], "error", got)
            self.assertTrue(got["events"][-1].startswith(f"close:{code}:"), got)
            self.assertTrue(got["events"][-1].endswith(":false"), got)
            self.assertEqual(self.seen(path, "close")[0]["close"], code)

    def test_refused_and_broken_handshakes(self):
        got = self.json("/fetch?to=" + self.ws_url("/refuse"))
        self.assertEqual(got, {"status": 403, "body": "no WebSockets here"})
        got = self.json("/ctor?to=" + self.ws_url("/refuse"))
        self.assertEqual(got["events"], ["error", "close:1006::false"])
        status, body = self.get("/fetch?to=" + self.ws_url("/bad-accept"))
        self.assertEqual(status, 500)
        self.assertIn("Sec-WebSocket-Accept", body)

    def test_server_that_never_answers(self):
        start = time.time()
        status, body = self.get("/fetch?to=" + self.ws_url("/silent"))
        self.assertEqual(status, 500)
        self.assertIn("did not complete within", body)
        self.assertLess(time.time() - start, 25)

    def test_flood_while_the_worker_never_reads(self):
        self.server.flood_sent = 0
        status, body = self.get("/unread?to=" + self.ws_url("/flood"))
        self.assertEqual((status, body), (200, "unread 101"))
        time.sleep(3)
        # The socket is read up to about 1 MiB, then TCP pushes back: the
        # server gets nowhere near its 128 MiB.
        self.assertLess(self.server.flood_sent, 32 << 20)
        self.assertTrue(self.alive())
        self.assertEqual(self.get("/fetch?to=" + self.ws_url("/after-flood"))[0], 200)

    def test_hostile_values(self):
        got = self.json("/hostile?to=" + self.ws_url("/hostile"))
        results = got["results"]
        self.assertIn("revoked-protocols:TypeError", results)
        self.assertIn("proxy-protocols:SyntaxError", results)
        self.assertIn("throwing-url:RangeError", results)
        self.assertIn("bad-scheme:SyntaxError", results)
        self.assertIn("fragment:SyntaxError", results)
        self.assertIn("dup-protocols:SyntaxError", results)
        self.assertIn("endless-protocols:SyntaxError", results)
        self.assertIn("post-upgrade:TypeError", results)
        self.assertIn("ftp-upgrade:TypeError", results)
        self.assertEqual(got["got"], "echo:poisoned but working")
        status, body = self.get("/never-settles?to=" + self.ws_url("/echo-never"))
        self.assertEqual((status, body), (200, "left open"))
        self.assertTrue(self.alive())

    def test_proxying(self):
        ws = WsClient(self.port, "/proxy?to=" + self.ws_url("/proxied"), host=self.host)
        ws.send_text("through the proxy")
        self.assertEqual(ws.recv(), ("text", "through the proxy"))
        ws.send_binary(b"\x00\x01binary")
        self.assertEqual(ws.recv(), ("binary", b"\x00\x01binary"))
        ws.send_close(4005, "proxy done")
        self.assertEqual(ws.recv(), ("close", (4005, "proxy done")))
        ws.close()
        self.assertEqual(self.seen("/proxied", "close")[0]["close"], 4005)

    def test_service_binding(self):
        got = self.json("/svc-inside")
        self.assertEqual(got["status"], 101)
        self.assertEqual(got["events"], ["message:backend:through the binding",
                                         "message:backend:done", "close:1000:thanks:true"])
        # Returned on to the client.
        ws = WsClient(self.port, "/svc-proxy", host=self.host)
        ws.send_text("hi")
        self.assertEqual(ws.recv(), ("text", "backend:hi"))
        ws.send_close(1000)
        self.assertEqual(ws.recv(), ("close", (1000, "")))
        ws.close()


def start_servers(cls):
    cls.server = WsServer()
    cls.cert_dir = tempfile.mkdtemp(prefix="edge-e2e-certs-")
    cls.certs = make_certificates(cls.cert_dir)
    cls.tls_server = None
    if cls.certs:
        cls.tls_server = WsServer(tls_context(cls.certs["good.pem"], cls.certs["good.key"]))


def cert_env(cls):
    """The throwaway CA, trusted by the edge process started with it."""
    return {"SSL_CERT_FILE": cls.certs["ca.pem"]} if cls.certs else {}


def stop_servers(cls):
    cls.server.stop()
    if cls.tls_server:
        cls.tls_server.stop()
    shutil.rmtree(cls.cert_dir, ignore_errors=True)


class DevClientTest(ClientMixin, unittest.TestCase):
    host = "localhost"

    @classmethod
    def setUpClass(cls):
        start_servers(cls)
        cls.backend = Project({"index.js": BACKEND}, config='name = "backend"\nmain = "index.js"\n')
        cls.project = Project({"index.js": CLIENT}, config=(
            'name = "client"\nmain = "index.js"\n'
            '[[services]]\nbinding = "SVC"\nservice = "backend"\n'))
        cls.edge = EdgeProcess(cls.project.dir, cls.backend.dir, extra_env=cert_env(cls))
        cls.port = cls.edge.port

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)
        cls.backend.remove()
        stop_servers(cls)

    def get(self, path):
        with self.edge.connect(timeout=40) as sock:
            send_request(sock, "GET", path, b"", None, close=True)
            response = read_response(sock)
        return response.status, response.body.decode()

    def alive(self):
        return self.edge.alive()

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def test_subrequest_limit_counts_websockets(self):
        text = self.get("/many?n=60&to=" + self.ws_url("/many"))[1]
        self.assertRegex(text, r"^Error after 50: Too many subrequests")


class NodeClientTest(ClientMixin, unittest.TestCase):
    host = "client.example"

    @classmethod
    def setUpClass(cls):
        start_servers(cls)
        cls.node = NodeProcess.for_class(cls, "--allow-fetch-to", "127.0.0.0/8", threads=1,
                                         extra_env=cert_env(cls))
        cls.node.deploy_worker("backend", BACKEND, ["backend.example/*"])
        cls.node.deploy_worker("client", CLIENT, ["client.example/*"],
                               '[[services]]\nbinding = "SVC"\nservice = "backend"\n')
        cls.port = cls.node.http_port

    @classmethod
    def tearDownClass(cls):
        stop_servers(cls)

    def get(self, path):
        response = self.node.request(self.host, path, timeout=40)
        return response.status, response.body.decode()

    def alive(self):
        return self.node.alive()

    def tearDown(self):
        self.assertTrue(self.node.alive(), "edge serve died:\n" + self.node.log())

    def test_per_account_cap_counts_client_sockets(self):
        capped = NodeProcess("--allow-fetch-to", "127.0.0.0/8", "--websockets-per-account", "3",
                             threads=1)
        try:
            capped.deploy_worker("client", CLIENT, ["client.example/*"])
            text = capped.request("client.example", "/many?n=5&to=" + self.ws_url("/cap")).body
            self.assertRegex(text.decode(), r"^RangeError after 3: Too many open WebSockets")
            # They closed with their invocation's end: there is room again.
            deadline = time.time() + 10
            while True:
                text = capped.request("client.example", "/many?n=3&to=" + self.ws_url("/cap")).body
                if text == b"opened 3" or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(text, b"opened 3")
        finally:
            capped.remove()

    def test_address_policy(self):
        refusing = NodeProcess(threads=1)
        try:
            refusing.deploy_worker("client", CLIENT, ["client.example/*"])
            before = self.server.accepted
            response = refusing.request("client.example", "/fetch?to=" + self.ws_url("/policy"))
            self.assertEqual(response.status, 500, response.body)
            self.assertIn(b"loopback", response.body)
            self.assertEqual(self.server.accepted, before)
            self.assertTrue(refusing.alive())
        finally:
            refusing.remove()


if __name__ == "__main__":
    unittest.main()
