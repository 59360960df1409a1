"""edge-sync end to end, what a PoP acknowledged and how an origin is
restored: a forwarded KV write resent with its write id is applied once by
the origin, also when a real PoP sends it again because the answer was
lost; a relay compacts its own log and a late PoP below it bootstraps from
a snapshot; an origin restored from an older backup starts a new epoch, and
its PoPs take a snapshot instead of skipping its new entries. (A KV write
surviving kill -9 of its PoP while the origin is down is test_7 of
test_sync_fleet.py.)"""
import http.client
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import unittest

from sync_harness import (SYNC_TOKEN, FleetKeys, OriginProcess, fleet_project, kv_worker,
                          metric, pipe, start_pop, wait_until)

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


class AnswerDroppingProxy:
    """A TCP proxy to `port` that, while `drop_next_kv_answer` is set, lets
    the next PUT /kv/... through to the origin but closes the connection
    instead of passing the answer back: the write is applied, the PoP never
    hears so."""

    def __init__(self, port):
        self.port_to = port
        self.drop_next_kv_answer = False
        self.dropped = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.port_to))
        first = client.recv(65536)
        drop = self.drop_next_kv_answer and first.startswith(b"PUT /kv/")
        if drop:
            self.drop_next_kv_answer = False
        upstream.sendall(first)
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        if drop:
            upstream.recv(65536)  # the origin answered: it applied the write
            self.dropped += 1
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            return
        pipe(upstream, client)

    def close(self):
        self.listener.close()


class ForwardedWriteOnceTest(unittest.TestCase):
    """A PoP's KV write whose answer is lost is sent again; the origin
    applies it once (one entry in its log), and every PoP ends with it."""

    def test_1_a_write_whose_answer_was_lost_is_logged_once(self):
        keys = FleetKeys()
        origin = OriginProcess(keys)
        proxy = AnswerDroppingProxy(origin.port)
        writer = start_pop(keys, proxy.url, "pop-writer")
        reader = start_pop(keys, origin.url, "pop-reader")
        project = fleet_project("fleet", "fleet.test", 1, WORKER)
        try:
            self.assertEqual(origin.deploy(project.dir).returncode, 0)
            for node in (writer, reader):
                self.assertTrue(wait_until(
                    lambda: node.request("fleet.test", "/").body == b"v=1", 30), node.log())
            head = log_head(origin)
            proxy.drop_next_kv_answer = True
            self.assertEqual(writer.request("fleet.test", "/kv?key=once&value=v1",
                                            method="PUT").body, b"stored")
            self.assertTrue(wait_until(lambda: metric(writer, "edge_sync_kv_pending") == 0, 30),
                            writer.log()[-3000:])
            self.assertEqual(proxy.dropped, 1)
            self.assertTrue(wait_until(
                lambda: reader.request("fleet.test", "/kv?key=once").body == b"v1", 30))
            # Sent twice, applied (and logged) once.
            self.assertEqual(log_head(origin), head + 1)
            self.assertEqual(metric(OriginAsNode(origin), "edge_sync_kv_duplicate_writes_total"), 1)
            self.assertEqual(metric(writer, "edge_sync_kv_forward_refused_total"), 0)
        finally:
            for node in (writer, reader):
                node.remove()
            proxy.close()
            origin.remove()
            keys.remove()
            project.remove()


class OriginAsNode:
    """What sync_harness.metric() needs of a node, for an origin."""

    def __init__(self, origin):
        self.origin = origin

    def admin(self, method, path):
        status, body = self.origin.admin(method, path)

        class Answer:
            pass
        answer = Answer()
        answer.status, answer.body = status, body
        return answer


class RestoreTest(unittest.TestCase):
    """An origin restored from an older backup: its new entries reuse seqs
    the PoPs have passed; a new epoch makes them take a snapshot instead."""

    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.origin = OriginProcess(cls.keys)
        cls.relay = start_pop(cls.keys, cls.origin.url, "relay", relay=True)
        cls.pops = [start_pop(cls.keys, cls.origin.url, "pop-direct"),
                    start_pop(cls.keys, cls.relay.admin_url, "pop-below-relay")]
        cls.projects = []
        cls.backup = tempfile.mkdtemp(prefix="edge-origin-backup-")

    @classmethod
    def tearDownClass(cls):
        for node in [*cls.pops, cls.relay]:
            node.remove()
        cls.origin.remove()
        cls.keys.remove()
        for p in cls.projects:
            p.remove()
        shutil.rmtree(cls.backup, ignore_errors=True)

    def nodes(self):
        return [self.relay, *self.pops]

    def deploy(self, name, host, version):
        p = fleet_project(name, host, version, WORKER)
        self.projects.append(p)
        result = self.origin.deploy(p.dir)
        self.assertEqual(result.returncode, 0, result.stderr)

    def serves(self, node, host, expected):
        return node.request(host, "/").body.decode() == expected

    def wait_all(self, host, expected, timeout=30):
        for node in self.nodes():
            self.assertTrue(wait_until(lambda: self.serves(node, host, expected), timeout),
                            f"{node.args} never served {expected!r} on {host}: "
                            f"{node.request(host, '/').body!r}\n{node.log()[-3000:]}")

    def put_kv(self, key, value):
        status, body = origin_call(self.origin, "PUT", f"/kv/default%2Fdata/{key}", value)
        self.assertEqual(status, 200, body)
        for node in self.nodes():
            self.assertTrue(wait_until(lambda: self.kv(node, key) == (200, value)),
                            f"{node.args} never got KV {key}={value!r}")

    def kv(self, node, key):
        response = node.admin("GET", f"/kv/default/data/{key}")
        return response.status, (response.body if response.status == 200 else b"")

    def epoch_of(self, node):
        status, body = node.admin_json("GET", "/status")
        self.assertEqual(status, 200)
        return body["epoch"]

    def origin_epoch(self):
        status, body = origin_call(self.origin, "GET", "/sync/fleet")
        self.assertEqual(status, 200, body)
        return json.loads(body)["epoch"]

    STORES = ("deploy", "kv", "sync")

    def copy_stores(self, source, target):
        for store in self.STORES:
            shutil.rmtree(os.path.join(target, store), ignore_errors=True)
            shutil.copytree(os.path.join(source, store), os.path.join(target, store))

    def test_1_restoring_an_older_backup_starts_a_new_epoch_and_pops_follow(self):
        self.deploy("app", "app.test", 1)
        self.wait_all("app.test", "v=1")
        self.put_kv("kept", b"before the backup")
        first_epoch = self.origin_epoch()
        self.assertRegex(first_epoch, "^[0-9a-f]{32}$")
        self.assertTrue(wait_until(lambda: all(self.epoch_of(n) == first_epoch
                                               for n in self.nodes())))
        # The backup, as docs/operations.md says: the stores, origin stopped.
        self.origin.stop()
        self.copy_stores(self.origin.data_dir, self.backup)
        self.origin.start()
        # Changes after the backup, which the restore rolls back.
        self.deploy("app", "app.test", "rolled-back")
        self.deploy("extra", "extra.test", "rolled-back")
        self.put_kv("rolled", b"after the backup")
        self.put_kv("kept", b"changed after the backup")
        self.wait_all("app.test", "v=rolled-back")
        self.wait_all("extra.test", "v=rolled-back")
        head_before = log_head(self.origin)
        # The restore: the stores only; origin-epoch stays and tells.
        self.origin.stop()
        self.copy_stores(self.backup, self.origin.data_dir)
        self.origin.start()
        self.assertTrue(wait_until(lambda: "restored from a backup" in self.origin.log()),
                        self.origin.log())
        self.assertIn("new epoch", self.origin.log())
        second_epoch = self.origin_epoch()
        self.assertNotEqual(second_epoch, first_epoch)
        self.assertLess(log_head(self.origin), head_before)
        # A new change takes a seq the PoPs have passed already.
        self.deploy("app", "app.test", "new")
        self.assertLessEqual(log_head(self.origin), head_before)
        self.wait_all("app.test", "v=new")
        for node in self.nodes():
            self.assertTrue(wait_until(lambda: node.request("extra.test", "/").status == 404),
                            f"{node.args} still serves the rolled-back worker")
            self.assertTrue(wait_until(lambda: self.epoch_of(node) == second_epoch))
            self.assertIn("new epoch", node.log())
            # KV too is the restored origin's: the key written after the
            # backup is gone, the one changed after it has its older value.
            self.assertTrue(wait_until(lambda: self.kv(node, "rolled")[0] == 404),
                            f"{node.args} still has a KV key the restore rolled back")
            self.assertEqual(self.kv(node, "kept"), (200, b"before the backup"))

    def test_2_new_epoch_flag_after_restoring_the_whole_folder(self):
        self.deploy("app", "app.test", "before-full-restore")
        self.wait_all("app.test", "v=before-full-restore")
        epoch = self.origin_epoch()
        # A copy of the whole folder, origin-epoch included, cannot be told
        # from the live one: the operator says so.
        self.origin.stop()
        self.origin.extra = ("--new-epoch",)
        self.origin.start()
        self.origin.extra = ()
        new_epoch = self.origin_epoch()
        self.assertNotEqual(new_epoch, epoch)
        self.deploy("app", "app.test", "after-new-epoch")
        self.wait_all("app.test", "v=after-new-epoch")
        for node in self.nodes():
            self.assertTrue(wait_until(lambda: self.epoch_of(node) == new_epoch))


class ReplicaCompactionTest(unittest.TestCase):
    """A relay compacts its own copy of the log; a PoP below it that starts
    after that gets 410 from the relay and bootstraps from a snapshot."""

    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.origin = OriginProcess(cls.keys)
        cls.relay = start_pop(cls.keys, cls.origin.url, "relay", relay=True,
                              extra=("--sync-compact-every-s", "1"))
        cls.pops = [start_pop(cls.keys, cls.relay.admin_url, "pop-early")]
        cls.projects = []

    @classmethod
    def tearDownClass(cls):
        for node in [*cls.pops, cls.relay]:
            node.remove()
        cls.origin.remove()
        cls.keys.remove()
        for p in cls.projects:
            p.remove()

    def deploy(self, version):
        p = fleet_project("app", "app.test", version, WORKER)
        self.projects.append(p)
        result = self.origin.deploy(p.dir)
        self.assertEqual(result.returncode, 0, result.stderr)

    def relay_fleet(self):
        status, body = self.relay.admin_json("GET", "/sync/fleet")
        self.assertEqual(status, 200, body)
        return body

    def test_1_a_relay_compacts_and_a_late_pop_takes_a_snapshot(self):
        for version in range(1, 4):
            self.deploy(version)
        # One key written three times: two superseded entries to drop.
        for value in (b"1", b"2", b"3"):
            self.assertEqual(origin_call(self.origin, "PUT", "/kv/app%2Fdata/k", value)[0], 200)
        for node in [self.relay, *self.pops]:
            self.assertTrue(wait_until(lambda: node.request("app.test", "/").body == b"v=3", 30),
                            node.log()[-2000:])
        # The relay compacts no further than the origin did (as the origin
        # signed it in its heartbeats).
        status, body = origin_call(self.origin, "POST", "/sync/compact")
        self.assertEqual(status, 200, body)
        origin_point = json.loads(body)["compacted_through"]
        self.assertTrue(wait_until(
            lambda: self.relay_fleet()["compacted_through"] == origin_point, 30),
            self.relay.log()[-2000:])
        self.assertTrue(wait_until(lambda: "superseded entries dropped" in self.relay.log()),
                        self.relay.log()[-2000:])
        self.assertEqual(self.relay.admin("GET", "/sync/log?after=0", token=SYNC_TOKEN).status, 410)
        late = start_pop(self.keys, self.relay.admin_url, "pop-late")
        self.pops.append(late)
        self.assertTrue(wait_until(lambda: late.request("app.test", "/").body == b"v=3", 30),
                        late.log()[-2000:])
        self.assertTrue(wait_until(lambda: "took a snapshot" in late.log()), late.log()[-2000:])
        # Events are counters, states are gauges.
        metrics = late.admin("GET", "/metrics").body.decode()
        for counter in ("edge_sync_snapshots_total", "edge_sync_refused_entries_total",
                        "edge_sync_unverified_total", "edge_sync_kv_forwarded_total",
                        "edge_sync_kv_forward_refused_total",
                        "edge_sync_kv_forward_not_queued_total"):
            self.assertIn(f"# TYPE {counter} counter", metrics)
        for gauge in ("edge_sync_cursor", "edge_sync_lag_entries", "edge_sync_kv_pending"):
            self.assertIn(f"# TYPE {gauge} gauge", metrics)
        self.assertEqual(metric(late, "edge_sync_snapshots_total"), 1)
        # The early PoP tails on, past the compaction point.
        self.deploy(4)
        for node in self.pops:
            self.assertTrue(wait_until(lambda: node.request("app.test", "/").body == b"v=4", 30),
                            node.log()[-2000:])
        fleet = self.relay_fleet()
        self.assertGreater(fleet["head"], origin_point)
        self.assertEqual(fleet["compacted_through"], origin_point)


class RelayRestartTest(unittest.TestCase):
    """A relay restarted while the origin is down still serves the PoPs
    below it: it kept the origin's newest signed state."""

    def test_1_a_pop_catches_up_with_a_restarted_relay_while_the_origin_is_down(self):
        keys = FleetKeys()
        origin = OriginProcess(keys)
        relay = start_pop(keys, origin.url, "relay", relay=True)
        # A fixed address for the relay: it gets another admin port when
        # it restarts.
        to_relay = AnswerDroppingProxy(relay.admin_port)
        pop = start_pop(keys, to_relay.url, "pop-below")
        projects = []
        try:
            def deploy(version):
                p = fleet_project("app", "app.test", version, WORKER)
                projects.append(p)
                self.assertEqual(origin.deploy(p.dir).returncode, 0)
            deploy(1)
            for node in (relay, pop):
                self.assertTrue(wait_until(
                    lambda: node.request("app.test", "/").body == b"v=1", 30), node.log())
            pop.stop()
            deploy(2)
            self.assertTrue(wait_until(lambda: relay.request("app.test", "/").body == b"v=2", 30))
            head = log_head(origin)

            def relay_reported():
                status, body = origin_call(origin, "GET", "/sync/fleet")
                return any(p["pop_id"] == "relay" and p["cursor"] == head
                           for p in json.loads(body)["pops"])
            self.assertTrue(wait_until(relay_reported, 30))
            origin.stop(signal.SIGKILL)
            relay.restart()
            to_relay.port_to = relay.admin_port
            pop._start()
            self.assertTrue(wait_until(lambda: pop.request("app.test", "/").body == b"v=2", 30),
                            pop.log()[-3000:] + relay.log()[-2000:])
        finally:
            for node in (pop, relay):
                node.remove()
            to_relay.close()
            origin.remove()
            keys.remove()
            for p in projects:
                p.remove()


if __name__ == "__main__":
    unittest.main()
