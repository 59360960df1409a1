"""End-to-end: the cloudflare:workers module. A worker whose default export
is a class extending WorkerEntrypoint is served under `edge dev` and,
deployed, under `edge serve` (an instance per request, with this.env and
this.ctx); `env` imported at the top level is the worker's env;
`waitUntil` imported from the module extends the current request; a
cloudflare: module edge does not have is refused at load, by name."""
import json
import time
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project

WORKER = r"""
import { WorkerEntrypoint, env, waitUntil } from "cloudflare:workers";

const atTopLevel = env.GREETING;
let instances = 0;
let later = "nothing yet";

export default class extends WorkerEntrypoint {
  constructor(ctx, env) {
    super(ctx, env);
    instances++;
  }
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/later") return new Response(later);
    waitUntil(new Promise((resolve) => setTimeout(() => { later = "waited"; resolve(); }, 50)));
    this.ctx.waitUntil(Promise.resolve());
    return Response.json({
      greeting: this.env.GREETING,
      atTopLevel,
      sameEnv: this.env === env,
      instances,
      ownFields: Object.keys(this).sort(),
      isEntrypoint: this instanceof WorkerEntrypoint,
    });
  }
}
"""

CONFIG = 'name = "entrypoint"\nmain = "index.js"\n[vars]\nGREETING = "hello"\n'


class CloudflareWorkersDevTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = Project({"index.js": WORKER}, config=CONFIG)
        cls.edge = EdgeProcess(cls.project.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def test_a_worker_entrypoint_class_is_instantiated_per_request(self):
        first = self.edge.request("GET", "/")
        self.assertEqual(first.status, 200, first.body)
        body = json.loads(first.body)
        self.assertEqual(body["greeting"], "hello")
        self.assertEqual(body["atTopLevel"], "hello")
        self.assertTrue(body["sameEnv"])
        self.assertTrue(body["isEntrypoint"])
        self.assertEqual(body["ownFields"], ["ctx", "env"])
        second = json.loads(self.edge.request("GET", "/").body)
        self.assertEqual(second["instances"], body["instances"] + 1)

    def test_imported_wait_until_extends_the_request(self):
        self.assertEqual(self.edge.request("GET", "/").status, 200)
        for _ in range(50):
            if self.edge.request("GET", "/later").body == b"waited":
                break
            time.sleep(0.02)
        self.assertEqual(self.edge.request("GET", "/later").body, b"waited")


class CloudflareModulesRefusedTest(unittest.TestCase):
    def test_a_cloudflare_module_edge_lacks_is_refused_by_name(self):
        for specifier, why in [("cloudflare:email", "edge does not provide cloudflare:email yet"),
                               ("cloudflare:nothing", "")]:
            project = Project({"index.js": f'import {{ connect }} from "{specifier}";\n'
                                           "export default { fetch() { return new Response(typeof connect); } };\n"})
            try:
                # edge dev does not start with a worker that cannot load.
                with self.assertRaises(RuntimeError) as refused:
                    EdgeProcess(project.dir).stop_and_remove()
                self.assertIn(f'index.js:1:25: No such module "{specifier}".', str(refused.exception))
                if why:
                    self.assertIn(why, str(refused.exception))
            finally:
                project.remove()


class CloudflareWorkersServeTest(unittest.TestCase):
    def test_a_deployed_entrypoint_class_serves(self):
        node = NodeProcess(threads=1)
        try:
            node.deploy_worker("entrypoint", WORKER, ["entry.test/*"], '[vars]\nGREETING = "hello"\n')
            response = node.request("entry.test", "/")
            self.assertEqual(response.status, 200, response.body)
            body = json.loads(response.body)
            self.assertEqual(body["greeting"], "hello")
            self.assertTrue(body["sameEnv"])
        finally:
            node.stop()


if __name__ == "__main__":
    unittest.main()
