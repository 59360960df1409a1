"""Redeploying a worker 20 times under load drops no request: each new
version is warmed on every thread before the routes switch, and requests in
flight finish on the version they started on."""
import re
import shutil
import subprocess
import threading
import unittest

from edge_harness import NodeProcess, make_worker, wait_for

SOURCE = """
export default {
  async fetch(request, env) {
    // A little work and an await, so requests overlap each switch.
    await new Promise((resolve) => setTimeout(resolve, 1));
    return new Response(`version ${env.VERSION}`);
  },
};
"""


@unittest.skipIf(shutil.which("wrk") is None, "wrk is not installed (scripts/bootstrap installs it)")
class RedeployUnderLoadTest(unittest.TestCase):
    def test_twenty_redeploys_under_wrk_load_lose_nothing(self):
        node = NodeProcess(threads=2)
        project = make_worker("busy", SOURCE, ["busy.test/*"], extra_config='[vars]\nVERSION = "0"\n')
        try:
            result = node.deploy(project.dir)
            self.assertEqual(result.returncode, 0, result.stderr)
            # wrk counts a request unanswered after --timeout (2 s unless
            # given) as a socket error; on a busy machine a request waiting
            # behind a version's load on its thread can take that long.
            wrk = subprocess.Popen(
                ["wrk", "-t2", "-c16", "-d10s", "--timeout", "30s", "-H", "Host: busy.test",
                 f"http://127.0.0.1:{node.http_port}/"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            deployed = []
            try:
                for version in range(1, 21):
                    project.write("edge.toml", 'name = "busy"\nmain = "index.js"\n'
                                  f'routes = ["busy.test/*"]\n[vars]\nVERSION = "{version}"\n')
                    result = node.deploy(project.dir)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    deployed.append(version)
                    # Once deploy returns, every new request sees the new version.
                    self.assertEqual(node.request("busy.test").body, f"version {version}".encode())
            finally:
                output, _ = wrk.communicate(timeout=60)
            self.assertEqual(deployed, list(range(1, 21)))
            requests = int(re.search(r"(\d+) requests in", output).group(1))
            self.assertGreater(requests, 100, output)
            self.assertNotIn("Non-2xx", output, output)
            self.assertNotIn("Socket errors", output, output)
            self.assertTrue(node.alive())
            # The access log is written in batches: wait for a line per
            # request wrk counted and per check above, so every outcome is seen.
            served = lambda: [r for r in node.access_records() if r["worker"] == "busy"]
            self.assertTrue(wait_for(lambda: len(served()) >= requests + 20, 10), len(served()))
            outcomes = {r["outcome"] for r in served()}
            self.assertEqual(outcomes, {"ok"})
            status, info = node.admin_json("GET", "/workers/busy")
            self.assertEqual(info["version"], 21)
        finally:
            node.remove()
            project.remove()


if __name__ == "__main__":
    unittest.main()
