"""A worker stopped by its CPU limit moves to the quarantine thread for a
while: it keeps answering correctly there (request bodies, streamed
responses, console lines), and its requests no longer run on the serving
threads."""
import socket
import time
import unittest

from edge_harness import NodeProcess, make_worker, read_response

SOURCE = """
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/spin") for (;;) {}
    if (url.pathname === "/echo") {
      const text = await request.text();
      console.log("echoing", text.length);
      return new Response(text.toUpperCase());
    }
    if (url.pathname === "/stream") {
      const { readable, writable } = new TransformStream();
      const writer = writable.getWriter();
      (async () => {
        for (let i = 0; i < 50; i++) await writer.write(new TextEncoder().encode("x".repeat(4096)));
        await writer.close();
      })();
      return new Response(readable);
    }
    return new Response("fine");
  },
};
"""


class QuarantineTest(unittest.TestCase):
    def test_a_worker_over_its_limit_is_served_from_the_quarantine_thread(self):
        node = NodeProcess(threads=2)
        project = make_worker("noisy", SOURCE, ["noisy.test/*"],
                              extra_config="[limits]\ncpu_ms = 50\n")
        try:
            result = node.deploy(project.dir)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(node.request("noisy.test").body, b"fine")
            killed = node.request("noisy.test", "/spin")
            self.assertEqual(killed.status, 500)
            self.assertIn(b"CPU time limit", killed.body)
            # The node's log is read from its stderr as it comes.
            deadline = time.time() + 10
            while time.time() < deadline and "quarantine" not in node.log():
                time.sleep(0.05)
            self.assertIn("quarantine", node.log())
            metrics = node.admin("GET", "/metrics").body.decode()
            self.assertRegex(metrics, r"(?m)^edge_quarantined_workers 1$")

            # Served from there: a body in, a streamed body out, console lines.
            echo = node.request("noisy.test", "/echo", method="POST", body=b"hello " * 5000)
            self.assertEqual(echo.status, 200)
            self.assertEqual(echo.body, b"HELLO " * 5000)
            with socket.create_connection(("127.0.0.1", node.http_port), timeout=30) as sock:
                sock.sendall(b"POST /echo HTTP/1.1\r\nHost: noisy.test\r\n"
                             b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                             b"5\r\nabcde\r\n3\r\nfgh\r\n0\r\n\r\n")
                chunked = read_response(sock)
            self.assertEqual(chunked.status, 200)
            self.assertEqual(chunked.body, b"ABCDEFGH")
            stream = node.request("noisy.test", "/stream")
            self.assertEqual(stream.status, 200)
            self.assertEqual(len(stream.body), 50 * 4096)
            # Killed again there, the node and the worker go on.
            self.assertEqual(node.request("noisy.test", "/spin").status, 500)
            self.assertEqual(node.request("noisy.test").body, b"fine")
            self.assertTrue(node.alive())
            # Access-log lines are read from the node's stdout as they come.
            deadline = time.time() + 10
            while time.time() < deadline and len(
                    [r for r in node.access_records() if r["worker"] == "noisy"]) < 7:
                time.sleep(0.05)
            access = [r for r in node.access_records() if r["worker"] == "noisy"]
            self.assertEqual([r["outcome"] for r in access],
                             ["ok", "exceededCpu", "ok", "ok", "ok", "exceededCpu", "ok"])
            consoles = node.access_records("console")
            self.assertTrue(any("echoing 30000" in c["message"] for c in consoles), consoles)
            self.assertTrue(any("echoing 8" in c["message"] for c in consoles), consoles)
        finally:
            node.remove()
            project.remove()


if __name__ == "__main__":
    unittest.main()
