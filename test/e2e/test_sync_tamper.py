"""edge-sync under attack: a PoP whose --sync-from goes through a proxy that
tampers with the log and the blobs (TamperingProxy), or that is pointed at a
forged origin, applies nothing it cannot verify. Every refusal is counted in
edge_sync_refused_entries_total and logged with its reason; the PoP keeps
serving its last verified state and converges once the stream is clean again.
A stream cut in the middle of a line is reconnected to from the cursor and
nothing is half-applied. The unsigned parts of the protocol (a 410, a
snapshot's header and end lines) must not let a man in the middle change the
PoP's state either."""
import json
import re
import threading
import time
import unittest

from sync_harness import (FleetKeys, OriginProcess, TamperingProxy, fleet_project, metric,
                          start_pop, wait_until)

# TAG is a string of the bundle that a tampering proxy may swap for another
# of the same length ("forged!"): a PoP that took such a bundle would say so.
WORKER = """
const TAG = "genuine";
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/kv") {
      return new Response((await env.DATA.get(url.searchParams.get("key"))) ?? "missing");
    }
    return new Response(`v=${env.VERSION} tag=${TAG}`);
  },
};
"""
HOST = "tamper.test"
BODY = re.compile(r"^v=(\d+) tag=genuine$")


class SyncTamperTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()

    @classmethod
    def tearDownClass(cls):
        cls.keys.remove()

    def setUp(self):
        self.projects = []
        self.origin = OriginProcess(self.keys)
        self.proxy = TamperingProxy(self.origin.port)
        self.pop = start_pop(self.keys, self.proxy.url, "pop-t")

    def tearDown(self):
        self.pop.remove()
        self.proxy.close()
        self.origin.remove()
        for p in self.projects:
            p.remove()

    # --- helpers -----------------------------------------------------------

    def deploy(self, version, origin=None):
        p = fleet_project("tamper", HOST, version, WORKER)
        self.projects.append(p)
        result = (origin or self.origin).deploy(p.dir)
        self.assertEqual(result.returncode, 0, result.stderr)

    def body(self, path="/"):
        return self.pop.request(HOST, path).body.decode()

    def refused(self):
        return metric(self.pop, "edge_sync_refused_entries_total")

    def cursor(self):
        return int(metric(self.pop, "edge_sync_cursor"))

    def origin_head(self, origin=None):
        status, body = (origin or self.origin).admin("GET", "/status")
        self.assertEqual(status, 200, body)
        return json.loads(body)["log_head"]

    def versions(self, node_admin):
        status, body = node_admin("GET", "/workers/tamper/versions")
        self.assertEqual(status, 200, body)
        return [(v["id"], v["sha256"]) for v in json.loads(body)["versions"]]

    def pop_versions(self):
        response = self.pop.admin("GET", "/workers/tamper/versions")
        return self.versions(lambda m, p: (response.status, response.body))

    def origin_versions(self):
        return self.versions(self.origin.admin)

    def wait_serving(self, version, timeout=30):
        ok = wait_until(lambda: self.body() == f"v={version} tag=genuine", timeout)
        self.assertTrue(ok, f"the PoP never served v={version}: {self.body()!r}\n"
                            f"{self.pop.log()[-3000:]}")

    def assert_holds(self, version, seconds=1.5):
        """The PoP serves `version` (and nothing else) for `seconds`."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            self.assertEqual(self.body(), f"v={version} tag=genuine", self.pop.log()[-3000:])
            time.sleep(0.05)

    def assert_converged(self):
        head = self.origin_head()
        self.assertTrue(wait_until(lambda: self.cursor() == head, 20),
                        f"cursor {self.cursor()} != origin head {head}")
        self.assertEqual(self.pop_versions(), self.origin_versions())

    # --- a. entry lines changed on the way -----------------------------------

    def test_a_tampered_entry_lines_are_refused_then_converge(self):
        self.deploy(1)
        self.wait_serving(1)
        cases = [
            # One base64 character of the entry changed: the line is still
            # valid JSON but the signature no longer matches.
            ("corrupt_entry", r"refused entry (\d+) from \S+: bad signature"),
            # A valid Ed25519 signature, by another key.
            ("resign", r"refused entry (\d+) from \S+: bad signature"),
            # A genuine signed entry (seq 1) replayed at another place.
            ("replay", r"refused entry (\d+) from \S+: entry seq 1 in a line for seq \1"),
        ]
        version = 1
        for mode, reason in cases:
            with self.subTest(mode=mode):
                refused_before = self.refused()
                log_before = len(self.pop.log())
                self.proxy.set_mode(mode)
                self.deploy(version + 1)
                head = self.origin_head()
                self.assertTrue(wait_until(lambda: self.refused() > refused_before, 20),
                                self.pop.log()[-3000:])
                self.assertGreater(self.proxy.tampered_count(), 0)
                # Still the last verified version, and the cursor has not moved.
                self.assert_holds(version)
                self.assertEqual(self.cursor(), head - 1)
                match = re.search(reason, self.pop.log()[log_before:])
                self.assertIsNotNone(match, f"no {reason!r} in\n{self.pop.log()[log_before:]}")
                self.assertEqual(int(match.group(1)), head)
                # Clean again: the PoP converges.
                self.proxy.set_mode("pass")
                version += 1
                self.wait_serving(version)
                self.assert_converged()

    # --- b. blobs changed on the way -----------------------------------------

    def test_b_tampered_blob_is_refused_then_converges(self):
        self.deploy(1)
        self.wait_serving(1)
        refused_before = self.refused()
        # The bundle's bytes changed into another valid bundle whose code
        # would answer "tag=forged!".
        self.proxy.set_mode("corrupt_blob", replace=(b'"genuine"', b'"forged!"'))
        self.deploy(2)
        self.assertTrue(wait_until(lambda: self.refused() > refused_before, 20),
                        self.pop.log()[-3000:])
        self.assertGreater(self.proxy.tampered_count(), 0)
        self.assertTrue(any(p.startswith("/sync/blobs/") for _, p in self.proxy.requests))
        self.assert_holds(1)
        self.assertNotIn("forged", self.body())
        self.assertRegex(self.pop.log(),
                         r"refused entry 2 from \S+: blob [0-9a-f]{64} has other content")
        self.assertEqual(self.cursor(), 1)
        self.proxy.set_mode("pass")
        self.wait_serving(2)
        self.assert_converged()

        # A KV value large enough to travel as a blob, one byte flipped.
        refused_before = self.refused()
        self.proxy.set_mode("corrupt_blob")
        value = b"x" * 6000
        self.assertEqual(self.origin.admin("PUT", "/kv/default/data/big", value)[0], 200)
        self.assertTrue(wait_until(lambda: self.refused() > refused_before, 20),
                        self.pop.log()[-3000:])
        self.assertEqual(self.body("/kv?key=big"), "missing")
        self.proxy.set_mode("pass")
        self.assertTrue(wait_until(lambda: self.body("/kv?key=big") == value.decode(), 30),
                        self.pop.log()[-3000:])
        self.assert_converged()

    # --- c. a forged origin ---------------------------------------------------

    def test_c_forged_origin_is_refused_entirely(self):
        forged_keys = FleetKeys()  # a key of its own
        forged = OriginProcess(forged_keys)
        # Pinned to the real origin's key, pointed at the forged one.
        victim = start_pop(self.keys, forged.url, "pop-victim")
        try:
            self.deploy(1, origin=forged)
            self.deploy(2, origin=forged)
            self.assertEqual(self.origin_head(forged), 2)
            refused = lambda: metric(victim, "edge_sync_refused_entries_total")
            self.assertTrue(wait_until(lambda: refused() >= 2, 20), victim.log()[-3000:])
            self.assertIn("refused entry 1 from", victim.log())
            self.assertIn("bad signature", victim.log())
            for _ in range(10):
                response = victim.request(HOST, "/")
                self.assertEqual(response.status, 404, response.body)
                self.assertEqual(metric(victim, "edge_sync_cursor"), 0)
                time.sleep(0.1)
            status, body = victim.admin_json("GET", "/workers/tamper/versions")
            self.assertEqual(body, {"versions": []}, body)
            # Compacted, the forged origin answers 410: its state is signed
            # with another key, so the 410 is ignored (no snapshot is asked).
            status, body = forged.admin("POST", "/sync/compact")
            self.assertEqual(status, 200, body)
            self.assertGreater(json.loads(body)["compacted_through"], 0)
            self.assertTrue(wait_until(
                lambda: "ignored a 410" in victim.log(), 30), victim.log()[-3000:])
            self.assertGreater(metric(victim, "edge_sync_unverified_total"), 0)
            self.assertNotIn("taking a snapshot", victim.log())
            self.assertEqual(victim.request(HOST, "/").status, 404)
            self.assertEqual(metric(victim, "edge_sync_cursor"), 0)
            self.assertTrue(victim.alive())
            # The genuine PoP (through the clean proxy) is not affected.
            self.deploy(7)
            self.wait_serving(7)
        finally:
            victim.remove()
            forged.remove()
            forged_keys.remove()

    # --- d. a stream cut in the middle of a line --------------------------------

    def test_d_truncated_stream_reconnects_and_nothing_is_half_applied(self):
        self.deploy(1)
        self.wait_serving(1)
        seen, stop = [], threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    response = self.pop.request(HOST, "/", timeout=5)
                    seen.append((response.status, response.body.decode()))
                except OSError as error:
                    seen.append((0, str(error)))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            # Each connection passes one entry whole and is cut inside the next.
            self.proxy.set_mode("truncate_line", keep=1)
            for version in range(2, 6):
                self.deploy(version)
            self.wait_serving(5)
            self.assertGreater(self.proxy.tampered_count(), 0)
            self.assert_converged()

            # The body ends properly (last chunk) with half a line: that
            # half is refused as malformed.
            refused_before, tampered_before = self.refused(), self.proxy.tampered_count()
            self.proxy.set_mode("end_mid_line", keep=1)
            for version in range(6, 9):
                self.deploy(version)
            self.wait_serving(8)
            self.assertGreater(self.proxy.tampered_count(), tampered_before)
            self.assertGreater(self.refused(), refused_before)
            self.assertRegex(self.pop.log(), r"refused a line from \S+: malformed line")
            self.assert_converged()

            # A blob cut short: fetched again.
            tampered_before = self.proxy.tampered_count()
            self.proxy.set_mode("truncate_blob", count=1)
            self.deploy(9)
            self.wait_serving(9)
            self.assertEqual(self.proxy.tampered_count(), tampered_before + 1)
            self.assert_converged()
        finally:
            stop.set()
            sampler.join()
        # Every answer during all of this was a whole version, never an
        # error, and versions only went forward.
        versions = []
        for status, body in seen:
            self.assertEqual(status, 200, body)
            match = BODY.match(body)
            self.assertIsNotNone(match, body)
            versions.append(int(match.group(1)))
        self.assertEqual(versions, sorted(versions))
        self.assertGreater(len(versions), 20)
        log = self.pop.log()
        self.assertNotIn("did not apply", log)

    # --- e. a snapshot made up without the key ------------------------------------

    def test_e_unsigned_snapshot_cannot_wipe_or_move_the_pop(self):
        """A man in the middle with no key answers the log with 410 and the
        snapshot with a header (head 10^6) and an end line, no entry: the
        410 carries no state signed by the origin, so the PoP ignores it
        (counted) and does not even ask for the snapshot; it must not drop
        its workers nor move its cursor, and must still converge once the
        stream is clean."""
        self.deploy(1)
        self.wait_serving(1)
        self.proxy.set_mode("forge_snapshot", head=10**6, compacted_through=10**6)
        self.proxy.drop_connections()  # the PoP reconnects, through the forger
        self.assertTrue(wait_until(lambda: self.proxy.tampered_count() >= 1, 20),
                        self.pop.log()[-3000:])
        # The PoP counts the 410 it cannot verify (a moment after the proxy
        # sent it), then must neither take a snapshot nor move.
        self.assertTrue(wait_until(lambda: metric(self.pop, "edge_sync_unverified_total") > 0, 20),
                        self.pop.log()[-3000:])
        time.sleep(1.5)  # time to ask for the snapshot, and to take or refuse it
        self.assertEqual(self.pop.request(HOST, "/").body.decode(), "v=1 tag=genuine",
                         self.pop.log()[-3000:])
        self.assertEqual(self.cursor(), 1)
        self.proxy.set_mode("pass")
        self.deploy(2)
        self.wait_serving(2, timeout=15)
        self.assert_converged()


if __name__ == "__main__":
    unittest.main()
