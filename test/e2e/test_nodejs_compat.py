"""End-to-end: the nodejs_compat flag. An app bundled by esbuild with npm
packages built on Node's EventEmitter (node-cache), Buffer (safe-buffer) and
stream.Transform (split2, piped after node:zlib's createGunzip) runs unmodified under `edge dev` and, deployed, under `edge serve`
(fixtures/nodejs_compat_app/README.md says how the bundle was made); without
the flag the same bundle is refused with Workers' error."""
import base64
import gzip
import json
import os
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nodejs_compat_app")


def read_fixture(name):
    with open(os.path.join(FIXTURE, name)) as f:
        return f.read()


def app_project(config=None):
    """The fixture's bundle and edge.toml in a scratch folder."""
    return Project({"index.js": read_fixture("index.js")},
                   config=config if config is not None else read_fixture("edge.toml"))


class NodejsCompatDevTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = app_project()
        cls.edge = EdgeProcess(cls.project.dir)

    @classmethod
    def tearDownClass(cls):
        cls.edge.stop_and_remove(cls.project)

    def tearDown(self):
        self.assertTrue(self.edge.alive(), "edge dev died:\n" + self.edge.log())

    def get(self, path):
        response = self.edge.request("GET", path)
        self.assertEqual(response.status, 200, response.body)
        return json.loads(response.body)

    def test_event_emitter_and_buffer_packages_run_unmodified(self):
        first = self.get("/?key=a&value=h%C3%A9llo")
        self.assertEqual(first["base64"], "aMOpbGxv")
        self.assertEqual(first["decoded"], "héllo")
        self.assertEqual(first["hex"], "68c3a96c6c6f")
        self.assertTrue(first["isBuffer"])
        self.assertIn("set a", first["events"])
        self.assertIn("a", first["keys"])
        gone = self.get("/del?key=a")
        self.assertIsNone(gone["base64"])
        self.assertIn("del a", gone["events"])

    def test_a_stream_transform_package_splits_a_gzip_body(self):
        lines = "".join(json.dumps({"n": i, "text": "é" * i}) + "\n" for i in range(200))
        for body, headers in ((gzip.compress(lines.encode()), {"Content-Encoding": "gzip"}),
                              (lines.encode(), {})):
            response = self.edge.request("POST", "/lines", body, headers)
            self.assertEqual(response.status, 200, response.body)
            result = json.loads(response.body)
            self.assertEqual(len(result["records"]), 200)
            self.assertEqual(result["records"][199], {"n": 199, "text": "é" * 199})
            self.assertEqual(gzip.decompress(base64.b64decode(result["countGzip"])), b"200")


class NodejsCompatFlagTest(unittest.TestCase):
    def test_without_the_flag_the_bundle_is_refused_with_workers_error(self):
        project = app_project('name = "no-flag"\nmain = "index.js"\ncompatibility_date = "2024-09-23"\n')
        try:
            with self.assertRaises(RuntimeError) as refused:
                EdgeProcess(project.dir, timeout=10)
            self.assertIn('No such module "node:events".', str(refused.exception))
        finally:
            project.remove()


class NodejsCompatServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess()

    @classmethod
    def tearDownClass(cls):
        alive = cls.node.alive()
        cls.node.remove()
        assert alive, "the node exited during the tests"

    def test_the_flag_travels_with_the_deployed_bundle(self):
        config = read_fixture("edge.toml").replace(
            'main = "index.js"\n', 'main = "index.js"\nroutes = ["node.test/*"]\n')
        project = app_project(config)
        self.node.projects.append(project)
        result = self.node.deploy(project.dir)
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        response = self.node.request("node.test", "/?key=k&value=abc")
        self.assertEqual(response.status, 200, response.body)
        body = json.loads(response.body)
        self.assertEqual(body["decoded"], "abc")
        self.assertIn("set k", body["events"])


if __name__ == "__main__":
    unittest.main()
