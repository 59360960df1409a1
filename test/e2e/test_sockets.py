"""End-to-end: cloudflare:sockets. A worker that connects to a TCP echo
server the test starts, writes what the request carries and streams the
socket's readable side back as its response, under `edge dev` and, deployed,
under `edge serve` (which refuses loopback unless `--allow-fetch-to` allows
it, as for fetch())."""
import socket
import threading
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project

WORKER = r"""
import { connect } from "cloudflare:sockets";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const socket = connect(`127.0.0.1:${url.searchParams.get("port")}`);
    if (url.pathname === "/opened") {
      try {
        const info = await socket.opened;
        await socket.close();
        return new Response(`opened ${info.remoteAddress}`);
      } catch (e) {
        return new Response(`${e.name}: ${e.message}`, { status: 502 });
      }
    }
    const writer = socket.writable.getWriter();
    await writer.write(new TextEncoder().encode(await request.text()));
    await writer.close();
    // The echo of what was written, then the server's end: the socket's
    // readable side is the response body.
    return new Response(socket.readable);
  },
};
"""

CONFIG = 'name = "sockets"\nmain = "index.js"\n'


class EchoServer:
    """Echoes each connection's bytes; at the client's end, ends its own."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)

    def stop(self):
        self.listener.close()


class SocketsDevTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = EchoServer()
        cls.project = Project({"index.js": WORKER}, config=CONFIG)
        cls.edge = EdgeProcess(cls.project.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)
        cls.echo.stop()

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def test_a_worker_streams_a_socket_back(self):
        body = b"hello over tcp " * 1000
        response = self.edge.request("POST", f"/echo?port={self.echo.port}", body=body)
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body, body)

    def test_opened_and_a_refused_connection(self):
        response = self.edge.request("GET", f"/opened?port={self.echo.port}")
        self.assertEqual(response.body.decode(), f"opened 127.0.0.1:{self.echo.port}")
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        response = self.edge.request("GET", f"/opened?port={port}")
        self.assertEqual(response.status, 502)
        self.assertIn(b"Error: proxy request failed, cannot connect to the specified address",
                      response.body)


class SocketsServeTest(unittest.TestCase):
    def test_the_address_policy_applies_and_allowed_addresses_work(self):
        echo = EchoServer()
        refusing = NodeProcess(threads=1)
        allowing = NodeProcess("--allow-fetch-to", "127.0.0.0/8", threads=1)
        try:
            refusing.deploy_worker("sockets", WORKER, ["sockets.test/*"])
            response = refusing.request("sockets.test", f"/opened?port={echo.port}")
            self.assertEqual(response.status, 502, response.body)
            self.assertIn(b"loopback", response.body)
            self.assertEqual(echo.accepted, 0)
            self.assertTrue(refusing.alive())

            allowing.deploy_worker("sockets", WORKER, ["sockets.test/*"])
            body = b"served by a node " * 500
            response = allowing.request("sockets.test", f"/echo?port={echo.port}", method="POST",
                                        body=body)
            self.assertEqual(response.status, 200, response.body)
            self.assertEqual(response.body, body)
            self.assertTrue(allowing.alive())
        finally:
            refusing.remove()
            allowing.remove()
            echo.stop()


if __name__ == "__main__":
    unittest.main()
