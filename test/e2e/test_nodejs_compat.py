"""End-to-end: the nodejs_compat flag. An app bundled by esbuild with npm
packages built on Node's EventEmitter (node-cache), Buffer (safe-buffer),
crypto (jsonwebtoken) and stream.Transform (split2, piped after node:zlib's createGunzip) runs
unmodified under `edge dev` and, deployed, under `edge serve`
(fixtures/nodejs_compat_app/README.md says how the bundle was made); without
the flag the same bundle is refused with Workers' error."""
import base64
import gzip
import json
import os
import unittest

from edge_harness import EdgeProcess, NodeProcess, Project

# Made by Node 20 with jsonwebtoken 9.0.3 from the fixture's src/jwt.js and
# src/jwt_keys.js: the tokens the worker must make byte for byte (HS256 and
# RS256 with PKCS #1 v1.5 are deterministic), and one more for it to verify.
NODE_HS256 = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwicm9sZSI6ImFkbWluIiwibmVzdGVkIjp7Im4iOjF9fQ."
              "T64o8F2RuMpWTky8HIEtbygF85h4AsBRhzp8hZ_2MMs")
NODE_RS256 = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwicm9sZSI6ImFkbWluIiwibmVzdGVkIjp7Im4iOjF9fQ."
              "DaSCYoeJiFOrjJWJLcjqZQ4fo59XyvD9VqO6BtiVGqf3kFV7s6_5Ch6LYf3ibij8V7_l6KPbYxBzyLI9p_cks0KPpXG0FIp9ba3B-KB6OLhR"
              "s3eo3AEzrRlIJ0ViSv7exIQuX8Pn9-mJVt96uFpWWu7N8-2RMkaDIaazGpPlXyc8e2ET8ILU0NEHoasJg5mwKDXrO5S4WqimaNajmBCkc65A"
              "ImyzNyd7uOS4_j5IevYG6esMuc_DjxHTXy0IJoNGBGwodFxTMR-8cYtkw5BnaOKsSbvbQWfRY9cJczgnNQ1x4fAapfUP8LhE-3wZy23PdOzn"
              "eElUxZSbEVersQENDw")
NODE_TOKEN = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmcm9tLW5vZGUiLCJyb2xlIjoicmVhZGVyIn0."
              "HwVAojH2ZcgRbdYOKrho_9yXbw7_JEPFEPkHoxJIQhU_vl6UnJKcP73jPoM54ZAQ26Qdr0EqN2KMNYjq3GSLzuveaL61nnRb0DOu3NndFt7u"
              "H9cx5cdX1xKZx4SkadAHowwy41MWydtfgbG5XWUHsRI2-VS0uZh7Ukcv2t_miMuCiKgvHaPraxH0uBf_5VoEi1cIZ2Y32w_UX0t3lAR7WLrS"
              "0YVWsuYDCg23831CzH1aDN29Ty58ew_gEwyCiQV9soRVMAyYOs4BOSbw1vkfTOohb3lyMPh6YxU_xNNzZv9NM_cRjckDXZqX6vYTXW-SXibd"
              "LvoDDvDl11TtB3zKbg")

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

    def test_jsonwebtoken_signs_and_verifies_hs256_and_rs256_as_under_node(self):
        got = self.get("/jwt?token=" + NODE_TOKEN)
        self.assertEqual(got["hs256"], NODE_HS256)
        self.assertEqual(got["rs256"], NODE_RS256)
        admin = {"ok": True, "sub": "user-42", "role": "admin"}
        self.assertEqual(got["hs256Verified"], admin)
        self.assertEqual(got["rs256Verified"], admin)
        self.assertEqual(got["given"], {"ok": True, "sub": "from-node", "role": "reader"})
        bad_signature = {"ok": False, "error": "JsonWebTokenError", "message": "invalid signature"}
        self.assertEqual(got["wrongSecret"], bad_signature)
        self.assertEqual(got["tampered"], bad_signature)
        self.assertEqual(got["algorithmConfusion"],
                         {"ok": False, "error": "JsonWebTokenError", "message": "invalid algorithm"})

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
        # RS256 signing (and its first compile) is not what this test is
        # about: a CPU limit roomy enough for a slow (sanitizer) build.
        config = read_fixture("edge.toml").replace(
            'main = "index.js"\n', 'main = "index.js"\nroutes = ["node.test/*"]\n') + (
            "\n[limits]\ncpu_ms = 1000\n")
        project = app_project(config)
        self.node.projects.append(project)
        result = self.node.deploy(project.dir)
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        response = self.node.request("node.test", "/?key=k&value=abc")
        self.assertEqual(response.status, 200, response.body)
        body = json.loads(response.body)
        self.assertEqual(body["decoded"], "abc")
        self.assertIn("set k", body["events"])
        jwt = self.node.request("node.test", "/jwt")
        self.assertEqual(jwt.status, 200, jwt.body)
        tokens = json.loads(jwt.body)
        self.assertEqual([tokens["hs256"], tokens["rs256"]], [NODE_HS256, NODE_RS256])


if __name__ == "__main__":
    unittest.main()
