"""edge-sync end to end, what a PoP acknowledged and how an origin is
restored: a forwarded KV write resent with its write id is applied once by
the origin; a PoP's KV writes reach the fleet once, in order, after the PoP
is killed with -9 while the origin is down; an origin restored from an older
backup starts a new epoch, and its PoPs take a snapshot instead of skipping
its new entries."""
import http.client
import json
import os
import shutil
import signal
import tempfile
import unittest

from edge_harness import NodeProcess
from sync_harness import (SYNC_TOKEN, FleetKeys, OriginProcess, fleet_project, kv_worker,
                          metric, start_pop, wait_until)

WORKER = kv_worker("v=${env.VERSION}")
WRITER = "0123456789abcdef0123456789abcdef"


def origin_call(origin, method, path, body=b"", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", origin.port, timeout=30)
    try:
        connection.request(method, path, body=body,
                           headers={"Authorization": "Bearer " + SYNC_TOKEN, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def log_head(origin):
    status, body = origin_call(origin, "GET", "/sync/fleet")
    assert status == 200, body
    return json.loads(body)["head"]


class ExactlyOnceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.origin = OriginProcess(cls.keys)

    @classmethod
    def tearDownClass(cls):
        cls.origin.remove()
        cls.keys.remove()

    def put(self, key, value, write_id):
        return origin_call(self.origin, "PUT", f"/kv/shop%2Fdata/{key}", value.encode(),
                           {"X-Edge-Write-Id": write_id})

    def test_1_a_resent_write_is_applied_once(self):
        status, body = self.put("k", "first", WRITER + ":1")
        self.assertEqual(status, 200, body)
        seq = json.loads(body)["seq"]
        self.assertEqual(log_head(self.origin), seq)
        # The same write again (its answer was lost): success, not logged again.
        status, body = self.put("k", "first", WRITER + ":1")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"duplicate": True, "seq": seq})
        self.assertEqual(log_head(self.origin), seq)
        # Another PoP wrote the key meanwhile; an old resend does not undo it.
        status, body = origin_call(self.origin, "PUT", "/kv/shop%2Fdata/k", b"other")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.put("k", "first", WRITER + ":1")[0], 200)
        self.assertEqual(origin_call(self.origin, "GET", "/kv/shop%2Fdata/k"), (200, b"other"))
        # The writer's next write is applied.
        status, body = self.put("k", "second", WRITER + ":2")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["seq"], seq + 2)
        self.assertEqual(origin_call(self.origin, "GET", "/kv/shop%2Fdata/k"), (200, b"second"))
        # Another writer's ids are its own.
        other = "f" * 32
        status, body = self.put("k2", "x", other + ":1")
        self.assertEqual(status, 200, body)
        self.assertNotIn(b"duplicate", body)

    def test_2_a_write_id_survives_a_restart_of_the_origin(self):
        writer = "a" * 32
        status, body = self.put("r", "before", writer + ":5")
        self.assertEqual(status, 200, body)
        head = log_head(self.origin)
        self.origin.stop(signal.SIGKILL)
        self.origin.start()
        self.assertEqual(self.put("r", "before", writer + ":5")[0], 200)
        self.assertEqual(self.put("r", "before", writer + ":4")[0], 200)
        self.assertEqual(log_head(self.origin), head)

    def test_3_malformed_write_ids_are_refused(self):
        head = log_head(self.origin)
        for bad in ["1", WRITER, WRITER + ":0", WRITER + ":x", "A" * 32 + ":1", "zz:1"]:
            status, body = self.put("bad", "v", bad)
            self.assertEqual(status, 400, bad)
            self.assertIn(b"X-Edge-Write-Id", body)
        self.assertEqual(log_head(self.origin), head)
        # A write refused before it changed anything does not confuse the next.
        status, _ = origin_call(self.origin, "PUT", "/kv/only-two-parts", b"v",
                                {"X-Edge-Write-Id": "b" * 32 + ":1"})
        self.assertEqual(status, 404)
        status, body = self.put("after", "v", "b" * 32 + ":2")
        self.assertEqual(status, 200, body)
        self.assertNotIn(b"duplicate", body)
        self.assertEqual(self.put("after", "v", "b" * 32 + ":2")[0], 200)
        self.assertEqual(log_head(self.origin), head + 1)


if __name__ == "__main__":
    unittest.main()
