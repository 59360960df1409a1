"""edge-sync and queues: the fleet's cron home is also the queues' home, the
only PoP whose consumers run. Every other PoP keeps its workers' sends in
its own queue store and forwards them to the origin (the mailbox), from
which the home takes them. An origin and three PoPs: pop-a and pop-b may be
the home, pop-c (`--run-crons false`) never is. A send on any PoP is
delivered on the home; a send kept at a PoP survives the PoP's `kill -9`
while the origin is down and is delivered once the origin is back; `kill
-9` of the home in the middle of a delivery loses nothing (the old home,
back as a non-home, forwards what it held, and the new home delivers it);
hostile calls to the origin's queue sync API get clear 4xx answers and
change nothing. Below a relay, sends go through the relay's store."""
import json
import re
import signal
import unittest

from edge_harness import NodeProcess, Project
from sync_harness import (SYNC_TOKEN, FleetKeys, OriginProcess, _call, metric, start_pop,
                          wait_until)

HOST = "fleetq.test"

WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/send") {
      await env.JOBS.send({ id: url.searchParams.get("id") });
      return new Response("sent");
    }
    if (url.pathname === "/kv") {
      return new Response((await env.DATA.get(url.searchParams.get("key"))) ?? "missing");
    }
    return new Response("fleetq");
  },
  async queue(batch, env) {
    for (const message of batch.messages) {
      const id = message.body.id;
      if (id.startsWith("slow") && message.attempts === 1) {
        // The first delivery hangs: the test kills the home meanwhile.
        await env.DATA.put("started:" + id, "1");
        await new Promise((resolve) => setTimeout(resolve, 120000));
      }
      await env.DATA.put("seen:" + id, String(message.attempts));
      console.log(`delivered ${id} attempt ${message.attempts}`);
      message.ack();
    }
  },
};
"""

CONFIG = f"""name = "fleetq"
main = "index.js"
routes = ["{HOST}/*"]
[[kv_namespaces]]
binding = "DATA"
id = "data"
[[queues.producers]]
binding = "JOBS"
queue = "jobs"
[[queues.consumers]]
queue = "jobs"
max_batch_size = 1
max_batch_timeout = 0
"""


class SyncQueuesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.addClassCleanup(cls.keys.remove)
        cls.origin = OriginProcess(cls.keys, extra=["--cron-home-grace-s", "6"])
        cls.addClassCleanup(cls.origin.remove)
        cls.pops = {}
        for pop_id, extra in [("pop-a", []), ("pop-b", []), ("pop-c", ["--run-crons", "false"])]:
            args = ["--sync-from", cls.origin.url, "--sync-key", cls.keys.verify_key,
                    "--sync-token-file", cls.keys.sync_token_file, "--secrets-key",
                    cls.keys.secrets_key, "--pop-id", pop_id, *extra]
            cls.pops[pop_id] = NodeProcess.for_class(cls, *args, threads=1)
        project = Project({"index.js": WORKER}, config=CONFIG)
        cls.addClassCleanup(project.remove)
        result = cls.origin.deploy(project.dir)
        assert result.returncode == 0, result.stderr
        for node in cls.pops.values():
            assert wait_until(lambda: node.request(HOST).body == b"fleetq", 30), node.log()

    def send(self, node, message_id):
        response = node.request(HOST, f"/send?id={message_id}")
        self.assertEqual(response.body, b"sent", node.log())

    def delivered(self, node, message_id):
        """The attempts with which `node` delivered the message (its console lines)."""
        prefix = f"delivered {message_id} attempt "
        return [int(r["message"][len(prefix):]) for r in node.access_records("console")
                if r.get("message", "").startswith(prefix)]

    def origin_status(self):
        status, body = self.origin.admin("GET", "/status")
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def home(self):
        """The home the origin names and that PoP agrees with (waits for both)."""
        found = {}

        def agreed():
            name = self.origin_status().get("cron_home")
            if name not in self.pops:
                return False
            answer = self.pops[name].admin("GET", "/status")
            found["home"] = name
            return json.loads(answer.body).get("cron_home") == name
        self.assertTrue(wait_until(agreed, 30), self.origin.log())
        return found["home"]

    def mailbox_depth(self):
        listed = self.pops["pop-a"].cli("queues", "list", "--to", self.origin.url,
                                        "--token-file", self.origin.token_file)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        for line in listed.stdout.splitlines():
            columns = line.split()
            if columns and columns[0] == "jobs":
                return int(columns[1])
        raise AssertionError("no queue jobs at the origin:\n" + listed.stdout)

    def kill_and_restart(self, node):
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait()
        node._start()

    def test_1_a_send_on_any_pop_is_delivered_on_the_home(self):
        a, b, c = self.pops["pop-a"], self.pops["pop-b"], self.pops["pop-c"]
        self.assertEqual(self.home(), "pop-a")  # the lowest pop_id, first to check in
        self.send(c, "c1")
        self.send(b, "b1")
        self.send(a, "a1")
        for message_id in ("c1", "b1", "a1"):
            self.assertTrue(wait_until(lambda: self.delivered(a, message_id) == [1], 30),
                            f"{message_id} not delivered on the home:\n{a.log()}\n{c.log()}")
        self.assertEqual(a.request(HOST, "/kv?key=seen:c1").body, b"1")
        # Only the home's consumer ran.
        for node in (b, c):
            self.assertFalse([r for r in node.access_records() if r.get("queue") == "jobs"],
                             node.log())
        self.assertGreaterEqual(metric(c, "edge_sync_queue_forwarded_total"), 1)
        self.assertGreaterEqual(metric(b, "edge_sync_queue_forwarded_total"), 1)
        self.assertGreaterEqual(metric(a, "edge_sync_queue_pulled_total"), 2)
        self.assertEqual(metric(c, "edge_sync_queue_outbox_messages"), 0)
        self.assertEqual(self.mailbox_depth(), 0)
        status, text = self.origin.admin("GET", "/metrics")
        self.assertEqual(status, 200)
        acked = re.search(r"^edge_sync_queue_acked_total ([\d.]+)$", text.decode(), re.M)
        self.assertIsNotNone(acked, text)
        self.assertGreaterEqual(float(acked.group(1)), 2)
        self.assertIn("edge_sync_queue_mailbox_messages 0", text.decode())

    def test_2_sends_kept_at_a_pop_survive_its_kill_while_the_origin_is_down(self):
        a, b, c = self.pops["pop-a"], self.pops["pop-b"], self.pops["pop-c"]
        home = self.home()
        self.origin.stop()
        try:
            self.send(c, "d1")
            self.send(b if home == "pop-a" else a, "d2")
            # The home's own sends are delivered without the origin.
            self.send(self.pops[home], "d3")
            self.assertTrue(wait_until(lambda: self.delivered(self.pops[home], "d3") == [1], 30),
                            self.pops[home].log())
            self.assertEqual(metric(c, "edge_sync_queue_outbox_messages"), 1)
            # The PoP dies before it could forward: the send is on its disk.
            self.kill_and_restart(c)
            self.assertTrue(wait_until(lambda: metric(c, "edge_sync_queue_outbox_messages") == 1,
                                       10), c.log())
        finally:
            self.origin.start()
        for message_id in ("d1", "d2"):
            self.assertTrue(
                wait_until(lambda: self.delivered(a, message_id) + self.delivered(b, message_id),
                           60),
                f"{message_id} not delivered:\n{self.origin.log()}\n{c.log()}")
        self.assertEqual(self.delivered(c, "d1"), [])
        self.assertTrue(wait_until(lambda: metric(c, "edge_sync_queue_outbox_messages") == 0, 10))

    def test_3_kill_of_the_home_during_a_delivery_loses_nothing(self):
        c = self.pops["pop-c"]
        home = self.home()
        other = "pop-b" if home == "pop-a" else "pop-a"
        old, new = self.pops[home], self.pops[other]
        self.send(c, "slow-1")
        self.assertTrue(wait_until(lambda: old.request(HOST, "/kv?key=started:slow-1").body == b"1",
                                   30), old.log())
        old.proc.send_signal(signal.SIGKILL)
        old.proc.wait()
        # Until the origin names another home, what PoPs forward waits in its
        # mailbox (`edge queues list` against the origin shows it).
        self.send(c, "m1")
        self.assertTrue(wait_until(lambda: self.mailbox_depth() >= 1, 5), c.log())
        self.assertTrue(wait_until(lambda: self.origin_status().get("cron_home") == other, 30),
                        self.origin.log())
        self.assertTrue(wait_until(lambda: self.delivered(new, "m1"), 30), new.log())
        # The old home comes back as a non-home and forwards what it held:
        # the message whose delivery it never finished is delivered again.
        old._start()
        self.assertTrue(wait_until(lambda: self.delivered(new, "slow-1"), 60),
                        f"{old.log()}\n{new.log()}")
        self.assertEqual(self.delivered(new, "slow-1"), [2])  # its second delivery
        self.assertEqual(self.delivered(old, "slow-1"), [])
        self.assertTrue(wait_until(lambda: metric(old, "edge_sync_queue_outbox_messages") == 0,
                                   10), old.log())
        self.assertEqual(self.mailbox_depth(), 0)

    def test_4_hostile_calls_to_the_origin_are_refused_and_lose_nothing(self):
        def call(path, body, token=SYNC_TOKEN):
            status, answer = _call(self.origin.port, "POST", path,
                                   body if isinstance(body, bytes) else body.encode(), token)
            return status, answer.decode(errors="replace")

        message = {"queue": "jobs", "id": "0" * 32, "content_type": "text", "body": "eA==",
                   "attempts": 0, "timestamp_ms": 1_700_000_000_000, "visible_ms": 0}
        put = {"pop_id": "mallory", "account": "default", "messages": [message]}
        status, answer = call("/sync/queues/put", "{not json")
        self.assertEqual(status, 400, answer)
        self.assertIn("must be a JSON object", answer)
        status, answer = call("/sync/queues/put", json.dumps(dict(put, messages=[message] * 501)))
        self.assertEqual(status, 400, answer)
        self.assertIn("at most 500 messages", answer)
        status, answer = call("/sync/queues/put", b" " * (9 << 20))
        self.assertEqual(status, 413, answer)
        status, answer = call("/sync/queues/put", json.dumps(dict(put, account="nobody")))
        self.assertEqual(status, 400, answer)
        self.assertIn('no account \\"nobody\\" here', answer)
        status, answer = call("/sync/queues/take",
                              json.dumps({"pop_id": "pop-c", "term": 1, "max": 10}))
        self.assertEqual(status, 409, answer)
        term = self.origin_status()["cron_term"]
        home = self.origin_status()["cron_home"]
        status, answer = call("/sync/queues/take",
                              json.dumps({"pop_id": home, "term": term - 1, "max": 10}))
        self.assertEqual(status, 409, answer)
        self.assertIn(f"term {term - 1} is over", answer)
        status, answer = call("/sync/queues/ack",
                              json.dumps({"pop_id": home, "lease": "f" * 32, "done": [0]}))
        self.assertEqual(status, 409, answer)
        # Without the sync or admin token, nothing.
        status, answer = call("/sync/queues/put", json.dumps(put), token="wrong")
        self.assertEqual(status, 403, answer)
        # The fleet still works: a send on a non-home PoP is delivered.
        c = self.pops["pop-c"]
        self.send(c, "after")
        node = self.pops[self.home()]
        self.assertTrue(wait_until(lambda: self.delivered(node, "after"), 30), node.log())
        self.assertIsNone(self.origin.proc.poll())
        self.assertEqual(self.mailbox_depth(), 0)


class SyncQueuesRelayTest(unittest.TestCase):
    """A PoP below a relay is never the home: it forwards its sends to the
    relay, which commits them to its own store and forwards them on (it does
    not run crons here, so it is not the home either); the home delivers."""

    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.addClassCleanup(cls.keys.remove)
        cls.origin = OriginProcess(cls.keys)
        cls.addClassCleanup(cls.origin.remove)
        cls.home = start_pop(cls.keys, cls.origin.url, "pop-a")
        cls.addClassCleanup(cls.home.remove, report=True)
        cls.relay = start_pop(cls.keys, cls.origin.url, "relay", relay=True,
                              extra=["--run-crons", "false"])
        cls.addClassCleanup(cls.relay.remove, report=True)
        cls.leaf = start_pop(cls.keys, cls.relay.admin_url, "leaf")
        cls.addClassCleanup(cls.leaf.remove, report=True)
        project = Project({"index.js": WORKER}, config=CONFIG)
        cls.addClassCleanup(project.remove)
        result = cls.origin.deploy(project.dir)
        assert result.returncode == 0, result.stderr
        for node in (cls.home, cls.relay, cls.leaf):
            assert wait_until(lambda: node.request(HOST).body == b"fleetq", 30), node.log()

    def test_a_send_below_a_relay_is_delivered_on_the_home(self):
        self.assertTrue(wait_until(
            lambda: json.loads(self.origin.admin("GET", "/status")[1]).get("cron_home") == "pop-a",
            20), self.origin.log())
        self.assertEqual(self.leaf.request(HOST, "/send?id=leaf-1").body, b"sent")
        self.assertTrue(wait_until(
            lambda: self.home.request(HOST, "/kv?key=seen:leaf-1").body == b"1", 30),
            f"{self.leaf.log()}\n{self.relay.log()}\n{self.home.log()}")
        self.assertGreaterEqual(metric(self.leaf, "edge_sync_queue_forwarded_total"), 1)
        self.assertGreaterEqual(metric(self.relay, "edge_sync_queue_forwarded_total"), 1)
        for node in (self.relay, self.leaf):
            self.assertFalse([r for r in node.access_records() if r.get("queue") == "jobs"])
        # The relay takes puts only: take and ack are the origin's.
        status, answer = _call(self.relay.admin_port, "POST", "/sync/queues/take",
                               b'{"pop_id":"leaf","term":1,"max":1}', SYNC_TOKEN)
        self.assertEqual(status, 404, answer)


if __name__ == "__main__":
    unittest.main()
