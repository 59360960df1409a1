"""edge-sync end to end: an origin, a relay and three PoPs behind it on
loopback. Deploys, secrets and KV writes reach every PoP; a PoP killed with
-9 converges after a restart; PoPs keep serving while the origin is down and
catch up when it returns; a KV write made while the origin is down survives
a kill -9 of the PoP that took it; a PoP started after compaction bootstraps
from a snapshot."""
import json
import os
import signal
import threading
import time
import unittest

from sync_harness import (SYNC_TOKEN, FleetKeys, OriginProcess, fleet_project, kv_worker,
                          metric, start_pop, wait_until)

WORKER = kv_worker('v=${env.VERSION} secret=${env.TOKEN ?? "none"} colo=${request.cf?.colo}')


class SyncFleetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.origin = OriginProcess(cls.keys)
        cls.relay = start_pop(cls.keys, cls.origin.url, "relay", relay=True)
        relay_url = cls.relay.admin_url
        cls.pops = [start_pop(cls.keys, relay_url, f"pop-{c}") for c in "abc"]
        cls.projects = []

    @classmethod
    def tearDownClass(cls):
        for node in [*cls.pops, cls.relay]:
            node.remove()
        cls.origin.remove()
        cls.keys.remove()
        for p in cls.projects:
            p.remove()

    def nodes(self):
        return [self.relay, *self.pops]

    def deploy(self, version):
        p = fleet_project("fleet", "fleet.test", version, WORKER)
        self.projects.append(p)
        result = self.origin.deploy(p.dir)
        self.assertEqual(result.returncode, 0, result.stderr)

    def body(self, node, path="/", method="GET"):
        return node.request("fleet.test", path, method=method).body.decode()

    def wait_all(self, expected_prefix, timeout=20):
        for node in self.nodes():
            ok = wait_until(lambda: self.body(node).startswith(expected_prefix), timeout)
            self.assertTrue(ok, f"{node.args} never served {expected_prefix!r}: "
                                f"{self.body(node)!r}\n{node.log()[-2000:]}")

    def test_1_deploy_reaches_every_pop_with_its_colo(self):
        self.deploy(1)
        self.wait_all("v=1 ")
        for node in self.pops:
            self.assertIn(f"colo={node.args[node.args.index('--pop-id') + 1]}", self.body(node))
        # A PoP refuses changes made on it: the origin is the single writer.
        status, body = self.pops[0].admin_json("DELETE", "/workers/fleet")
        self.assertEqual(status, 409, body)
        # The fleet view lists every PoP, the ones behind the relay included.
        self.assertTrue(wait_until(lambda: {p["pop_id"] for p in json.loads(
            self.origin.admin("GET", "/sync/fleet")[1])["pops"]} >= {"relay", "pop-a", "pop-b",
                                                                     "pop-c"}, 10))

    def test_2_secrets_reach_pops_sealed(self):
        self.deploy(2)
        result = self.origin_cli("secret", "put", "TOKEN", "--name", "fleet", input="hunter2\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.wait_all("v=2 secret=hunter2")
        # Never in clear in the log the PoPs read.
        status, log = self.origin.admin("GET", "/sync/snapshot")
        self.assertEqual(status, 200)
        self.assertNotIn(b"hunter2", log)
        import base64
        for line in log.splitlines():
            record = json.loads(line)
            if "entry" in record:
                self.assertNotIn(b"hunter2", base64.b64decode(record["entry"]))

    def test_3_kv_write_at_one_pop_is_read_there_and_everywhere(self):
        self.deploy(3)
        self.wait_all("v=3 ")
        writer = self.pops[0]
        self.assertEqual(writer.request("fleet.test", "/kv?key=k1&value=from-a", method="PUT").body,
                         b"stored")
        # Read your own write at once at the PoP that wrote.
        self.assertEqual(self.body(writer, "/kv?key=k1"), "from-a")
        for node in self.nodes():
            self.assertTrue(wait_until(lambda: self.body(node, "/kv?key=k1") == "from-a", 20),
                            node.log()[-2000:])
        self.assertEqual(self.origin.admin("GET", "/kv/default/data/k1"), (200, b"from-a"))

    def test_4_pop_killed_during_replication_converges(self):
        victim = self.pops[2]
        deployer = threading.Thread(target=lambda: [self.deploy(v) for v in range(10, 16)])
        deployer.start()
        time.sleep(0.3)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        deployer.join()
        victim.restart()
        self.wait_all("v=15 ")

    def test_5_pops_serve_while_the_origin_is_down_and_catch_up(self):
        self.deploy(20)
        self.wait_all("v=20 ")
        self.origin.stop(signal.SIGKILL)
        for node in self.nodes():
            self.assertTrue(self.body(node).startswith("v=20 "))
        # Workers' KV writes still apply locally, and wait for the origin.
        writer = self.pops[1]
        writer.request("fleet.test", "/kv?key=offline&value=queued", method="PUT")
        self.assertEqual(self.body(writer, "/kv?key=offline"), "queued")
        time.sleep(1)
        self.origin.start()
        self.deploy(21)
        self.wait_all("v=21 ")
        for node in self.nodes():
            self.assertTrue(wait_until(lambda: self.body(node, "/kv?key=offline") == "queued", 20))

    def test_6_new_pop_after_compaction_bootstraps_from_a_snapshot(self):
        for version in range(30, 34):
            self.deploy(version)
        status, body = self.origin.admin("POST", "/sync/compact")
        self.assertEqual(status, 200, body)
        self.assertGreater(json.loads(body)["compacted_through"], 0)
        late = start_pop(self.keys, self.origin.url, "pop-late")
        try:
            self.assertTrue(wait_until(lambda: self.body(late).startswith("v=33 "), 20),
                            late.log()[-2000:])
            self.assertTrue(wait_until(lambda: "snapshot" in late.log(), 10), late.log()[-2000:])
            self.assertTrue(wait_until(lambda: self.body(late, "/kv?key=k1") == "from-a", 10))
        finally:
            late.remove()

    def test_7_acknowledged_kv_write_survives_kill_9_while_the_origin_is_down(self):
        self.deploy(40)
        self.wait_all("v=40 ")
        self.origin.stop(signal.SIGKILL)
        writer, reader = self.pops[0], self.pops[1]
        # The put resolves at A (applied locally and queued on disk)...
        self.assertEqual(writer.request("fleet.test", "/kv?key=durable&value=from-a-offline",
                                        method="PUT").body, b"stored")
        self.assertEqual(self.body(writer, "/kv?key=durable"), "from-a-offline")
        self.assertEqual(metric(writer, "edge_sync_kv_pending"), 1)
        # ...then A dies without a chance to send it.
        writer.proc.send_signal(signal.SIGKILL)
        writer.proc.wait()
        writer.restart()
        self.assertIn("1 KV writes from before the restart wait for the origin", writer.log())
        # Read your own write across the restart, before the origin is back.
        self.assertEqual(self.body(writer, "/kv?key=durable"), "from-a-offline")
        self.origin.start()
        self.assertTrue(wait_until(lambda: self.body(reader, "/kv?key=durable")
                                   == "from-a-offline", 30), writer.log()[-2000:])
        self.assertEqual(self.origin.admin("GET", "/kv/default/data/durable"),
                         (200, b"from-a-offline"))
        self.assertTrue(wait_until(lambda: metric(writer, "edge_sync_kv_pending") == 0, 10))
        self.assertEqual(metric(writer, "edge_sync_kv_forward_refused_total"), 0)

    def origin_cli(self, *args, input=None):
        import subprocess
        from edge_harness import BINARY
        return subprocess.run([BINARY, *args, "--to", self.origin.url, "--token-file",
                               self.origin.token_file], input=input, capture_output=True,
                              text=True, timeout=60)


if __name__ == "__main__":
    unittest.main()
