"""The Cache API on a real `edge serve` (and `edge dev`): a put in one
request is a hit in the next, with CF-Cache-Status: HIT; If-None-Match gives
a 304 and a Range a 206; two accounts putting the same URL see only their
own entries; entries survive a restart, and expire by the node's clock,
moved forward between restarts with EDGE_CLOCK_START_MS (no test sleeps for
a TTL). Hostile: a body stream that never ends is dropped with its
invocation (nothing left on disk), a flood of entries is evicted under the
account's cap, a body over the per-entry cap is not stored, a 1 MB URL is
refused quietly, and each call counts against the subrequest quota."""
import json
import os
import time
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project, make_worker

CACHE_WORKER = r"""
function key(url) {
  return "https://cache.e2e/" + url.searchParams.get("key");
}

function neverEnding() {
  return new ReadableStream({ pull() { return new Promise(() => {}); } });
}

function bytesStream(total, chunk) {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(chunk, total - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(120));
    },
  });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const cache = caches.default;
    switch (url.pathname) {
      case "/put": {
        const headers = {
          "cache-control": url.searchParams.get("cc") ?? "max-age=600",
          etag: `"${url.searchParams.get("key")}"`,
          "content-type": "text/plain",
        };
        await cache.put(key(url), new Response(url.searchParams.get("body"), { headers }));
        return new Response("stored");
      }
      case "/get": {
        const lookup = new Request(key(url), { headers: request.headers });
        return (await cache.match(lookup)) ?? new Response("miss", { status: 404 });
      }
      case "/delete":
        return new Response(String(await cache.delete(key(url))));
      case "/many": {
        // `count` puts of `size` bytes, keys prefix0..prefixN.
        const count = Number(url.searchParams.get("count"));
        const size = Number(url.searchParams.get("size"));
        const prefix = url.searchParams.get("prefix");
        const body = "y".repeat(size);
        for (let i = 0; i < count; i++) {
          await cache.put(`https://cache.e2e/${prefix}${i}`, new Response(body, { headers: { "cache-control": "max-age=600" } }));
        }
        return new Response("done");
      }
      case "/big": {
        const total = Number(url.searchParams.get("bytes"));
        await cache.put(key(url), new Response(bytesStream(total, 65536), { headers: { "cache-control": "max-age=600" } }));
        return new Response("put resolved");
      }
      case "/forever": {
        const put = cache.put(key(url), new Response(neverEnding(), { headers: { "cache-control": "max-age=600" } }));
        put.then(
          () => console.log("cache put resolved"),
          (error) => console.log("cache put ended: " + error.message),
        );
        // Long enough for the put to have its file open.
        await new Promise((resolve) => setTimeout(resolve, 100));
        return new Response("started");
      }
      case "/huge-url": {
        const huge = "https://cache.e2e/" + "u".repeat(1 << 20);
        await cache.put(huge, new Response("x", { headers: { "cache-control": "max-age=600" } }));
        const found = await cache.match(huge);
        return new Response(`put ok, match ${found === undefined ? "undefined" : "found"}`);
      }
      case "/quota": {
        let calls = 0;
        try {
          for (;;) {
            await cache.match("https://cache.e2e/quota");
            calls++;
          }
        } catch (error) {
          return new Response(`${calls}: ${error.message}`);
        }
      }
    }
    return new Response("no such path", { status: 404 });
  },
};
"""


def cache_files(data_dir, sub):
    folder = os.path.join(data_dir, "cache", sub)
    found = []
    for root, _, files in os.walk(folder):
        found.extend(os.path.join(root, f) for f in files)
    return found


class CacheApiNodeTest(unittest.TestCase):
    """Two accounts on one node; the node's clock starts at the wall time and
    is moved forward across restarts."""

    @classmethod
    def setUpClass(cls):
        cls.start_ms = int(time.time() * 1000)
        cls.node = NodeProcess.for_class(
            cls, "--cache-account-max-mb", "1", "--cache-entry-max-mb", "1", threads=1,
            extra_env={"EDGE_CLOCK_START_MS": str(cls.start_ms)})
        node = cls.node
        cls.acme = node.create_account("acme", "acme.test")
        cls.mallory = node.create_account("mallory", "mallory.test")
        for name, token in (("acme", cls.acme), ("mallory", cls.mallory)):
            project = make_worker(name, CACHE_WORKER, [f"{name}.test/*"])
            node.projects.append(project)
            result = node.cli("deploy", project.dir, "--to", node.admin_url, "--token-file", token)
            if result.returncode != 0:
                raise AssertionError(f"deploy of {name}: {result.stderr}\n{node.log()}")

    def get(self, host, key, headers=None):
        return self.node.request(host, f"/get?key={key}", headers=headers)

    def restart_at(self, offset_ms):
        self.node.extra_env = {"EDGE_CLOCK_START_MS": str(self.start_ms + offset_ms)}
        self.node.restart()

    def test_1_put_match_conditional_range_and_accounts(self):
        node = self.node
        self.assertEqual(node.request("acme.test", "/put?key=page&body=0123456789").body, b"stored")
        hit = self.get("acme.test", "page")
        self.assertEqual(hit.status, 200, hit.body)
        self.assertEqual(hit.body, b"0123456789")
        self.assertEqual(hit.header("cf-cache-status"), "HIT")
        self.assertEqual(hit.header("etag"), '"page"')
        not_modified = self.get("acme.test", "page", {"If-None-Match": '"page"'})
        self.assertEqual(not_modified.status, 304)
        self.assertEqual(not_modified.body, b"")
        part = self.get("acme.test", "page", {"Range": "bytes=3-6"})
        self.assertEqual(part.status, 206)
        self.assertEqual(part.body, b"3456")
        self.assertEqual(part.header("content-range"), "bytes 3-6/10")
        self.assertEqual(self.get("acme.test", "page", {"Range": "bytes=50-"}).status, 416)

        # Another account, the same URL: its own entries only.
        self.assertEqual(self.get("mallory.test", "page").status, 404)
        node.request("mallory.test", "/put?key=page&body=mallory")
        self.assertEqual(self.get("mallory.test", "page").body, b"mallory")
        self.assertEqual(self.get("acme.test", "page").body, b"0123456789")
        self.assertEqual(node.request("mallory.test", "/delete?key=page").body, b"true")
        self.assertEqual(self.get("acme.test", "page").body, b"0123456789")
        self.assertEqual(node.request("mallory.test", "/delete?key=page").body, b"false")

        # no-store: put resolves, nothing is kept.
        node.request("acme.test", "/put?key=nostore&body=x&cc=no-store")
        self.assertEqual(self.get("acme.test", "nostore").status, 404)

    def test_2_entries_survive_a_restart_and_expire_by_the_clock(self):
        node = self.node
        node.request("acme.test", "/put?key=ttl&body=ten-minutes&cc=max-age%3D600")
        node.request("acme.test", "/put?key=long&body=an-hour&cc=s-maxage%3D3600")
        self.assertEqual(self.get("acme.test", "ttl").body, b"ten-minutes")
        # Five minutes later (by the node's clock), after a restart: still there.
        self.restart_at(5 * 60_000)
        self.assertEqual(self.get("acme.test", "ttl").body, b"ten-minutes")
        self.assertEqual(self.get("acme.test", "long").body, b"an-hour")
        # Eleven minutes after the put: the ten-minute entry is a miss.
        self.restart_at(11 * 60_000)
        self.assertEqual(self.get("acme.test", "ttl").status, 404)
        self.assertEqual(self.get("acme.test", "long").body, b"an-hour")

    def test_3_a_body_stream_that_never_ends_goes_with_its_invocation(self):
        node = self.node
        response = node.request("acme.test", "/forever?key=forever")
        self.assertEqual(response.body, b"started")
        deadline = time.time() + 10
        messages = []
        while time.time() < deadline:
            messages = [r.get("message", "") for r in node.access_records("console")]
            if any("cache put ended" in m for m in messages):
                break
            time.sleep(0.05)
        self.assertIn("cache put ended: The invocation that made this cache.put() has ended.",
                      messages)
        self.assertEqual(cache_files(node.data_dir, "tmp"), [])
        self.assertEqual(self.get("acme.test", "forever").status, 404)
        self.assertTrue(node.alive())

    def test_4_a_flood_of_entries_is_evicted_under_the_account_cap(self):
        node = self.node
        node.request("mallory.test", "/put?key=keepme&body=mine")
        # 1,200 puts of 2 KB (about 3 MB accounted) under a 1 MiB cap.
        for batch in range(30):
            response = node.request("acme.test", f"/many?count=40&size=2000&prefix=f{batch}-")
            self.assertEqual(response.body, b"done", response.body)
        self.assertEqual(self.get("acme.test", "f29-39").status, 200)
        self.assertEqual(self.get("acme.test", "f0-0").status, 404)
        bodies = cache_files(node.data_dir, "bodies")
        self.assertLess(len(bodies), 600)
        self.assertLess(sum(os.path.getsize(f) for f in bodies), 2 << 20)
        # The other account's entry was not evicted for acme's sake.
        self.assertEqual(self.get("mallory.test", "keepme").body, b"mine")

    def test_5_a_body_over_the_entry_cap_is_not_stored(self):
        node = self.node
        response = node.request("acme.test", "/big?key=big&bytes=2000000")
        self.assertEqual(response.body, b"put resolved")
        self.assertEqual(self.get("acme.test", "big").status, 404)
        self.assertEqual(cache_files(node.data_dir, "tmp"), [])
        node.request("acme.test", "/big?key=fits&bytes=1000000")
        fits = self.get("acme.test", "fits")
        self.assertEqual(len(fits.body), 1000000)

    def test_6_a_1mb_url_and_the_subrequest_quota(self):
        node = self.node
        self.assertEqual(node.request("acme.test", "/huge-url").body, b"put ok, match undefined")
        quota = node.request("acme.test", "/quota").body.decode()
        self.assertTrue(quota.startswith("50: Too many subrequests."), quota)
        self.assertTrue(node.alive())

    def test_7_deleting_an_account_drops_its_entries(self):
        node = self.node
        node.request("mallory.test", "/put?key=last&body=gone-soon")
        before = len(cache_files(node.data_dir, "bodies"))
        result = node.cli("account", "delete", "mallory", "--yes", "--to", node.admin_url,
                          "--token-file", node.token_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        after = len(cache_files(node.data_dir, "bodies"))
        # mallory had two entries (keepme, last); acme's stay.
        self.assertEqual(before - after, 2)
        self.assertEqual(self.get("acme.test", "f29-39").status, 200)


class CacheApiDevTest(unittest.TestCase):
    """`edge dev` keeps the cache in the project's .edge/state, across restarts."""

    def test_dev_keeps_entries_in_the_project_state(self):
        project = Project({"index.js": CACHE_WORKER},
                          config='name = "cached"\nmain = "index.js"\n')
        self.addCleanup(project.remove)
        dev = EdgeProcess(project.dir)
        try:
            self.assertEqual(dev.request("GET", "/put?key=a&body=kept").body, b"stored")
            self.assertEqual(dev.request("GET", "/get?key=a").body, b"kept")
        finally:
            dev.stop()
        self.assertTrue(os.path.isdir(os.path.join(project.dir, ".edge", "state", "cache", "index")))
        dev = EdgeProcess(project.dir)
        try:
            hit = dev.request("GET", "/get?key=a")
            self.assertEqual(hit.body, b"kept")
            self.assertEqual(hit.header("cf-cache-status"), "HIT")
        finally:
            dev.stop()


if __name__ == "__main__":
    unittest.main()
