"""End-to-end: WebSockets a worker accepts (WebSocketPair, a 101 Response),
under `edge dev` and `edge serve`, against the RFC 6455 client in
ws_client.py: echo of text and binary, fragmentation, ping/pong, the close
handshake both ways, the protocol errors (1002, 1007, 1009), subprotocols,
a 101 to a request that was no handshake, redeploys (1012), a worker that
floods a peer that does not read (stopped at its memory limit, the process
lives), hostile values, and the per-account cap of `edge serve`.
"""
import json
import struct
import time
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project
from ws_client import BINARY, CLOSE, CONTINUATION, PING, TEXT, HandshakeRefused, WsClient

WORKER = r"""
// The close events the server ends saw, for the tests to read.
const closes = [];
let opened = 0;

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/closes") return Response.json(closes);
    if (url.pathname === "/plain") return new Response("plain ok");
    if (url.pathname === "/fetch-ws") {
      // A WebSocket to a port where nothing listens fails with a clear error
      // (test_websocket_client.py covers the client side).
      try {
        await fetch("http://127.0.0.1:9/", { headers: { Upgrade: "websocket" } });
        return new Response("fetched");
      } catch (error) {
        return new Response(`${error.name}: ${error.message}`);
      }
    }
    if (url.pathname === "/pairs") {
      // Pairs that never reach a connection hold no slot and no socket.
      const pairs = [];
      const n = Number(url.searchParams.get("n"));
      for (let i = 0; i < n; i++) pairs.push(new WebSocketPair());
      return new Response(`made ${pairs.length}`);
    }
    if (url.pathname === "/local") {
      // Both ends in the isolate: messages and the close handshake.
      const [a, b] = Object.values(new WebSocketPair());
      const seen = [];
      const done = new Promise((resolve) => {
        a.accept();
        b.accept();
        b.addEventListener("message", (e) => { seen.push(`b:${e.data}`); b.send("pong:" + e.data); });
        a.addEventListener("message", (e) => { seen.push(`a:${e.data}`); a.close(4002, "enough"); });
        a.addEventListener("close", (e) => { seen.push(`a-close:${e.code}:${e.reason}:${e.wasClean}`); resolve(); });
        b.addEventListener("close", (e) => seen.push(`b-close:${e.code}:${e.reason}`));
      });
      a.send("ping");
      await done;
      return Response.json({ seen, states: [a.readyState, b.readyState] });
    }
    if (request.headers.get("Upgrade") !== "websocket" && url.pathname !== "/force") {
      return new Response("expected a WebSocket", { status: 426 });
    }
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    const path = url.pathname;
    server.addEventListener("close", (e) => {
      closes.push({ path, code: e.code, reason: e.reason, wasClean: e.wasClean, state: server.readyState });
    });
    server.addEventListener("error", () => closes.push({ path, error: true }));
    if (path === "/greet") server.send("hello before the response");
    server.addEventListener("message", (e) => {
      const data = e.data;
      if (data === "close-me") {
        server.close(4001, "asked");
      } else if (data === "state") {
        server.send(JSON.stringify({ readyState: server.readyState, protocol: server.protocol }));
      } else if (data === "flood") {
        // Sends forever to a peer that does not read.
        const chunk = "x".repeat(64 * 1024);
        for (;;) server.send(chunk);
      } else if (data === "hostile") {
        const results = [];
        const tryIt = (name, fn) => {
          try { fn(); results.push(`${name}:ok`); } catch (err) { results.push(`${name}:${err.name}`); }
        };
        tryIt("proxy-view", () => server.send(new Proxy(new Uint8Array(4), {})));
        tryIt("proxy", () => server.send(new Proxy({}, {})));
        const revocable = Proxy.revocable({}, {});
        revocable.revoke();
        tryIt("revoked", () => server.send(revocable.proxy));
        tryIt("throwing-toString", () => server.send({ toString() { throw new RangeError("no"); } }));
        tryIt("bad-code", () => server.close(1005));
        tryIt("long-reason", () => server.close(1000, "x".repeat(200)));
        tryIt("no-brand", () => WebSocket.prototype.send.call({}, "x"));
        tryIt("constructor", () => new WebSocket("ftp://example.com/"));
        server.send(JSON.stringify(results));
      } else {
        server.send(data);  // echo, text or binary
      }
    });
    const offered = request.headers.get("Sec-WebSocket-Protocol");
    const headers = offered ? { "Sec-WebSocket-Protocol": offered.split(",")[0].trim() } : {};
    opened++;
    return new Response(null, { status: 101, webSocket: client, headers });
  },
};
"""

# Prototypes poisoned before any request: the runtime's own paths must not care.
POISON = r"""
Object.defineProperty(Object.prototype, "webSocket", { get() { throw new Error("poisoned webSocket"); } });
Object.defineProperty(Object.prototype, "kind", { get() { throw new Error("poisoned kind"); } });
Object.defineProperty(Object.prototype, "data", { get() { throw new Error("poisoned data"); } });
Array.prototype[Symbol.iterator] = function* () { throw new Error("poisoned iterator"); };
Promise.prototype.then = function () { throw new Error("poisoned then"); };
"""

POISONED_WORKER = POISON + r"""
export default {
  fetch(request) {
    const pair = new WebSocketPair();
    const client = pair[0], server = pair[1];
    server.accept();
    server.addEventListener("message", (e) => server.send(e.data));
    return new Response(null, { status: 101, webSocket: client });
  },
};
"""


class WsTestMixin:
    """Tests that run against `self.port` (a dev server or a node)."""

    host = "localhost"
    # The host of the worker the flood test floods (it is stopped at its
    # memory limit); None: `host`.
    flood_host = None

    def connect(self, path="/echo", **kwargs):
        kwargs.setdefault("host", self.host)
        return WsClient(self.port, path, **kwargs)

    def closes(self, path):
        deadline = time.time() + 10
        while time.time() < deadline:
            got = [c for c in json.loads(self.http("/closes")) if c.get("path") == path]
            if got and any("code" in c for c in got):
                return got
            time.sleep(0.05)
        self.fail(f"no close event for {path}")

    def test_echo_text_and_binary(self):
        ws = self.connect()
        ws.send_text("héllo 👋")
        self.assertEqual(ws.recv(), ("text", "héllo 👋"))
        blob = bytes(range(256)) * 300
        ws.send_binary(blob)
        self.assertEqual(ws.recv(), ("binary", blob))
        ws.send_text("")
        self.assertEqual(ws.recv(), ("text", ""))
        ws.close()

    def test_fragments_and_ping_between_them(self):
        ws = self.connect()
        ws.send_frame(TEXT, "frag", fin=False)
        ws.send_frame(PING, b"are you there")
        ws.send_frame(CONTINUATION, "men", fin=False)
        ws.send_frame(CONTINUATION, "ted ✓", fin=True)
        self.assertEqual(ws.recv(), ("pong", b"are you there"))
        self.assertEqual(ws.recv(), ("text", "fragmented ✓"))
        ws.close()

    def test_client_close_handshake(self):
        ws = self.connect("/client-close")
        ws.send_text("one")
        self.assertEqual(ws.recv(), ("text", "one"))
        ws.send_close(4000, "bye")
        self.assertEqual(ws.recv(), ("close", (4000, "bye")))
        self.assertTrue(ws.expect_eof())
        ws.close()
        close = self.closes("/client-close")[-1]
        self.assertEqual(close, {"path": "/client-close", "code": 4000, "reason": "bye",
                                 "wasClean": True, "state": 3})

    def test_close_without_code_is_1005(self):
        ws = self.connect("/no-code")
        ws.send_close()
        self.assertEqual(ws.recv(), ("close", (None, "")))
        ws.close()
        self.assertEqual(self.closes("/no-code")[-1]["code"], 1005)

    def test_server_close_handshake(self):
        ws = self.connect("/server-close")
        ws.send_text("close-me")
        self.assertEqual(ws.recv(), ("close", (4001, "asked")))
        ws.send_close(4001, "asked")
        self.assertTrue(ws.expect_eof())
        ws.close()
        close = self.closes("/server-close")[-1]
        self.assertEqual((close["code"], close["wasClean"]), (4001, True))

    def test_invalid_utf8_is_1007(self):
        ws = self.connect("/bad-utf8")
        ws.send_frame(TEXT, b"\xce\xba\xff")
        kind, (code, _) = ws.recv()
        self.assertEqual((kind, code), ("close", 1007))
        self.assertTrue(ws.expect_eof())
        ws.close()
        got = self.closes("/bad-utf8")
        self.assertIn({"path": "/bad-utf8", "error": True}, got)
        self.assertEqual((got[-1]["code"], got[-1]["wasClean"]), (1007, False))

    def test_oversize_is_1009(self):
        ws = self.connect("/too-big")
        # Only the header of a 1 MiB + 1 frame: refused before the payload.
        ws.sock.sendall(WsClient.frame(BINARY, b"", length=(1 << 20) + 1) + b"abcd")
        kind, (code, _) = ws.recv()
        self.assertEqual((kind, code), ("close", 1009))
        ws.close()
        # Exactly 1 MiB is fine.
        ws = self.connect()
        data = b"\x07" * (1 << 20)
        ws.send_binary(data)
        self.assertEqual(ws.recv(), ("binary", data))
        ws.close()

    def test_unmasked_is_1002(self):
        ws = self.connect("/unmasked")
        ws.send_frame(TEXT, "naked", mask=False)
        kind, (code, _) = ws.recv()
        self.assertEqual((kind, code), ("close", 1002))
        ws.close()

    def test_reserved_bits_and_bad_close_codes_are_1002(self):
        ws = self.connect()
        ws.send_frame(TEXT, "x", rsv=0x40)
        self.assertEqual(ws.recv()[1][0], 1002)
        ws.close()
        ws = self.connect()
        ws.send_frame(CLOSE, struct.pack("!H", 1006))
        self.assertEqual(ws.recv()[1][0], 1002)
        ws.close()

    def test_abrupt_disconnect_is_1006(self):
        ws = self.connect("/abrupt")
        ws.send_text("x")
        self.assertEqual(ws.recv(), ("text", "x"))
        ws.close()
        close = self.closes("/abrupt")[-1]
        self.assertEqual((close["code"], close["wasClean"]), (1006, False))

    def test_message_sent_before_the_response(self):
        ws = self.connect("/greet")
        self.assertEqual(ws.recv(), ("text", "hello before the response"))
        ws.close()

    def test_subprotocol_passes_through(self):
        ws = self.connect(headers={"Sec-WebSocket-Protocol": "chat.v2, chat.v1"})
        self.assertEqual(ws.headers.get("sec-websocket-protocol"), "chat.v2")
        ws.close()

    def test_client_side_to_a_closed_port(self):
        text = self.http("/fetch-ws")
        self.assertTrue(text.startswith("TypeError: WebSocket connection to 127.0.0.1:9 failed"), text)

    def test_101_to_a_plain_request_is_500(self):
        status = self.http_status("/force")
        self.assertEqual(status, 500)
        self.assertEqual(self.http("/plain"), "plain ok")

    def test_pair_inside_the_isolate(self):
        got = json.loads(self.http("/local"))
        self.assertEqual(got["seen"], ["b:ping", "a:pong:ping", "b-close:4002:enough",
                                       "a-close:4002:enough:true"])
        self.assertEqual(got["states"], [3, 3])
        # 10,000 under edge dev; fewer on the node, in the worker's cpu_ms.
        n = self.pairs
        self.assertEqual(self.http(f"/pairs?n={n}"), f"made {n}")

    def test_hostile_values(self):
        ws = self.connect()
        ws.send_text("hostile")
        self.assertEqual(ws.recv(), ("text", "[object Object]"))
        kind, text = ws.recv()
        self.assertEqual(kind, "text")
        results = json.loads(text)
        # A Proxy is no buffer: it is sent as its string, if it has one.
        self.assertIn("proxy-view:TypeError", results)
        self.assertIn("proxy:ok", results)
        self.assertIn("revoked:TypeError", results)
        self.assertIn("throwing-toString:RangeError", results)
        self.assertIn("bad-code:InvalidAccessError", results)
        self.assertIn("long-reason:SyntaxError", results)
        self.assertIn("no-brand:TypeError", results)
        self.assertIn("constructor:SyntaxError", results)
        ws.send_text("still here")
        self.assertEqual(ws.recv(), ("text", "still here"))
        ws.close()

    def test_flood_to_a_peer_that_does_not_read(self):
        ws = self.connect("/flood", host=self.flood_host or self.host)
        ws.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
        ws.send_text("flood")
        # The worker buffers until its memory limit stops it; the process
        # lives and serves.
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.http("/plain") == "plain ok" and self.limit_hit():
                break
            time.sleep(0.2)
        self.assertTrue(self.limit_hit())
        ws.close()
        self.assertEqual(self.http("/plain"), "plain ok")


class DevWebSocketTest(WsTestMixin, unittest.TestCase):
    pairs = 10000
    @classmethod
    def setUpClass(cls):
        cls.project = Project({"index.js": WORKER})
        cls.edge = EdgeProcess(cls.project.dir)
        cls.port = cls.edge.port

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def http(self, path):
        response = self.edge.request("GET", path)
        return response.body.decode()

    def http_status(self, path):
        return self.edge.request("GET", path).status

    def limit_hit(self):
        return "Memory limit" in self.edge.log() or "memory limit" in self.edge.log()

    def test_reload_closes_with_1012(self):
        project = Project({"index.js": WORKER})
        edge = EdgeProcess(project.dir)
        try:
            ws = WsClient(edge.port, "/echo")
            ws.send_text("before")
            self.assertEqual(ws.recv(), ("text", "before"))
            project.write("index.js", WORKER + "\n// v2\n")
            self.assertTrue(edge.wait_for_log(r"[Rr]eloaded", timeout=20), edge.log())
            # The old version's socket ends with 1012 at its next look.
            deadline = time.time() + 20
            got = None
            while time.time() < deadline and got is None:
                edge.request("GET", "/plain")
                ws.sock.settimeout(0.5)
                try:
                    got = ws.recv()
                except OSError:
                    pass
            self.assertEqual(got[0], "close", got)
            self.assertEqual(got[1][0], 1012)
            ws.close()
        finally:
            edge.stop_and_remove(project)

    def test_poisoned_prototypes(self):
        project = Project({"index.js": POISONED_WORKER})
        edge = EdgeProcess(project.dir)
        try:
            ws = WsClient(edge.port, "/")
            ws.send_text("still works")
            self.assertEqual(ws.recv(), ("text", "still works"))
            ws.send_binary(b"\x01\x02")
            self.assertEqual(ws.recv(), ("binary", b"\x01\x02"))
            ws.send_close(1000)
            self.assertEqual(ws.recv(), ("close", (1000, "")))
            ws.close()
        finally:
            edge.stop_and_remove(project)


class NodeWebSocketTest(WsTestMixin, unittest.TestCase):
    host = "ws.example"
    # The tests read what the worker's isolate saw (/closes), so every
    # request must reach the one isolate (one serving thread). A worker
    # stopped at a limit runs on the quarantine thread for the next 30 s, in
    # a new isolate, then on its serving thread again, in another: the flood
    # goes to a worker of its own. And a worker charged more than
    # --heavy-cpu-us in 4 of its last 8 requests moves to a heavy lane, which
    # on a busy machine any worker can be (a short entry is charged its wall
    # time): the node has no heavy lanes.
    flood_host = "flood.example"
    pairs = 500

    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls, "--websockets-per-account", "5", "--heavy-cpu-us", "0",
                                         threads=1)
        # 32 MiB, so the flood meets its memory limit soon. Its default
        # cpu_ms would be 12 ms, which 500 pairs can use on a busy machine
        # (and the flood too, before its memory runs out): these tests are
        # about memory and sockets, not CPU.
        cls.node.deploy_worker("ws", WORKER, ["ws.example/*"],
                               "[limits]\nmemory_mb = 32\ncpu_ms = 1000\n")
        cls.node.deploy_worker("flood", WORKER, ["flood.example/*"],
                               "[limits]\nmemory_mb = 32\ncpu_ms = 1000\n")
        cls.port = cls.node.http_port

    def http(self, path):
        return self.node.request(self.host, path).body.decode()

    def http_status(self, path):
        return self.node.request(self.host, path).status

    def limit_hit(self):
        return any(r.get("outcome") == "exceededMemory" for r in self.node.access_records()) or \
            "memory limit" in self.node.log()

    def connect_when_room(self, path, timeout=10):
        """A socket on `path` once the account has room for it: the sockets
        of earlier tests were closed, but their slots go only when the
        worker takes their close."""
        deadline = time.time() + timeout
        while True:
            try:
                return self.connect(path)
            except HandshakeRefused:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    def refusals(self):
        return (json.dumps(self.node.access) + self.node.log()).count("Too many open WebSockets")

    def test_cap_per_account(self):
        open_sockets = []
        opened = 0
        try:
            for _ in range(5):
                open_sockets.append(self.connect_when_room("/cap"))
                opened += 1
            # Five open: a sixth is refused.
            before = self.refusals()
            with self.assertRaises(HandshakeRefused) as refused:
                self.connect("/cap-refused")
            self.assertEqual(refused.exception.status, 500)
            deadline = time.time() + 10
            while self.refusals() <= before:
                self.assertLess(time.time(), deadline, self.node.log())
                time.sleep(0.05)
            # One closes: there is room again.
            open_sockets[0].send_close(1000)
            open_sockets[0].recv()
            open_sockets[0].expect_eof()
            open_sockets.pop(0).close()
            open_sockets.append(self.connect_when_room("/cap"))
            opened += 1
            open_sockets[-1].send_text("room")
            self.assertEqual(open_sockets[-1].recv(), ("text", "room"))
        finally:
            for ws in open_sockets:
                ws.close()
            # The next tests need room: each slot goes when the worker takes
            # its socket's close (before its close event runs).
            deadline = time.time() + 10
            while len([c for c in json.loads(self.http("/closes"))
                       if c.get("path") == "/cap" and "code" in c]) < opened:
                self.assertLess(time.time(), deadline, self.node.log())
                time.sleep(0.05)

    def test_redeploy_closes_with_1012_and_delete_with_1001(self):
        self.node.deploy_worker("ws2", WORKER, ["ws2.example/*"])
        ws = WsClient(self.port, "/echo", host="ws2.example")
        ws.send_text("v1")
        self.assertEqual(ws.recv(), ("text", "v1"))
        self.node.deploy_worker("ws2", WORKER + "\n// v2\n", ["ws2.example/*"])
        # The new version takes over at the thread's next request for it.
        self.assertEqual(self.node.request("ws2.example", "/plain").body, b"plain ok")
        self.assertEqual(ws.recv(), ("close", (1012, "The worker was redeployed")))
        ws.send_close(1012)
        self.assertTrue(ws.expect_eof())
        ws.close()
        ws = WsClient(self.port, "/echo", host="ws2.example")
        ws.send_text("v2")
        self.assertEqual(ws.recv(), ("text", "v2"))
        status, _ = self.node.admin_json("DELETE", "/workers/ws2")
        self.assertEqual(status, 200)
        self.assertEqual(ws.recv(), ("close", (1001, "The worker was deleted")))
        ws.close()

    def test_service_binding_passes_a_websocket_on(self):
        front = r'''
export default {
  async fetch(request, env) {
    try {
      return await env.WS.fetch(request);
    } catch (error) {
      return new Response(`refused: ${error.message}`, { status: 502 });
    }
  },
};
'''
        self.node.deploy_worker("front", front, ["front.example/*"],
                                '[[services]]\nbinding = "WS"\nservice = "ws"\n')
        ws = WsClient(self.port, "/echo", host="front.example")
        ws.send_text("through front")
        self.assertEqual(ws.recv(), ("text", "through front"))
        ws.send_close(1000)
        self.assertEqual(ws.recv(), ("close", (1000, "")))
        ws.close()

    def test_101_is_metered(self):
        ws = self.connect("/metered")
        ws.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if any(r.get("status") == 101 for r in self.node.access_records()):
                break
            time.sleep(0.05)
        self.assertTrue(any(r.get("status") == 101 and r.get("outcome") == "ok"
                            for r in self.node.access_records()))


if __name__ == "__main__":
    unittest.main()
