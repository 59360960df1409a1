"""Tenants on one node do not reach each other's data: a KV namespace id
and a service name belong to an account (edge.toml `account_id`, else the
worker alone), so another tenant naming the same id gets a namespace of its
own and cannot call the first one's workers."""
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


def tenant(name, account, target):
    project = make_worker(name, KV_WORKER, [f"{name}.test/*"],
                          extra_config=KV_CONFIG.format(target=target))
    if account:
        with open(project.dir + "/edge.toml") as f:
            text = f.read()
        project.write("edge.toml", f'account_id = "{account}"\n' + text)
    return project


class TenantTest(unittest.TestCase):
    def test_kv_ids_and_services_stay_inside_an_account(self):
        node = NodeProcess(threads=1)
        node.projects += [tenant("alpha", "acme", "beta"), tenant("beta", "acme", "alpha"),
                          tenant("mallory", "", "alpha")]
        try:
            for project in node.projects:
                result = node.deploy(project.dir)
                self.assertEqual(result.returncode, 0, result.stderr)
            put = node.request("alpha.test", "/?v=acme-data", method="PUT")
            self.assertEqual(put.body, b"stored")
            # The same account shares the namespace and may call its workers.
            self.assertEqual(node.request("beta.test").body, b"acme-data")
            self.assertEqual(node.request("beta.test", "/call").body, b"called: acme-data")
            # Another tenant naming the same id and service gets neither.
            self.assertEqual(node.request("mallory.test").body, b"empty")
            refused = node.request("mallory.test", "/call").body.decode()
            self.assertTrue(refused.startswith("refused: "), refused)
            node.request("mallory.test", "/?v=mallory-data", method="PUT")
            self.assertEqual(node.request("alpha.test").body, b"acme-data")
            # The admin API addresses a namespace by account and id.
            self.assertEqual(node.admin("GET", "/kv/acme/shared-id/secret").body, b"acme-data")
            self.assertEqual(node.admin("GET", "/kv/mallory/shared-id/secret").body,
                             b"mallory-data")
            # beta's service call shows under alpha, the worker it reached
            # (issue 10 part 5): alpha served its PUT, beta's call and one GET;
            # mallory's refused call reached nothing.
            status, usage = node.admin_json("GET", "/usage")
            self.assertEqual(status, 200, usage)
            self.assertEqual(usage["workers"]["alpha"]["invocations"], 3, usage)
            metrics = node.admin("GET", "/metrics").body.decode()
            self.assertIn('edge_requests_total{worker="alpha",status_class="2xx",outcome="ok"} 3',
                          metrics)
            calls = [r for r in node.access_records()
                     if r["worker"] == "alpha" and r["remote"] == "service-binding"]
            self.assertEqual(len(calls), 1, calls)
        finally:
            node.remove()


if __name__ == "__main__":
    unittest.main()
