"""The operator's host policies over edge-sync (issue 15): a set made at the
origin (`edge host-policies put`) reaches every PoP within seconds and is
enforced there before any worker runs; changed and removed the same way; a
bad set is refused at the origin with its field named and never shipped; a
PoP's own node.toml [[host_policies]] serve until the origin's set replaces
them and again once it is removed; a restarted PoP serves the set it
stored, and one that slept through a change and a compaction comes back
from a snapshot with the newest set. A PoP refuses changes to the set."""
import hashlib
import json
import os
import tempfile
import time
import unittest

from edge_harness import BINARY
from sync_harness import FleetKeys, OriginProcess, fleet_project, kv_worker, start_pop, wait_until

OPS_KEY = "ops-secret-key"

NODE_TOML = """
[[host_policies]]
hosts = ["hp.test"]
validate = { methods = ["GET"] }
"""

KEYED = """
[[host_policies]]
hosts = ["hp.test", "*.hp.test"]
api_key = { header = "x-ops-key", keys = { ops = "%s" } }
""" % hashlib.sha256(OPS_KEY.encode()).hexdigest()

READ_ONLY = """
[[host_policies]]
hosts = ["hp.test"]
validate = { methods = ["GET", "HEAD"], required_headers = ["x-tenant"] }
"""

BAD = """
[[host_policies]]
hosts = ["hp.test"]
rate_limit = { requests = 10, period_s = 0 }
"""


class SyncHostPoliciesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.origin = OriginProcess(cls.keys)
        cls.dir = tempfile.mkdtemp(prefix="edge-host-policies-")
        node_toml = cls.file("node.toml", NODE_TOML)
        # pop-a has policies of its own in node.toml; pop-b has none.
        cls.pop_a = start_pop(cls.keys, cls.origin.url, "pop-a", extra=("--config", node_toml))
        cls.pop_b = start_pop(cls.keys, cls.origin.url, "pop-b")
        cls.project = fleet_project("hp", "hp.test", 1, kv_worker("v=${env.VERSION}"))
        result = cls.origin.deploy(cls.project.dir)
        assert result.returncode == 0, result.stderr

    @classmethod
    def tearDownClass(cls):
        for node in (cls.pop_a, cls.pop_b):
            node.remove()
        cls.origin.remove()
        cls.keys.remove()
        cls.project.remove()
        import shutil
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def file(cls, name, text):
        path = os.path.join(cls.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def edge(self, *args):
        import subprocess
        return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=120)

    def put(self, text):
        return self.edge("host-policies", "put", self.file("set.toml", text), "--to",
                         self.origin.url, "--token-file", self.origin.token_file)

    @staticmethod
    def status(pop, method="GET", headers=None):
        return pop.request("hp.test", "/x", method=method, headers=headers).status

    def until(self, pop, expected, method="GET", headers=None, timeout=15):
        """Waits until `pop` answers `expected`; returns the seconds it took."""
        start = time.time()
        ok = wait_until(lambda: self.status(pop, method, headers) == expected, timeout)
        self.assertTrue(ok, f"{method} on {pop.args} never answered {expected} (last "
                            f"{self.status(pop, method, headers)}):\n{pop.log()[-3000:]}")
        return time.time() - start

    def source(self, pop):
        return json.loads(pop.admin("GET", "/host-policies").body)["source"]

    def test_host_policies_set_changed_and_removed_at_the_origin(self):
        key = {"x-ops-key": OPS_KEY}
        for pop in (self.pop_a, self.pop_b):
            self.until(pop, 200)
        # Before the origin has a set: pop-a's node.toml serves.
        self.assertEqual(self.status(self.pop_a, "POST"), 405)
        self.assertEqual(self.status(self.pop_b, "POST"), 200)
        self.assertEqual(self.source(self.pop_a), "node.toml")
        self.assertEqual(self.source(self.pop_b), "none")

        # Set at the origin: every PoP refuses per it within seconds, and
        # pop-a's node.toml set no longer applies.
        result = self.put(KEYED)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Set 1 host policy table(s)", result.stdout)
        for pop in (self.pop_a, self.pop_b):
            self.assertLess(self.until(pop, 401), 10)
            self.assertEqual(self.status(pop, headers={"x-ops-key": "wrong"}), 403)
            self.assertEqual(self.status(pop, "POST", key), 200)
            self.assertEqual(self.source(pop), "origin")
            # A refused request never reached the worker.
            refused = pop.request("hp.test", "/x")
            self.assertEqual(refused.header("content-type"), "application/problem+json")
        self.assertIn("replace node.toml's [[host_policies]]", self.pop_a.log())

        # A bad set is refused at the origin, naming the field; the fleet
        # keeps the set it has.
        head = json.loads(self.origin.admin("GET", "/sync/fleet")[1])["head"]
        result = self.put(BAD)
        self.assertEqual(result.returncode, 1)
        self.assertIn("host_policies[0].rate_limit.period_s", result.stderr)
        status, body = self.origin.admin("PUT", "/host-policies", b'[{"hosts":["hp.test"],"x":1}]')
        self.assertEqual(status, 400)
        self.assertIn(b"host_policies[0].x: unknown key", body)
        self.assertEqual(json.loads(self.origin.admin("GET", "/sync/fleet")[1])["head"], head)
        self.assertEqual(self.status(self.pop_b), 401)

        # A PoP takes no changes of its own.
        response = self.pop_b.admin("PUT", "/host-policies", "[]")
        self.assertEqual(response.status, 409)
        self.assertEqual(self.pop_b.admin("DELETE", "/host-policies").status, 409)

        # Changed: the new set replaces the old one whole.
        result = self.put(READ_ONLY)
        self.assertEqual(result.returncode, 0, result.stderr)
        tenant = {"x-tenant": "t1"}
        for pop in (self.pop_a, self.pop_b):
            self.until(pop, 200, headers=tenant)
            self.assertEqual(self.status(pop), 400)  # x-tenant missing
            self.assertEqual(self.status(pop, "POST", {**tenant, **key}), 405)

        # A restarted PoP serves the set it stored, from its first request.
        self.pop_a.restart()
        self.assertEqual(self.status(self.pop_a, headers=tenant), 200)
        self.assertEqual(self.status(self.pop_a), 400)
        self.assertIn("the origin's set (1 tables) replaces node.toml's", self.pop_a.log())

        # pop-b sleeps through a change and a compaction: it comes back from
        # a snapshot with the newest set.
        self.pop_b.stop()
        result = self.put(KEYED)
        self.assertEqual(result.returncode, 0, result.stderr)
        status, _ = self.origin.admin("POST", "/sync/compact")
        self.assertEqual(status, 200)
        self.pop_b.restart()
        self.until(self.pop_b, 401)
        self.assertEqual(self.status(self.pop_b, "POST", key), 200)
        self.assertIn("applied the snapshot", self.pop_b.log())
        self.until(self.pop_a, 401)

        # Removed at the origin: pop-b has none; pop-a's node.toml serves again.
        result = self.edge("host-policies", "delete", "--to", self.origin.url, "--token-file",
                           self.origin.token_file)
        self.assertEqual(result.returncode, 1)
        self.assertIn("--yes", result.stderr)
        result = self.edge("host-policies", "delete", "--yes", "--to", self.origin.url,
                           "--token-file", self.origin.token_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.until(self.pop_b, 200)
        self.assertEqual(self.status(self.pop_b, "POST"), 200)
        self.until(self.pop_a, 200)
        self.assertEqual(self.status(self.pop_a, "POST"), 405)
        self.assertEqual(self.source(self.pop_a), "node.toml")
        result = self.edge("host-policies", "get", "--to", self.pop_a.admin_url, "--token-file",
                           self.pop_a.token_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "1 host policy table(s), from node.toml")
        # Every PoP applied every entry: none refused (as their check-ins,
        # every 2 s, report).
        def refused():
            fleet = json.loads(self.origin.admin("GET", "/sync/fleet")[1])
            return {p["pop_id"]: p["refused"] for p in fleet["pops"]}
        self.assertTrue(wait_until(lambda: set(refused()) == {"pop-a", "pop-b"}, 10))
        self.assertEqual(refused(), {"pop-a": 0, "pop-b": 0})

    def test_origin_toml_host_policies_are_refused(self):
        config = self.file("origin.toml", KEYED)
        result = self.edge("origin", "--config", config, "--signing-key", self.keys.signing_key,
                           "--token-file", self.origin.token_file, "--data-dir",
                           os.path.join(self.dir, "unused-origin"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("edge host-policies put", result.stderr)


if __name__ == "__main__":
    unittest.main()
