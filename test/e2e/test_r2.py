"""End-to-end: R2 bucket bindings under `edge dev` and `edge serve`.

Objects stream from an HTTP upload to disk and back (a 1 GiB put and get
stay within a bounded peak memory), a put that resolved survives kill -9,
and on a node each account reaches only its own buckets.
"""
import hashlib
import json
import os
import signal
import socket
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project, Reader, read_response

R2_WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = url.pathname.slice(1);
    switch (request.method) {
      case "PUT": {
        const object = await env.BUCKET.put(key, request.body, {
          httpMetadata: request.headers,
        });
        return Response.json({ key: object.key, size: object.size, etag: object.etag });
      }
      case "GET": {
        if (key === "") {
          const listed = await env.BUCKET.list();
          return Response.json(listed.objects.map((o) => o.key));
        }
        const object = await env.BUCKET.get(key, { range: request.headers, onlyIf: request.headers });
        if (object === null) return new Response("missing", { status: 404 });
        const headers = new Headers({ etag: object.httpEtag });
        object.writeHttpMetadata(headers);
        if (!("body" in object) || object.body === undefined) return new Response(null, { status: 304, headers });
        return new Response(object.body, { headers, status: object.range ? 206 : 200 });
      }
      case "DELETE":
        await env.BUCKET.delete(key);
        return new Response("deleted");
    }
    return new Response("no", { status: 405 });
  },
};
"""

CONFIG = """name = "r2-e2e"
main = "index.js"

[[r2_buckets]]
binding = "BUCKET"
bucket_name = "e2e-bucket"
"""

GIB = 1 << 30
BLOCK = 1 << 20


def block(i):
    """The i-th MiB of the large object: deterministic, not all one byte."""
    return hashlib.sha256(str(i).encode()).digest() * (BLOCK // 32)


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class R2DevTest(unittest.TestCase):
    def setUp(self):
        self.project = Project({"index.js": R2_WORKER}, config=CONFIG)
        self.edge = None

    def tearDown(self):
        if self.edge is not None and self.edge.alive():
            self.edge.stop()
        self.project.remove()

    def start(self, *args):
        self.edge = EdgeProcess(self.project.dir, *args)
        return self.edge

    def test_put_get_conditional_range_delete(self):
        edge = self.start()
        put = edge.request("PUT", "/docs/a.txt", body=b"hello, r2",
                           headers={"content-type": "text/plain"})
        self.assertEqual(put.status, 200, put.body)
        meta = json.loads(put.body)
        self.assertEqual(meta["size"], 9)
        self.assertEqual(meta["etag"], hashlib.md5(b"hello, r2").hexdigest())
        got = edge.request("GET", "/docs/a.txt")
        self.assertEqual(got.status, 200)
        self.assertEqual(got.body, b"hello, r2")
        self.assertEqual(got.header("content-type"), "text/plain")
        self.assertEqual(got.header("etag"), f'"{meta["etag"]}"')
        ranged = edge.request("GET", "/docs/a.txt", headers={"range": "bytes=7-"})
        self.assertEqual((ranged.status, ranged.body), (206, b"r2"))
        cached = edge.request("GET", "/docs/a.txt", headers={"if-none-match": f'"{meta["etag"]}"'})
        self.assertEqual(cached.status, 304)
        self.assertEqual(json.loads(edge.request("GET", "/").body), ["docs/a.txt"])
        self.assertEqual(edge.request("DELETE", "/docs/a.txt").status, 200)
        self.assertEqual(edge.request("GET", "/docs/a.txt").status, 404)
        self.assertTrue(os.path.isdir(os.path.join(self.project.dir, ".edge", "state", "r2", "index")))

    def test_a_resolved_put_survives_kill_9(self):
        edge = self.start()
        for i in range(20):
            body = f"durable {i}".encode() * 1000
            self.assertEqual(edge.request("PUT", f"/k{i}", body=body).status, 200)
        edge.proc.send_signal(signal.SIGKILL)
        edge.proc.wait(timeout=10)
        edge = self.start()
        for i in range(20):
            got = edge.request("GET", f"/k{i}")
            self.assertEqual(got.status, 200)
            self.assertEqual(got.body, f"durable {i}".encode() * 1000)

    @unittest.skipIf(os.environ.get("EDGE_SANITIZERS") == "1",
                     "peak-memory bounds do not hold under the sanitizers")
    def test_a_1_gib_object_streams_in_bounded_memory(self):
        edge = self.start("--max-body-size", "2048")
        digest = hashlib.md5()
        with socket.create_connection(("127.0.0.1", edge.port), timeout=300) as sock:
            head = (f"PUT /big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {GIB}\r\n"
                    "Connection: close\r\n\r\n").encode()
            sock.sendall(head)
            for i in range(GIB // BLOCK):
                data = block(i)
                digest.update(data)
                sock.sendall(data)
            put = read_response(sock)
        self.assertEqual(put.status, 200, put.body)
        self.assertEqual(json.loads(put.body)["etag"], digest.hexdigest())

        check = hashlib.md5()
        total = 0
        with socket.create_connection(("127.0.0.1", edge.port), timeout=300) as sock:
            sock.sendall(b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            reader = Reader(sock)
            status = reader.read_line()
            self.assertIn(b" 200 ", status)
            headers = {}
            while True:
                line = reader.read_line()
                if line == b"":
                    break
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            # A body of known length goes out with its Content-Length.
            self.assertEqual(headers.get("content-length"), str(GIB))
            total = len(reader.buffer)
            check.update(reader.buffer)
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
                check.update(chunk)
        self.assertEqual(total, GIB)
        self.assertEqual(check.hexdigest(), digest.hexdigest())
        peak_mib = vm_hwm_kib(edge.proc.pid) // 1024
        self.assertLess(peak_mib, 400, f"edge dev peaked at {peak_mib} MiB for a 1 GiB object")


class R2NodeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls)
        cls.tokens = {name: cls.node.create_account(name, f"{name}.test")
                      for name in ("alpha", "beta")}

    def deploy(self, account, host):
        project = self.node.add_worker(f"r2-{account}", R2_WORKER, [f"{host}/*"],
                                       extra_config='\n[[r2_buckets]]\nbinding = "BUCKET"\n'
                                                    'bucket_name = "shared-name"\n')
        result = self.node.cli("deploy", project.dir, "--to", self.node.admin_url,
                               "--token-file", self.tokens[account])
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_accounts_reach_only_their_own_buckets_and_puts_survive_kill_9(self):
        self.deploy("alpha", "alpha.test")
        self.deploy("beta", "beta.test")
        put = self.node.request("alpha.test", "/secret", method="PUT", body=b"alpha's")
        self.assertEqual(put.status, 200, put.body)
        # The same bucket name in another account is another bucket.
        self.assertEqual(self.node.request("beta.test", "/secret").status, 404)
        self.assertEqual(self.node.request("alpha.test", "/secret").body, b"alpha's")
        self.node.proc.send_signal(signal.SIGKILL)
        self.node.proc.wait(timeout=10)
        self.node._start()
        self.assertEqual(self.node.request("alpha.test", "/secret").body, b"alpha's")


if __name__ == "__main__":
    unittest.main()
