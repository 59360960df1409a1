"""End-to-end: Workers Queues on `edge serve` and `edge dev`.

A producer (`env.Q.send()` behind GET /send) and a consumer (`queue()`
recording each message in KV) in one worker. No test waits on a real delay
or asserts timing: consumers use max_batch_timeout = 0 and retry_delay = 0,
and the tests wait for effects (a KV record, a queue's depth on the admin
API, access-log records).
"""
import json
import os
import signal
import subprocess
import time
import unittest
import urllib.parse

from edge_harness import BINARY, EdgeProcess, NodeProcess, Project, wait_for

WORKER = r"""
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const m = url.searchParams.get("m");
    if (url.pathname === "/send") {
      const delaySeconds = Number(url.searchParams.get("delay") ?? 0);
      await env.Q.send({ m }, { delaySeconds });
      return new Response("sent");
    }
    if (url.pathname === "/batch") {
      await env.Q.sendBatch([{ body: { m: m + "-a" } }, { body: { m: m + "-b" } }]);
      return new Response("sent");
    }
    if (url.pathname === "/got") return new Response((await env.KV.get("got:" + m)) ?? "none");
    return new Response("hello");
  },
  async queue(batch, env) {
    for (const message of batch.messages) {
      const { m } = message.body;
      console.log(`consumed ${m} attempt ${message.attempts}`);
      if (m.startsWith("fail")) throw new Error(`refusing ${m}`);
      await env.KV.put("got:" + m, JSON.stringify({
        queue: batch.queue, attempts: message.attempts, id: message.id,
        timestamp: message.timestamp instanceof Date,
      }));
      message.ack();
    }
  },
};
"""

CONFIG = """
[[kv_namespaces]]
binding = "KV"
id = "records"

[[queues.producers]]
binding = "Q"
queue = "jobs"

[[queues.consumers]]
queue = "jobs"
max_batch_size = 10
max_batch_timeout = 0
max_retries = 1
dead_letter_queue = "jobs-dead"
retry_delay = 0
"""


class ServeQueuesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls)
        cls.node.deploy_worker("queued", WORKER, ["queued.test/*"], CONFIG)

    def got(self, m, timeout=30):
        def read():
            body = self.node.request("queued.test", "/got?m=" + urllib.parse.quote(m)).body
            return None if body == b"none" else json.loads(body)
        return wait_for(read, timeout)

    def queues(self):
        status, body = self.node.admin_json("GET", "/queues")
        self.assertEqual(status, 200)
        return {q["name"]: q for q in body["queues"]}

    def test_send_reaches_the_consumer(self):
        response = self.node.request("queued.test", "/send?m=hello")
        self.assertEqual((response.status, response.body), (200, b"sent"), self.node.log())
        seen = self.got("hello")
        self.assertIsNotNone(seen, self.node.log())
        self.assertEqual(seen["queue"], "jobs")
        self.assertEqual(seen["attempts"], 1)
        self.assertEqual(len(seen["id"]), 32)
        self.assertTrue(seen["timestamp"])
        self.assertEqual(self.node.request("queued.test", "/batch?m=two").body, b"sent")
        self.assertIsNotNone(self.got("two-a"), self.node.log())
        self.assertIsNotNone(self.got("two-b"), self.node.log())
        # Reported like a scheduled invocation: access log, metrics.
        records = wait_for(lambda: [r for r in self.node.access_records()
                                    if r.get("queue") == "jobs" and r["outcome"] == "ok"], 10)
        self.assertTrue(records, self.node.access)
        self.assertEqual(records[0]["worker"], "queued")
        self.assertNotIn("method", records[0])
        metrics = self.node.admin("GET", "/metrics").body.decode()
        self.assertIn('edge_queue_messages{account="default",queue="jobs"}', metrics)
        self.assertIn('edge_queue_deliveries_total{account="default",queue="jobs"}', metrics)

    def test_a_consumer_that_throws_ends_in_the_dead_letter_queue(self):
        self.assertEqual(self.node.request("queued.test", "/send?m=fail-1").body, b"sent")
        dead = wait_for(lambda: self.queues().get("jobs-dead", {}).get("messages", 0) >= 1, 30)
        self.assertTrue(dead, self.node.log())
        # Delivered max_retries + 1 = 2 times, each a failed invocation. The
        # access log is written in batches, and the second attempt's line can
        # come after the message is dead-lettered: wait for the lines.
        def failed():
            return [r for r in self.node.access_records()
                    if r.get("queue") == "jobs" and r["outcome"] == "exception"]
        self.assertTrue(wait_for(lambda: len(failed()) >= 2, 10), self.node.access)
        attempts = [r for r in self.node.access_records("console")
                    if "consumed fail-1" in r.get("message", "")]
        self.assertEqual([a["message"] for a in attempts],
                         ["consumed fail-1 attempt 1", "consumed fail-1 attempt 2"])
        metrics = self.node.admin("GET", "/metrics").body.decode()
        self.assertIn('edge_queue_dead_lettered_total{account="default",queue="jobs"} 1', metrics)

    def test_edge_queues_against_the_admin_api(self):
        common = ["--to", self.node.admin_url, "--token-file", self.node.token_file]
        result = self.node.cli("queues", "create", "extra", *common)
        self.assertEqual(result.returncode, 0, result.stderr)
        again = self.node.cli("queues", "create", "extra", *common)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("already exists", again.stderr)
        listed = self.node.cli("queues", "list", *common)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("extra", listed.stdout)
        self.assertIn("jobs", listed.stdout)
        self.assertEqual(self.node.cli("queues", "purge", "extra", *common).returncode, 0)
        self.assertEqual(self.node.cli("queues", "delete", "extra", *common).returncode, 0)
        self.assertNotIn("extra", self.queues())
        gone = self.node.cli("queues", "delete", "extra", *common)
        self.assertIn("does not exist", gone.stderr)
        bad = self.node.cli("queues", "create", "Bad_Name", *common)
        self.assertIn("not a valid queue name", bad.stderr)
        self.assertEqual(self.node.admin("GET", "/queues", token="wrong").status, 403)


class ServeKillTest(unittest.TestCase):
    def test_a_resolved_send_survives_kill_9(self):
        node = NodeProcess()
        self.addCleanup(node.remove)
        node.deploy_worker("queued", WORKER, ["queued.test/*"], CONFIG)
        # Delayed, so it is still in the queue when the node dies.
        response = node.request("queued.test", "/send?m=durable&delay=3")
        self.assertEqual(response.body, b"sent", node.log())
        node.stop(sig=signal.SIGKILL)
        node._start()
        body = wait_for(lambda: (b := node.request("queued.test", "/got?m=durable").body)
                        != b"none" and b, 60, 0.2)
        self.assertTrue(body, node.log())
        self.assertEqual(json.loads(body)["queue"], "jobs")


class DevQueuesTest(unittest.TestCase):
    def test_send_and_consume_under_edge_dev(self):
        project = Project({"index.js": WORKER},
                          config='name = "queued"\nmain = "index.js"\n' + CONFIG)
        self.addCleanup(project.remove)
        state = os.path.join(project.dir, "state")
        server = EdgeProcess(project.dir, "--persist-to", state)
        self.addCleanup(server.stop)
        self.assertEqual(server.request("GET", "/send?m=local").body, b"sent", server.log())
        body = wait_for(lambda: (b := server.request("GET", "/got?m=local").body) != b"none" and b,
                        30)
        self.assertTrue(body, server.log())
        self.assertEqual(json.loads(body)["attempts"], 1)
        self.assertTrue(server.wait_for_log(r'queue "jobs": batch of 1 handled'), server.log())
        self.assertEqual(server.request("GET", "/send?m=fail-dev").body, b"sent")
        self.assertTrue(server.wait_for_log(r"consumed fail-dev attempt 2", timeout=30), server.log())
        listed = subprocess.run([BINARY, "queues", "list", "--persist-to", state],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("jobs-dead", listed.stdout)


if __name__ == "__main__":
    unittest.main()
