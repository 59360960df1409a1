"""End-to-end: Workers' smaller globals under `edge dev`, as a worker probing
them sees them: request.cf with a local colo, navigator.userAgent, the
modern built-ins, and a FixedLengthStream body that goes out with its
Content-Length (a wrong byte count fails the response)."""
import json
import unittest

from edge_harness import EdgeProcess, Project, Reader, send_request

PROBE_WORKER = r"""
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/fixed" || url.pathname === "/short") {
      const { readable, writable } = new FixedLengthStream(10);
      const writer = writable.getWriter();
      writer.write(new TextEncoder().encode("01234"));
      if (url.pathname === "/fixed") writer.write(new TextEncoder().encode("56789"));
      writer.close().catch(() => {});
      return new Response(readable);
    }
    if (url.pathname === "/digest") {
      const digest = new crypto.DigestStream("SHA-256");
      await new Response("abc").body.pipeTo(digest);
      return new Response([...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join(""));
    }
    if (url.pathname === "/channel") {
      const { port1, port2 } = new MessageChannel();
      const got = new Promise((resolve) => (port2.onmessage = (event) => resolve(event.data)));
      port1.postMessage({ hello: "port" });
      await scheduler.wait(1);
      return Response.json(await got);
    }
    return Response.json({
      cf: request.cf,
      userAgent: navigator.userAgent,
      toSorted: [3, 1, 2].toSorted(),
      groupBy: Object.groupBy([1, 2, 3], (v) => (v % 2 ? "odd" : "even")),
      union: [...new Set([1]).union(new Set([2]))],
      withResolvers: typeof Promise.withResolvers,
      globals: ["IdentityTransformStream", "FixedLengthStream", "MessageChannel", "scheduler"].filter((n) => n in globalThis),
    });
  },
};
"""


class WorkersGlobalsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = Project({"index.js": PROBE_WORKER})
        cls.edge = EdgeProcess(cls.project.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def test_probe(self):
        response = self.edge.request("GET", "/")
        self.assertEqual(response.status, 200, response.body)
        probe = json.loads(response.body)
        self.assertEqual(probe["cf"], {"colo": "local", "httpProtocol": "HTTP/1.1"})
        self.assertEqual(probe["userAgent"], "Cloudflare-Workers")
        self.assertEqual(probe["toSorted"], [1, 2, 3])
        self.assertEqual(probe["groupBy"], {"odd": [1, 3], "even": [2]})
        self.assertEqual(probe["union"], [1, 2])
        self.assertEqual(probe["withResolvers"], "function")
        self.assertEqual(probe["globals"],
                         ["IdentityTransformStream", "FixedLengthStream", "MessageChannel", "scheduler"])

    def test_fixed_length_stream_sets_content_length(self):
        response = self.edge.request("GET", "/fixed")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-length"), "10")
        self.assertIsNone(response.header("transfer-encoding"))
        self.assertEqual(response.body, b"0123456789")

    def test_fixed_length_stream_short_body_fails_the_response(self):
        # Content-Length 10 was promised and 5 bytes came: the connection
        # ends short, so the client sees the body was cut.
        with self.edge.connect() as sock:
            send_request(sock, "GET", "/short", close=True)
            data = Reader(sock).read_until_close()
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertIn(b"\r\ncontent-length: 10\r\n", head.lower() + b"\r\n")
        self.assertLess(len(body), 10)

    def test_digest_stream_and_message_channel(self):
        response = self.edge.request("GET", "/digest")
        self.assertEqual(response.body, b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        response = self.edge.request("GET", "/channel")
        self.assertEqual(json.loads(response.body), {"hello": "port"})


if __name__ == "__main__":
    unittest.main()
