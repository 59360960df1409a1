"""edge-sync and cron triggers: a worker's `[triggers] crons` deployed at the
origin reach every PoP inside its bundle; only the PoP that runs crons
(`--run-crons true`) fires them, so each minute fires once in the fleet;
the other replicas, by default, do not. The PoPs' clocks start a few
seconds before a minute (EDGE_CLOCK_START_MS): no test waits for a real
minute."""
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
        cls.origin = OriginProcess(cls.keys)
        cls.addClassCleanup(cls.origin.remove)
        now = int(time.time() * 1000)
        # 25 s before a minute: time to start the PoPs and deploy.
        start = (now // MINUTE_MS + 1) * MINUTE_MS - 25_000
        env = {"EDGE_CLOCK_START_MS": str(start)}
        cls.pops = {}
        for pop_id, extra in [("home", ["--run-crons", "true"]), ("pop-b", []), ("pop-c", [])]:
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

    def test_each_minute_fires_on_the_home_pop_only(self):
        home = self.pops["home"]
        self.assertTrue(wait_until(lambda: self.fired(home), 120, 0.2), home.log())
        first = self.fired(home)[0]
        self.assertEqual(first["outcome"], "ok")
        self.assertEqual(first["worker"], "ticker")
        # The replicas that do not run crons never fire it, for that minute
        # or any other.
        time.sleep(2)
        for pop_id in ("pop-b", "pop-c"):
            self.assertEqual(self.fired(self.pops[pop_id]), [], pop_id)
        minutes = [r["scheduled_time"] for r in self.fired(home)]
        self.assertEqual(len(minutes), len(set(minutes)))


if __name__ == "__main__":
    unittest.main()
