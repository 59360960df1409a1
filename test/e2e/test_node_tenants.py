"""Accounts on one node (issue 10 part 6): the operator creates accounts with
`edge account create`, each deploys with its own token, and an account
reaches nothing of another's: not its KV namespace or service named the same,
not its workers through the admin API, not its hostnames. A wrangler-style
`account_id` in a project is ignored."""
import json
import os
import time
import unittest

from edge_harness import NodeProcess, make_worker

KV_WORKER = """
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "PUT") {
      await env.STORE.put("secret", url.searchParams.get("v"));
      return new Response("stored");
    }
    if (url.pathname === "/call") {
      try {
        const answer = await env.OTHER.fetch("http://other/");
        return new Response("called: " + (await answer.text()));
      } catch (error) {
        return new Response("refused: " + error.message);
      }
    }
    return new Response((await env.STORE.get("secret")) ?? "empty");
  },
};
"""

KV_CONFIG = ('[[kv_namespaces]]\nbinding = "STORE"\nid = "shared-id"\n'
             '[[services]]\nbinding = "OTHER"\nservice = "{target}"\n')


def tenant(name, target, routes=None, account_id=""):
    project = make_worker(name, KV_WORKER, routes or [f"{name}.test/*"],
                          extra_config=KV_CONFIG.format(target=target))
    if account_id:
        with open(project.dir + "/edge.toml") as f:
            text = f.read()
        project.write("edge.toml", f'account_id = "{account_id}"\n' + text)
    return project


class TenantTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = NodeProcess.for_class(cls, threads=1)

    def as_account(self, token_file, *args):
        return self.node.cli(*args, "--token-file", token_file)

    def deploy(self, project, token_file):
        self.node.projects.append(project)
        return self.node.cli("deploy", project.dir, "--to", self.node.admin_url, "--token-file",
                             token_file)

    def admin_as(self, token_file, method, path, body=b""):
        with open(token_file) as f:
            return self.node.admin(method, path, body, token=f.read().strip())

    def test_accounts_own_their_workers_data_and_hostnames(self):
        node = self.node
        acme = node.create_account("acme", "alpha.test,beta.test")
        mallory = node.create_account("mallory", "mallory.test, *.mallory.test")
        self.assertEqual(os.stat(acme).st_mode & 0o777, 0o600)
        listed = node.cli("account", "list", "--to", node.admin_url, "--token-file",
                          node.token_file)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("acme\thosts: alpha.test, beta.test\ttoken: yes", listed.stdout)
        self.assertIn("mallory\thosts: mallory.test, *.mallory.test", listed.stdout)
        # One account per pattern: an overlapping one is refused.
        taken = node.cli("account", "create", "eve", "--hosts", "x.mallory.test", "--token-out",
                         os.path.join(node.dir, "eve"), "--to", node.admin_url, "--token-file",
                         node.token_file)
        self.assertNotEqual(taken.returncode, 0)
        self.assertIn("overlaps *.mallory.test, which account mallory owns", taken.stderr)

        for name, target in (("alpha", "beta"), ("beta", "alpha")):
            result = self.deploy(tenant(name, target), acme)
            self.assertEqual(result.returncode, 0, result.stderr)
        # mallory's project claims acme's account_id: ignored, with a warning.
        result = self.deploy(tenant("mallory", "alpha", account_id="acme"), mallory)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('account_id = "acme" is ignored', result.stderr)

        self.assertEqual(node.request("alpha.test", "/?v=acme-data", method="PUT").body,
                         b"stored")
        # One account shares its namespace and may call its own workers.
        self.assertEqual(node.request("beta.test").body, b"acme-data")
        self.assertEqual(node.request("beta.test", "/call").body, b"called: acme-data")
        # Another naming the same KV id and service gets neither.
        self.assertEqual(node.request("mallory.test").body, b"empty")
        refused = node.request("mallory.test", "/call").body.decode()
        self.assertTrue(refused.startswith("refused: "), refused)
        node.request("mallory.test", "/?v=mallory-data", method="PUT")
        self.assertEqual(node.request("alpha.test").body, b"acme-data")
        self.assertEqual(node.admin("GET", "/kv/acme/shared-id/secret").body, b"acme-data")
        self.assertEqual(node.admin("GET", "/kv/mallory/shared-id/secret").body, b"mallory-data")
        # beta's service call shows under alpha, the worker it reached
        # (issue 10 part 5): alpha served its PUT, beta's call and one GET;
        # mallory's refused call reached nothing.
        status, usage = node.admin_json("GET", "/usage")
        self.assertEqual(status, 200, usage)
        self.assertEqual(usage["workers"]["alpha"]["invocations"], 3, usage)
        metrics = node.admin("GET", "/metrics").body.decode()
        self.assertIn('edge_requests_total{worker="alpha",status_class="2xx",outcome="ok"} 3',
                      metrics)
        # The access log is written in batches: wait for the call's line.
        def calls():
            return [r for r in node.access_records()
                    if r["worker"] == "alpha" and r["remote"] == "service-binding"]
        deadline = time.time() + 10
        while not calls() and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(calls()), 1, calls())
        # An account's usage shows its own workers only.
        usage = json.loads(self.admin_as(mallory, "GET", "/usage").body)
        self.assertEqual(sorted(usage["workers"]), ["mallory"])

        # mallory's token: nothing of acme's through the admin API.
        for method, path in (("GET", "/workers/alpha"), ("GET", "/workers/alpha/versions"),
                             ("GET", "/workers/alpha/secrets"), ("DELETE", "/workers/alpha")):
            answer = self.admin_as(mallory, method, path)
            self.assertEqual(answer.status, 404, (method, path, answer.body))
        self.assertEqual(self.admin_as(mallory, "GET", "/kv/acme/shared-id/secret").status, 403)
        workers = json.loads(self.admin_as(mallory, "GET", "/workers").body)["workers"]
        self.assertEqual([w["name"] for w in workers], ["mallory"])
        secret = self.as_account(mallory, "secret", "list", "--name", "alpha", "--to",
                                 node.admin_url)
        self.assertNotEqual(secret.returncode, 0)
        self.assertIn("no worker named 'alpha'", secret.stderr)
        # ... nor its hostnames: the deploy is refused and nothing changes.
        hijack = self.deploy(tenant("mallory", "alpha", ["alpha.test/login"]), mallory)
        self.assertNotEqual(hijack.returncode, 0)
        self.assertIn("the host alpha.test is not one of account mallory's hosts", hijack.stderr)
        unowned = self.deploy(tenant("mallory", "alpha", ["elsewhere.test/*"]), mallory)
        self.assertIn("elsewhere.test", unowned.stderr)
        self.assertEqual(node.request("alpha.test", "/login").body, b"acme-data")
        self.assertEqual(node.admin_json("GET", "/workers/mallory")[1]["version"], 1)
        self.assertIn("deploy of 'mallory' refused", node.log())
        # Nor its worker names.
        name = self.deploy(tenant("alpha", "alpha", ["mallory.test/*"]), mallory)
        self.assertIn("belongs to another account", name.stderr)

        # Hosts change; a token rotates.
        hosts = node.cli("account", "hosts", "mallory", "--add", "m2.test", "--remove",
                         "*.mallory.test", "--to", node.admin_url, "--token-file",
                         node.token_file)
        self.assertEqual(hosts.returncode, 0, hosts.stderr)
        self.assertIn("Account mallory owns: mallory.test, m2.test", hosts.stdout)
        with open(mallory) as f:
            old = f.read()
        rotated = node.cli("account", "token", "mallory", "--rotate", "--token-out", mallory,
                           "--to", node.admin_url, "--token-file", node.token_file)
        self.assertEqual(rotated.returncode, 0, rotated.stderr)
        self.assertEqual(node.admin("GET", "/workers", token=old.strip()).status, 403)
        self.assertEqual(self.admin_as(mallory, "GET", "/workers").status, 200)

        # Deleting an account takes everything it owns with it.
        refused = node.cli("account", "delete", "mallory", "--to", node.admin_url,
                           "--token-file", node.token_file)
        self.assertIn("--yes", refused.stderr)
        deleted = node.cli("account", "delete", "mallory", "--yes", "--to", node.admin_url,
                           "--token-file", node.token_file)
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        self.assertEqual(node.request("mallory.test").status, 404)
        self.assertEqual(node.admin("GET", "/kv/mallory/shared-id/secret").status, 404)
        self.assertEqual(self.admin_as(mallory, "GET", "/workers").status, 403)
        self.assertEqual(node.request("alpha.test").body, b"acme-data")

        # All of it outlives a restart.
        node.restart()
        self.assertEqual(self.admin_as(acme, "GET", "/workers/alpha").status, 200)
        self.assertEqual(node.request("beta.test", "/call").body, b"called: acme-data")


if __name__ == "__main__":
    unittest.main()
