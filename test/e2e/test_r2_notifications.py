"""End-to-end: R2 bucket event notifications, the R2 admin API and
`edge r2 --to`, and examples/upload-pipeline, under `edge dev` and
`edge serve`.

One worker puts, deletes and multipart-uploads objects of its bucket, and
consumes the queue the bucket's rules send R2's event messages to,
recording each message in KV. Tests wait for effects (a KV record), never
for a fixed time.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from edge_harness import BINARY, SOURCE_DIR, EdgeProcess, NodeProcess, Project, wait_for

WORKER = r"""
// KV keys are at most 512 bytes and R2 keys 1,024: records go by the key's hash.
async function slot(action, key) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return `ev:${action}:` + [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = decodeURIComponent(url.pathname.slice(1));
    if (url.pathname === "/event") {
      const record = await env.KV.get(await slot(url.searchParams.get("action"), url.searchParams.get("key")));
      return new Response(record ?? "none", { status: record === null ? 404 : 200 });
    }
    if (url.pathname === "/count") {
      const listed = await env.KV.list({ prefix: "ev:" });
      return new Response(String(listed.keys.length));
    }
    if (url.pathname.startsWith("/mpu/")) {
      const name = key.slice(4);
      const upload = await env.BUCKET.createMultipartUpload(name);
      const part = await upload.uploadPart(1, "multipart body");
      const object = await upload.complete([part]);
      return Response.json({ key: object.key, etag: object.etag, size: object.size });
    }
    if (request.method === "PUT") {
      const object = await env.BUCKET.put(key, request.body);
      return Response.json({ key: object.key, etag: object.etag, size: object.size });
    }
    if (request.method === "DELETE") {
      await env.BUCKET.delete(key);
      return new Response("deleted");
    }
    return new Response("hello");
  },
  async queue(batch, env) {
    for (const message of batch.messages) {
      const event = message.body;
      await env.KV.put(await slot(event.action, event.object.key),
                       JSON.stringify({ queue: batch.queue, event }));
      message.ack();
    }
  },
};
"""

CONFIG = """
[[kv_namespaces]]
binding = "KV"
id = "events"

[[r2_buckets]]
binding = "BUCKET"
bucket_name = "photos"

[[queues.consumers]]
queue = "events"
max_batch_size = 10
max_batch_timeout = 0
retry_delay = 0

[[r2_event_notifications]]
bucket = "photos"
queue = "events"
event_types = ["object-create"]
prefix = "img/"
suffix = ".png"

[[r2_event_notifications]]
bucket = "photos"
queue = "events"
event_types = ["object-delete"]
"""


def quoted(key):
    from urllib.parse import quote
    return quote(key, safe="")


class DevNotificationsTest(unittest.TestCase):
    def setUp(self):
        self.project = Project({"index.js": WORKER}, config='name = "notify"\nmain = "index.js"\n' + CONFIG)
        self.addCleanup(self.project.remove)
        self.edge = None

    def tearDown(self):
        if self.edge is not None and self.edge.alive():
            self.edge.stop()

    def start(self):
        self.edge = EdgeProcess(self.project.dir)
        return self.edge

    def event(self, action, key, timeout=20):
        def fetch():
            response = self.edge.request("GET", f"/event?action={action}&key={quoted(key)}")
            return json.loads(response.body) if response.status == 200 else None
        return wait_for(fetch, timeout)

    def test_filters_deletes_and_multipart(self):
        edge = self.start()
        put = json.loads(edge.request("PUT", "/img/cat.png", body=b"meow").body)
        for key in ("img/cat.jpg", "doc/cat.png", "img.png"):
            self.assertEqual(edge.request("PUT", "/" + key, body=b"x").status, 200)
        record = self.event("PutObject", "img/cat.png")
        self.assertIsNotNone(record, edge.log())
        self.assertEqual(record["queue"], "events")
        event = record["event"]
        self.assertEqual(event["account"], "local")
        self.assertEqual(event["bucket"], "photos")
        self.assertEqual(event["object"], {"key": "img/cat.png", "size": 4, "eTag": put["etag"]})
        self.assertRegex(event["eventTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertNotIn("copySource", event)
        # Deletes match the second rule (no filter); a missing key makes none.
        self.assertEqual(edge.request("DELETE", "/doc/cat.png").status, 200)
        self.assertEqual(edge.request("DELETE", "/never-there").status, 200)
        deleted = self.event("DeleteObject", "doc/cat.png")
        self.assertIsNotNone(deleted, edge.log())
        self.assertEqual(deleted["event"]["object"], {"key": "doc/cat.png"})
        multipart = json.loads(edge.request("PUT", "/mpu/img/big.png").body)
        completed = self.event("CompleteMultipartUpload", "img/big.png")
        self.assertIsNotNone(completed, edge.log())
        self.assertEqual(completed["event"]["object"]["eTag"], multipart["etag"])
        # The puts the filters left out sent nothing.
        self.assertEqual(edge.request("GET", "/count").body, b"3")
        for key in ("img/cat.jpg", "doc/cat.png", "img.png"):
            self.assertEqual(edge.request("GET", f"/event?action=PutObject&key={quoted(key)}").status, 404)

    def test_a_huge_key_makes_its_event(self):
        edge = self.start()
        key = "img/" + "k" * 1010 + ".png"  # 1,018 bytes; R2 keys are at most 1,024
        self.assertEqual(edge.request("PUT", "/" + quoted(key), body=b"x").status, 200)
        record = self.event("PutObject", key)
        self.assertIsNotNone(record, edge.log())
        self.assertEqual(record["event"]["object"]["key"], key)

    def test_puts_that_resolved_before_kill_9_make_their_events(self):
        edge = self.start()
        keys = [f"img/k{i}.png" for i in range(20)]
        for key in keys:
            self.assertEqual(edge.request("PUT", "/" + key, body=key.encode()).status, 200)
        edge.proc.send_signal(signal.SIGKILL)
        edge.proc.wait(timeout=10)
        edge = self.start()
        for key in keys:
            self.assertIsNotNone(self.event("PutObject", key), f"{key}: {edge.log()}")

    def test_edge_r2_object_copy_on_the_dev_state(self):
        edge = self.start()
        self.assertEqual(edge.request("PUT", "/raw/cat.bin", body=b"purr").status, 200)

        def cli(*args, group="object"):
            return subprocess.run([BINARY, "r2", group, *args], cwd=self.project.dir, capture_output=True,
                                  text=True, timeout=60)
        # The command applies the state's stored rules (the project's own
        # are `edge dev`'s, read from its config).
        rule = cli("notification", "create", "photos", "--event-type", "object-create", "--queue", "events",
                   "--prefix", "img/", group="bucket")
        self.assertEqual(rule.returncode, 0, rule.stderr)
        copied = cli("copy", "photos/raw/cat.bin", "photos/img/cat-copy.png")
        self.assertEqual(copied.returncode, 0, copied.stderr)
        record = self.event("CopyObject", "img/cat-copy.png")
        self.assertIsNotNone(record, edge.log())
        event = record["event"]
        self.assertEqual(event["object"], {"key": "img/cat-copy.png", "size": 4,
                                           "eTag": hashlib.md5(b"purr").hexdigest()})
        self.assertEqual(event["copySource"], {"bucket": "photos", "object": "raw/cat.bin"})
        self.assertEqual(event["account"], "local")
        # The source goes; the copy stays whole.
        self.assertEqual(edge.request("DELETE", "/raw/cat.bin").status, 200)
        got = cli("get", "photos/img/cat-copy.png")
        self.assertEqual((got.returncode, got.stdout), (0, "purr"), got.stderr)
        # Errors are the command's, with nothing stored.
        missing = cli("copy", "photos/raw/cat.bin", "photos/img/none.png")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("The specified key does not exist", missing.stderr)
        onto_itself = cli("copy", "photos/img/cat-copy.png", "photos/img/cat-copy.png")
        self.assertNotEqual(onto_itself.returncode, 0)
        self.assertIn("copy an object to itself", onto_itself.stderr)
        no_directive = cli("copy", "photos/img/cat-copy.png", "photos/x.png", "--content-type", "text/plain")
        self.assertNotEqual(no_directive.returncode, 0)
        self.assertIn("--metadata-directive REPLACE", no_directive.stderr)
        # Options may come first; each --custom takes one pair.
        replaced = cli("copy", "--custom", "who=cat", "--custom", "age=3", "--metadata-directive", "REPLACE",
                       "--content-type", "image/png", "photos/img/cat-copy.png", "photos/img/cat-copy.png")
        self.assertEqual(replaced.returncode, 0, replaced.stderr)
        self.assertIn("Copied 'img/cat-copy.png'", replaced.stdout)

    def dev_fails(self, config, *expected):
        project = Project({"index.js": WORKER}, config='name = "bad"\nmain = "index.js"\n' + config)
        self.addCleanup(project.remove)
        result = subprocess.run([BINARY, "dev", project.dir, "--port", "0"], capture_output=True,
                                text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        for text in expected:
            self.assertIn(text, result.stderr)

    def test_bad_configs_refuse_to_start(self):
        self.dev_fails(CONFIG.replace('["object-delete"]', '["object-copy"]'),
                       'unknown event type "object-copy"')
        self.dev_fails(CONFIG.replace('prefix = "img/"', 'prefixes = "img/"'),
                       "[[r2_event_notifications]] has no key 'prefixes'")
        self.dev_fails(CONFIG + '\n[[r2_event_notifications]]\nbucket = "photos"\nqueue = "nowhere"\n'
                       'event_types = ["object-create"]\n', 'queue "nowhere"', "does not exist")
        self.dev_fails(CONFIG + '\n[[r2_event_notifications]]\nbucket = "Photos!"\nqueue = "events"\n'
                       'event_types = ["object-create"]\n', 'bucket "Photos!"')


class NodeNotificationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls)
        cls.tokens = {name: cls.node.create_account(name, f"{name}.test") for name in ("alpha", "beta")}
        for account in ("alpha", "beta"):
            project = cls.node.add_worker(f"notify-{account}", WORKER, [f"{account}.test/*"], CONFIG)
            result = cls.node.cli("deploy", project.dir, "--to", cls.node.admin_url,
                                  "--token-file", cls.tokens[account])
            if result.returncode != 0:
                raise AssertionError(result.stderr)

    def event(self, account, action, key, timeout=20):
        def fetch():
            response = self.node.request(f"{account}.test", f"/event?action={action}&key={quoted(key)}")
            return json.loads(response.body) if response.status == 200 else None
        return wait_for(fetch, timeout)

    def cli(self, account, *args):
        return self.node.cli("r2", *args, "--to", self.node.admin_url, "--token-file", self.tokens[account])

    def admin(self, account, method, path, body=b"", headers=None):
        with open(self.tokens[account]) as f:
            token = f.read().strip()
        return self.node.admin(method, path, body, token=token, headers=headers)

    def test_events_on_a_node_carry_the_account(self):
        self.assertEqual(self.node.request("alpha.test", "/img/a.png", method="PUT", body=b"a").status, 200)
        record = self.event("alpha", "PutObject", "img/a.png")
        self.assertIsNotNone(record, self.node.log())
        self.assertEqual(record["event"]["account"], "alpha")
        # beta's consumer sees none of alpha's events.
        self.assertEqual(self.node.request("beta.test", "/event?action=PutObject&key=img%2Fa.png").status, 404)

    def test_stored_rules_through_the_cli(self):
        created = self.cli("alpha", "bucket", "notification", "create", "photos", "--event-type",
                           "object-create", "--queue", "events", "--prefix", "docs/")
        self.assertEqual(created.returncode, 0, created.stderr)
        listed = self.cli("alpha", "bucket", "notification", "list", "photos")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("docs/", listed.stdout)
        self.assertIn("stored", listed.stdout)
        self.assertIn("config", listed.stdout)  # the deployed worker's rules show too
        self.assertEqual(self.node.request("alpha.test", "/docs/x.txt", method="PUT", body=b"d").status, 200)
        self.assertIsNotNone(self.event("alpha", "PutObject", "docs/x.txt"), self.node.log())
        deleted = self.cli("alpha", "bucket", "notification", "delete", "photos", "--queue", "events")
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        self.assertNotIn("stored", self.cli("alpha", "bucket", "notification", "list", "photos").stdout)
        # A bad event type is refused before anything is sent.
        bad = self.cli("alpha", "bucket", "notification", "create", "photos", "--event-type", "object-copy",
                       "--queue", "events")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn('"object-copy"', bad.stderr)

    def test_a_rule_cannot_reach_another_accounts_queue(self):
        # beta has a queue "beta-only"; alpha's rule naming it finds no such queue.
        self.assertEqual(self.admin("beta", "PUT", "/queues/beta-only").status, 201)
        response = self.admin("alpha", "POST", "/r2/buckets/photos/notifications",
                              json.dumps({"queue": "beta-only", "event_types": ["object-create"]}).encode())
        self.assertEqual(response.status, 404, response.body)
        self.assertIn(b"does not exist", response.body)
        # Nor may a deploy name it.
        project = self.node.add_worker("notify-steal", WORKER, ["alpha.test/steal/*"],
                                       '\n[[r2_event_notifications]]\nbucket = "photos"\nqueue = "beta-only"\n'
                                       'event_types = ["object-create"]\n')
        result = self.node.cli("deploy", project.dir, "--to", self.node.admin_url,
                               "--token-file", self.tokens["alpha"])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('queue "beta-only"', result.stderr)
        # Unknown keys in a rule, and unknown event types, are refused.
        response = self.admin("alpha", "POST", "/r2/buckets/photos/notifications",
                              json.dumps({"queue": "events", "event_types": ["object-create"],
                                          "filter": "x"}).encode())
        self.assertEqual(response.status, 400)

    def test_admin_api_objects_and_edge_r2_to(self):
        folder = tempfile.mkdtemp(prefix="edge-e2e-r2cli-")
        self.addCleanup(shutil.rmtree, folder, True)
        source = os.path.join(folder, "in.bin")
        data = os.urandom(3 * 1024 * 1024 + 17)
        with open(source, "wb") as f:
            f.write(data)
        put = self.cli("alpha", "object", "put", "photos/img/cli.png", "--file", source,
                       "--content-type", "image/png")
        self.assertEqual(put.returncode, 0, put.stderr)
        # The upload made an object-create event like any put.
        record = self.event("alpha", "PutObject", "img/cli.png")
        self.assertIsNotNone(record, self.node.log())
        self.assertEqual(record["event"]["object"]["size"], len(data))
        self.assertEqual(record["event"]["object"]["eTag"], hashlib.md5(data).hexdigest())
        target = os.path.join(folder, "out.bin")
        got = self.cli("alpha", "object", "get", "photos/img/cli.png", "--file", target)
        self.assertEqual(got.returncode, 0, got.stderr)
        with open(target, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(data).hexdigest())
        head = self.admin("alpha", "HEAD", "/r2/buckets/photos/objects/img%2Fcli.png")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("content-length"), str(len(data)))
        self.assertEqual(head.header("content-type"), "image/png")
        listed = json.loads(self.admin("alpha", "GET", "/r2/buckets/photos/objects?prefix=img%2Fcli").body)
        self.assertEqual([o["key"] for o in listed["objects"]], ["img/cli.png"])
        # beta reaches its own bucket of that name, which does not hold it.
        self.assertEqual(self.admin("beta", "GET", "/r2/buckets/photos/objects/img%2Fcli.png").status, 404)
        buckets = self.cli("alpha", "bucket", "list")
        self.assertIn('"photos"', buckets.stdout)
        deleted = self.cli("alpha", "object", "delete", "photos/img/cli.png")
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        self.assertIsNotNone(self.event("alpha", "DeleteObject", "img/cli.png"), self.node.log())
        # Buckets: create, list, delete.
        self.assertEqual(self.cli("alpha", "bucket", "create", "scratch").returncode, 0)
        self.assertIn('"scratch"', self.cli("alpha", "bucket", "list").stdout)
        self.assertEqual(self.cli("alpha", "bucket", "delete", "scratch").returncode, 0)
        self.assertNotIn('"scratch"', self.cli("alpha", "bucket", "list").stdout)
        # An upload without a length is refused; so is an account's reach into the operator's paths.
        response = self.admin("alpha", "PUT", "/r2/buckets/photos/objects/x",
                              headers={"Transfer-Encoding": "chunked"})
        self.assertIn(response.status, (400, 411))

    def test_copy_through_edge_r2_to_and_the_admin_api(self):
        folder = tempfile.mkdtemp(prefix="edge-e2e-r2copy-")
        self.addCleanup(shutil.rmtree, folder, True)
        source = os.path.join(folder, "in.bin")
        data = os.urandom(2 * 1024 * 1024 + 5)
        with open(source, "wb") as f:
            f.write(data)
        put = self.cli("alpha", "object", "put", "photos/raw/src.bin", "--file", source,
                       "--content-type", "application/octet-stream")
        self.assertEqual(put.returncode, 0, put.stderr)
        copied = self.cli("alpha", "object", "copy", "photos/raw/src.bin", "photos/img/copied.png",
                          "--metadata-directive", "REPLACE", "--content-type", "image/png", "--custom", "k=v")
        self.assertEqual(copied.returncode, 0, copied.stderr)
        record = self.event("alpha", "CopyObject", "img/copied.png")
        self.assertIsNotNone(record, self.node.log())
        self.assertEqual(record["event"]["account"], "alpha")
        self.assertEqual(record["event"]["object"]["size"], len(data))
        self.assertEqual(record["event"]["object"]["eTag"], hashlib.md5(data).hexdigest())
        self.assertEqual(record["event"]["copySource"], {"bucket": "photos", "object": "raw/src.bin"})
        head = self.admin("alpha", "HEAD", "/r2/buckets/photos/objects/img%2Fcopied.png")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("content-type"), "image/png")
        # To another bucket of the account, with COPY: the source's Content-Type.
        other = self.admin("alpha", "PUT", "/r2/buckets/archive/objects/src.bin",
                           headers={"x-amz-copy-source": "photos/raw%2Fsrc.bin"})
        self.assertEqual(other.status, 200, other.body)
        self.assertEqual(json.loads(other.body)["etag"], hashlib.md5(data).hexdigest())
        # The source goes; both copies stay whole.
        self.assertEqual(self.cli("alpha", "object", "delete", "photos/raw/src.bin").returncode, 0)
        target = os.path.join(folder, "out.bin")
        got = self.cli("alpha", "object", "get", "archive/src.bin", "--file", target)
        self.assertEqual(got.returncode, 0, got.stderr)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(self.admin("alpha", "HEAD", "/r2/buckets/archive/objects/src.bin").header("content-type"),
                         "application/octet-stream")
        # Conditionals on the source: 412 when they do not hold.
        refused = self.admin("alpha", "PUT", "/r2/buckets/photos/objects/cond.bin",
                             headers={"x-amz-copy-source": "/archive/src.bin",
                                      "x-amz-copy-source-if-match": '"0123"'})
        self.assertEqual(refused.status, 412, refused.body)
        held = self.admin("alpha", "PUT", "/r2/buckets/photos/objects/cond.bin",
                          headers={"x-amz-copy-source": "/archive/src.bin",
                                   "x-amz-copy-source-if-match": '"' + hashlib.md5(data).hexdigest() + '"',
                                   "x-amz-copy-source-if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        self.assertEqual(held.status, 200, held.body)
        bad_date = self.admin("alpha", "PUT", "/r2/buckets/photos/objects/cond.bin",
                              headers={"x-amz-copy-source": "/archive/src.bin",
                                       "x-amz-copy-source-if-unmodified-since": "yesterday"})
        self.assertEqual(bad_date.status, 400)
        # A missing source is a 404; beta reaches only its own buckets.
        missing = self.cli("alpha", "object", "copy", "photos/raw/src.bin", "photos/again.bin")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("The specified key does not exist", missing.stderr)
        stolen = self.admin("beta", "PUT", "/r2/buckets/photos/objects/stolen.bin",
                            headers={"x-amz-copy-source": "archive/src.bin"})
        self.assertEqual(stolen.status, 404, stolen.body)
        self.assertEqual(self.admin("beta", "HEAD", "/r2/buckets/photos/objects/stolen.bin").status, 404)
        # A copy request carries no body; a bad directive is refused.
        with_body = self.admin("alpha", "PUT", "/r2/buckets/photos/objects/b.bin", body=b"x",
                               headers={"x-amz-copy-source": "archive/src.bin"})
        self.assertEqual(with_body.status, 400)
        bad = self.admin("alpha", "PUT", "/r2/buckets/photos/objects/b.bin",
                         headers={"x-amz-copy-source": "archive/src.bin", "x-amz-metadata-directive": "MOVE"})
        self.assertEqual(bad.status, 400)

    def test_puts_that_resolved_before_kill_9_make_their_events(self):
        keys = [f"img/crash{i}.png" for i in range(15)]
        for key in keys:
            self.assertEqual(self.node.request("beta.test", "/" + key, method="PUT", body=b"c").status, 200)
        self.node.proc.send_signal(signal.SIGKILL)
        self.node.proc.wait(timeout=10)
        self.node._start()
        for key in keys:
            self.assertIsNotNone(self.event("beta", "PutObject", key), f"{key}: {self.node.log()}")


class UploadPipelineExampleTest(unittest.TestCase):
    """examples/upload-pipeline: PUT -> event -> queue -> SHA-256 in KV -> GET."""

    def copy_example(self, routes=None):
        folder = tempfile.mkdtemp(prefix="edge-e2e-pipeline-")
        self.addCleanup(shutil.rmtree, folder, True)
        shutil.copytree(os.path.join(SOURCE_DIR, "examples", "upload-pipeline"), folder, dirs_exist_ok=True)
        if routes:
            config = os.path.join(folder, "wrangler.toml")
            with open(config) as f:
                text = f.read()
            with open(config, "w") as f:
                f.write(f"routes = {json.dumps(routes)}\n" + text)
        return folder

    def check_pipeline(self, request):
        body = os.urandom(200_000)
        put = request("PUT", "/files/reports/q3.bin", body)
        self.assertEqual(put.status, 201, put.body)

        def record():
            response = request("GET", "/files/reports/q3.bin/sha256", b"")
            return json.loads(response.body) if response.status == 200 else None
        found = wait_for(record, 30)
        self.assertIsNotNone(found)
        self.assertEqual(found["sha256"], hashlib.sha256(body).hexdigest())
        self.assertEqual(found["size"], len(body))
        self.assertEqual(found["action"], "PutObject")
        self.assertEqual(request("DELETE", "/files/reports/q3.bin", b"").status, 200)
        self.assertTrue(wait_for(lambda: request("GET", "/files/reports/q3.bin/sha256", b"").status == 404, 30))

    def test_under_edge_dev(self):
        folder = self.copy_example()
        edge = EdgeProcess(folder)
        self.addCleanup(edge.stop)
        self.check_pipeline(lambda method, path, body: edge.request(method, path, body=body))

    def test_under_edge_serve(self):
        node = NodeProcess()
        self.addCleanup(node.remove)
        folder = self.copy_example(["pipeline.test/*"])
        result = node.deploy(folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.check_pipeline(lambda method, path, body: node.request("pipeline.test", path, method=method,
                                                                    body=body))


if __name__ == "__main__":
    unittest.main()
