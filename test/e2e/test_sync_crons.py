"""edge-sync and cron triggers: a worker's `[triggers] crons` deployed at the
origin reach every PoP inside its bundle; the origin names one PoP the
fleet's cron home and grants each minute once, so each minute fires once in
the fleet. A PoP with `--run-crons false` never fires and is never named;
when the home is killed, another PoP is named and fires the next minutes,
and no minute fires twice. The PoPs' clocks start a few seconds before a
minute (EDGE_CLOCK_START_MS), so the first fire comes within seconds; the
handover waits for one real minute."""
import json
import signal
import time
import unittest

from edge_harness import NodeProcess, Project
from sync_harness import FleetKeys, OriginProcess, wait_until

MINUTE_MS = 60_000

WORKER = r"""
export default {
  fetch() { return new Response("cron worker"); },
  scheduled(controller) { console.log(`fired ${controller.cron} ${controller.scheduledTime}`); },
};
"""


class SyncCronTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.addClassCleanup(cls.keys.remove)
        cls.origin = OriginProcess(cls.keys, extra=["--cron-home-grace-s", "4"])
        cls.addClassCleanup(cls.origin.remove)
        now = int(time.time() * 1000)
        # 25 s before a minute: time to start the PoPs and deploy.
        start = (now // MINUTE_MS + 1) * MINUTE_MS - 25_000
        env = {"EDGE_CLOCK_START_MS": str(start)}
        cls.pops = {}
        for pop_id, extra in [("pop-a", []), ("pop-b", []), ("pop-c", ["--run-crons", "false"])]:
            args = ["--sync-from", cls.origin.url, "--sync-key", cls.keys.verify_key,
                    "--sync-token-file", cls.keys.sync_token_file, "--secrets-key",
                    cls.keys.secrets_key, "--pop-id", pop_id, *extra]
            cls.pops[pop_id] = NodeProcess.for_class(cls, *args, threads=2, extra_env=env)
        project = Project({"index.js": WORKER},
                          config='name = "ticker"\nmain = "index.js"\nroutes = ["ticker.test/*"]\n'
                                 '[triggers]\ncrons = ["* * * * *"]\n')
        cls.addClassCleanup(project.remove)
        result = cls.origin.deploy(project.dir)
        assert result.returncode == 0, result.stderr
        for node in cls.pops.values():
            assert wait_until(lambda: node.request("ticker.test").body == b"cron worker", 30), \
                node.log()

    def fired(self, node):
        return [r for r in node.access_records() if r.get("cron") == "* * * * *"]

    def origin_status(self):
        status, body = self.origin.admin("GET", "/status")
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_one_pop_fires_each_minute_and_another_takes_over_when_it_dies(self):
        a, b, c = self.pops["pop-a"], self.pops["pop-b"], self.pops["pop-c"]
        # pop-a checked in first with the lowest id: it is the home.
        self.assertTrue(wait_until(lambda: self.origin_status().get("cron_home") == "pop-a", 20),
                        self.origin.log())
        self.assertTrue(wait_until(lambda: self.fired(a), 90, 0.2), a.log())
        first = self.fired(a)[0]
        self.assertEqual(first["outcome"], "ok")
        self.assertEqual(first["worker"], "ticker")
        self.assertRegex(first["scheduled_time"], r":00(\.000)?Z$")  # a whole minute, UTC
        time.sleep(2)
        self.assertEqual(self.fired(b), [], b.log())
        self.assertEqual(self.fired(c), [], c.log())
        fired_by_a = {r["scheduled_time"] for r in self.fired(a)}

        # The home dies: after the grace time the origin names pop-b (never
        # pop-c, which does not run crons), and pop-b fires the next minutes.
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        self.assertTrue(wait_until(lambda: self.origin_status().get("cron_home") == "pop-b", 30),
                        self.origin.log())
        term = self.origin_status()["cron_term"]
        self.assertGreaterEqual(term, 2)
        self.assertTrue(wait_until(lambda: self.fired(b), 90, 0.2), b.log())
        fired_by_b = [r["scheduled_time"] for r in self.fired(b)]
        self.assertEqual(len(fired_by_b), len(set(fired_by_b)))
        self.assertEqual(fired_by_a & set(fired_by_b), set(), "a minute fired on two PoPs")
        self.assertGreater(min(fired_by_b), max(fired_by_a))
        self.assertEqual(self.fired(c), [], c.log())
        answer = b.admin("GET", "/status")
        self.assertEqual(json.loads(answer.body).get("cron_home"), "pop-b", answer.body)
        status, metrics = self.origin.admin("GET", "/metrics")
        self.assertIn("edge_sync_cron_claims_granted_total", metrics.decode())


if __name__ == "__main__":
    unittest.main()
