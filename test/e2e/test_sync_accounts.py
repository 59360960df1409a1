"""Accounts over edge-sync (issue 10 part 6): accounts made at the origin,
their hostnames and the owners of their workers reach a PoP, which then
knows their tokens for admin reads and keeps each account's workers, KV and
hostnames its own, as the origin does. A rotated token and a deleted account
stop working at the PoP too."""
import json
import os
import subprocess
import unittest

from edge_harness import BINARY
from sync_harness import (FleetKeys, OriginProcess, _call, fleet_project, kv_worker, start_pop,
                          wait_until)

WORKER = kv_worker("v=${env.VERSION}")


class SyncAccountsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = FleetKeys()
        cls.origin = OriginProcess(cls.keys)
        cls.pop = start_pop(cls.keys, cls.origin.url, "pop-a")
        cls.projects = []

    @classmethod
    def tearDownClass(cls):
        cls.pop.remove()
        cls.origin.remove()
        cls.keys.remove()
        for p in cls.projects:
            p.remove()

    def edge(self, *args):
        return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=120)

    def create(self, name, hosts):
        token_file = os.path.join(self.origin.dir, name + ".token")
        result = self.edge("account", "create", name, "--hosts", hosts, "--token-out", token_file,
                           "--to", self.origin.url, "--token-file", self.origin.token_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(token_file) as f:
            return token_file, f.read().strip()

    def deploy(self, name, host, token_file):
        project = fleet_project(name, host, 1, WORKER)
        self.projects.append(project)
        return self.edge("deploy", project.dir, "--to", self.origin.url, "--token-file",
                         token_file)

    def at_pop(self, method, path, token):
        return self.pop.admin(method, path, token=token)

    def test_accounts_made_at_the_origin_are_enforced_at_a_pop(self):
        shop_file, shop = self.create("shop", "shop.test")
        blog_file, blog = self.create("blog", "blog.test")
        for name, host, token_file in (("shop", "shop.test", shop_file),
                                       ("blog", "blog.test", blog_file)):
            result = self.deploy(name, host, token_file)
            self.assertEqual(result.returncode, 0, result.stderr)
        # A KV value written at the origin into shop's namespace, by shop.
        status, _ = self.origin_admin("PUT", "/kv/shop/data/k", b"shop-value", shop)
        self.assertEqual(status, 200)
        self.assertTrue(wait_until(lambda: self.pop.request("blog.test").body == b"v=1", 20),
                        self.pop.log()[-3000:])
        # The PoP scopes KV by the owner it received: shop's worker reads it,
        # blog's naming the same namespace id does not.
        self.assertTrue(wait_until(
            lambda: self.pop.request("shop.test", "/kv?key=k").body == b"shop-value", 20))
        self.assertEqual(self.pop.request("blog.test", "/kv?key=k").body, b"missing")

        # shop's token works at the PoP, for shop's own things only.
        self.assertTrue(wait_until(lambda: self.at_pop("GET", "/workers", shop).status == 200, 20))
        workers = json.loads(self.at_pop("GET", "/workers", shop).body)["workers"]
        self.assertEqual([(w["name"], w["account"]) for w in workers], [("shop", "shop")])
        self.assertEqual(self.at_pop("GET", "/workers/blog", shop).status, 404)
        self.assertEqual(self.at_pop("GET", "/kv/blog/data/k", shop).status, 403)
        self.assertEqual(self.at_pop("GET", "/kv/shop/data/k", shop).body, b"shop-value")
        self.assertEqual(self.at_pop("GET", "/metrics", shop).status, 403)
        self.assertEqual(self.at_pop("GET", "/workers", "not-a-token").status, 403)
        # Changes go to the origin, whoever asks.
        self.assertEqual(self.at_pop("DELETE", "/workers/shop", shop).status, 409)
        accounts = json.loads(self.pop.admin("GET", "/accounts").body)["accounts"]
        self.assertEqual(sorted(a["name"] for a in accounts), ["blog", "default", "shop"])

        # The origin refuses a route outside shop's hosts; the PoP never sees one.
        hijack = self.deploy("shop", "blog.test", shop_file)
        self.assertNotEqual(hijack.returncode, 0)
        self.assertIn("the host blog.test is not one of account shop's hosts", hijack.stderr)

        # A rotated token and a deleted account stop working at the PoP too.
        result = self.edge("account", "token", "shop", "--rotate", "--token-out", shop_file,
                           "--to", self.origin.url, "--token-file", self.origin.token_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(shop_file) as f:
            rotated = f.read().strip()
        self.assertTrue(wait_until(lambda: self.at_pop("GET", "/workers", shop).status == 403, 20))
        self.assertEqual(self.at_pop("GET", "/workers", rotated).status, 200)
        result = self.edge("account", "delete", "blog", "--yes", "--to", self.origin.url,
                           "--token-file", self.origin.token_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(wait_until(lambda: self.pop.request("blog.test").status == 404, 20))
        self.assertTrue(wait_until(lambda: self.at_pop("GET", "/workers", blog).status == 403, 20))
        self.assertEqual(self.pop.request("shop.test", "/kv?key=k").body, b"shop-value")

        # A restarted PoP keeps it all.
        self.pop.restart()
        self.assertEqual(self.at_pop("GET", "/workers/shop", rotated).status, 200)
        self.assertEqual(self.at_pop("GET", "/workers", blog).status, 403)

    def origin_admin(self, method, path, body, token):
        return _call(self.origin.port, method, path, body, token)


if __name__ == "__main__":
    unittest.main()
