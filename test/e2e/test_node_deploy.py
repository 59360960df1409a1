"""edge serve + edge deploy: routing by Host and path, versions, rollback,
secrets, refusals, auth, a restart, and usage that matches the traffic."""
import json
import os
import time
import unittest

from edge_harness import NodeProcess, Project, make_worker

HELLO = """
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return new Response(`${env.WHO} ${env.VERSION ?? ""} ${url.pathname}`);
  },
};
"""


def version_worker(name, version, routes):
    return make_worker(name, HELLO, routes,
                       extra_config=f'[vars]\nWHO = "{name}"\nVERSION = "v{version}"\n')


class NodeDeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess()

    @classmethod
    def tearDownClass(cls):
        alive = cls.node.alive()
        cls.node.remove()
        assert alive, "the node exited during the tests"

    def deploy(self, project, *extra):
        self.node.projects.append(project)
        result = self.node.deploy(project.dir, *extra)
        return result

    def deploy_ok(self, project, *extra):
        result = self.deploy(project, *extra)
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        return result

    def get(self, host, path="/"):
        return self.node.request(host, path)

    def test_routes_by_host_and_path_most_specific_wins(self):
        self.deploy_ok(version_worker("site", 1, ["site.test/*"]))
        self.deploy_ok(version_worker("api", 1, ["site.test/api/*", "*.site.test/api/*"]))
        self.deploy_ok(version_worker("wild", 1, ["*site.test/*"]))
        self.assertEqual(self.get("site.test", "/index").body, b"site v1 /index")
        self.assertEqual(self.get("site.test", "/api/users").body, b"api v1 /api/users")
        self.assertEqual(self.get("SITE.test:8080", "/api/x?q=1").body, b"api v1 /api/x")
        self.assertEqual(self.get("eu.site.test", "/api/x").body, b"api v1 /api/x")
        self.assertEqual(self.get("eu.site.test", "/other").body, b"wild v1 /other")
        missing = self.get("nowhere.test", "/")
        self.assertEqual(missing.status, 404)
        self.assertIn(b"No worker is routed", missing.body)
        # A pattern another worker holds is refused, naming both.
        clash = self.deploy(version_worker("thief", 1, ["site.test/*"]))
        self.assertNotEqual(clash.returncode, 0)
        self.assertIn("site", clash.stderr)
        self.assertEqual(self.get("site.test", "/").body, b"site v1 /")

    def test_versions_rollback_and_delete(self):
        for version in (1, 2, 3):
            self.deploy_ok(version_worker("shop", version, ["shop.test/*"]))
            self.assertEqual(self.get("shop.test").body, f"shop v{version} /".encode())
        status, info = self.node.admin_json("GET", "/workers/shop")
        self.assertEqual(status, 200)
        self.assertEqual(info["version"], 3)
        self.assertEqual([v["id"] for v in info["versions"]], [1, 2, 3])
        status, body = self.node.admin_json("POST", "/workers/shop/rollback", '{"version": 1}')
        self.assertEqual(status, 200, body)
        self.assertEqual(self.get("shop.test").body, b"shop v1 /")
        status, body = self.node.admin_json("POST", "/workers/shop/rollback", '{"version": 9}')
        self.assertEqual(status, 404, body)
        # Routes set alone.
        status, body = self.node.admin_json("PUT", "/workers/shop/routes",
                                            '{"routes": ["store.test/*"]}')
        self.assertEqual(status, 200, body)
        self.assertEqual(self.get("store.test").body, b"shop v1 /")
        self.assertEqual(self.get("shop.test").status, 404)
        status, body = self.node.admin_json("DELETE", "/workers/shop")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.get("store.test").status, 404)
        status, body = self.node.admin_json("GET", "/workers/shop")
        self.assertEqual(status, 404)

    def test_bad_uploads_are_refused_and_change_nothing(self):
        self.deploy_ok(version_worker("calc", 1, ["calc.test/*"]))
        broken = make_worker("calc", "export default { fetch() { return new Response('x') ",
                             ["calc.test/*"])
        result = self.deploy(broken)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("index.js", result.stderr + result.stdout)
        self.assertEqual(self.get("calc.test").body, b"calc v1 /")

        # The node validates too (a client that skips local checks).
        bundle = {"name": "calc", "main": "index.js",
                  "modules": [{"name": "index.js", "content": "ZXhwb3J0IGRlZmF1bHQgezs="}]}
        response = self.node.admin("PUT", "/workers/calc", json.dumps(bundle))
        self.assertEqual(response.status, 400)
        self.assertIn(b"index.js", response.body)
        no_handler = {"name": "calc", "main": "index.js",
                      "modules": [{"name": "index.js", "content": "ZXhwb3J0IGNvbnN0IHggPSAxOw=="}]}
        response = self.node.admin("PUT", "/workers/calc", json.dumps(no_handler))
        self.assertEqual(response.status, 400)
        self.assertIn(b"fetch handler", response.body)
        response = self.node.admin("PUT", "/workers/calc", b"{not json")
        self.assertEqual(response.status, 400)
        # Over 10 MiB of modules.
        big = make_worker("calc", HELLO, ["calc.test/*"],
                          files={"blob.js": "export const x = '" + "a" * (11 << 20) + "';"})
        big.write("index.js", "import { x } from './blob.js';\n" + HELLO)
        result = self.deploy(big)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("10", result.stderr)
        self.assertEqual(self.get("calc.test").body, b"calc v1 /")
        status, info = self.node.admin_json("GET", "/workers/calc")
        self.assertEqual([v["id"] for v in info["versions"]], [1])

    def test_secrets_are_write_only(self):
        project = make_worker("vault", """
            export default { fetch(request, env) { return new Response(env.API_KEY ?? "none"); } };
        """, ["vault.test/*"])
        self.deploy_ok(project)
        self.assertEqual(self.get("vault.test").body, b"none")
        result = self.node.cli("secret", "put", "API_KEY", "--to", self.node.admin_url,
                               "--token-file", self.node.token_file, "--name", "vault",
                               input="s3cr3t-value\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("s3cr3t-value", result.stdout + result.stderr)
        self.assertEqual(self.get("vault.test").body, b"s3cr3t-value")
        for path in ("/workers/vault", "/workers/vault/secrets", "/workers"):
            response = self.node.admin("GET", path)
            self.assertNotIn(b"s3cr3t-value", response.body)
        self.assertNotIn("s3cr3t-value", self.node.log())
        status, body = self.node.admin_json("GET", "/workers/vault/secrets")
        self.assertEqual(body, {"secrets": ["API_KEY"]})
        # A redeploy keeps the secret.
        self.deploy_ok(project)
        self.assertEqual(self.get("vault.test").body, b"s3cr3t-value")
        status, body = self.node.admin_json("DELETE", "/workers/vault/secrets/API_KEY")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.get("vault.test").body, b"none")

    def test_every_admin_call_needs_the_token(self):
        for method, path in [("GET", "/workers"), ("GET", "/metrics"), ("GET", "/usage"),
                             ("GET", "/routes"), ("PUT", "/workers/x"), ("DELETE", "/workers/x"),
                             ("PUT", "/workers/x/secrets/A"), ("GET", "/workers/x/tail"),
                             ("GET", "/status")]:
            missing = self.node.admin(method, path, token="")
            self.assertEqual(missing.status, 401, (method, path))
            self.assertEqual(missing.header("www-authenticate"), "Bearer")
            wrong = self.node.admin(method, path, token=NodeProcess.TOKEN + "x")
            self.assertEqual(wrong.status, 403, (method, path))
        bad = self.node.cli("deploy", ".", "--to", self.node.admin_url, "--token-file", os.devnull)
        self.assertNotEqual(bad.returncode, 0)


class NodeRestartAndUsageTest(unittest.TestCase):
    def test_restart_keeps_deployments_and_usage_matches_traffic(self):
        node = NodeProcess()
        node.projects += [version_worker(name, 1, [f"{name}.test/*"]) for name in ("one", "two")]
        try:
            for project in node.projects:
                result = node.deploy(project.dir)
                self.assertEqual(result.returncode, 0, result.stderr)
            sent = {"one": 7, "two": 3}
            for name, count in sent.items():
                for i in range(count):
                    response = node.request(f"{name}.test", f"/{i}", method="POST", body=b"x" * 10)
                    self.assertEqual(response.status, 200)
            node.request("none.test")
            status, usage = node.admin_json("GET", "/usage")
            self.assertEqual(status, 200)
            for name, count in sent.items():
                worker = usage["workers"][name]
                self.assertEqual(worker["invocations"], count)
                self.assertEqual(worker["errors"], 0)
                self.assertEqual(worker["bytes_in"], 10 * count)
                self.assertGreater(worker["cpu_ms"], 0)
                self.assertGreater(worker["gb_seconds"], 0)
            metrics = node.admin("GET", "/metrics").body.decode()
            self.assertIn('edge_requests_total{worker="one",status_class="2xx",outcome="ok"} 7',
                          metrics)
            self.assertIn('outcome="noRoute"} 1', metrics)
            # Access-log lines are written in batches and read from the
            # node's stdout as they come: wait for them.
            deadline = time.time() + 10
            while time.time() < deadline and len(
                    [r for r in node.access_records() if r["worker"] == "one"]) < 7:
                time.sleep(0.05)
            access = node.access_records()
            self.assertEqual(len([r for r in access if r["worker"] == "one"]), 7)

            node.restart()
            self.assertEqual(node.request("one.test", "/again").body, b"one v1 /again")
            self.assertEqual(node.request("two.test").body, b"two v1 /")
            status, workers = node.admin_json("GET", "/workers")
            self.assertEqual(sorted(w["name"] for w in workers["workers"]), ["one", "two"])
        finally:
            node.remove()


if __name__ == "__main__":
    unittest.main()
