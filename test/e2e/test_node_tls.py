"""End-to-end: `edge serve` with an HTTPS listener and two certificates.

node.toml has `https = "127.0.0.1:0"` and two [[tls]] blocks: one for a.test,
one for *.b.test. Workers are routed to a.test and x.b.test. A client that
names a host (SNI) must get that host's certificate, verify it against that
certificate alone, and reach that host's worker, which sees an https:// URL.
TLS below 1.2 is refused; plain HTTP sent to the TLS port is dropped without
harm to the node.
"""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest
import warnings

from edge_harness import NodeProcess, read_response, received_chunks

WORKER = r"""
export default {
  fetch(request) {
    return new Response(`${NAME} saw ${request.url}`);
  },
};
"""


def make_certificate(folder, name, host):
    """A self-signed certificate (and key) for `host`, with the openssl CLI."""
    cert = os.path.join(folder, f"{name}.crt")
    key = os.path.join(folder, f"{name}.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
         "-keyout", key, "-out", cert, "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=DNS:{host}",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,digitalSignature,keyCertSign"],
        check=True, capture_output=True, timeout=60)
    return cert, key


def der_of(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


@unittest.skipUnless(shutil.which("openssl"), "the openssl CLI is missing (scripts/bootstrap)")
class NodeTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="edge-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.cert_a, key_a = make_certificate(cls.dir, "a", "a.test")
        cls.cert_b, key_b = make_certificate(cls.dir, "b", "*.b.test")
        config = os.path.join(cls.dir, "node.toml")
        with open(config, "w") as f:
            # Relative paths are taken from node.toml's folder.
            f.write('https = "127.0.0.1:0"\n'
                    'pop_id = "tls-e2e"\n'
                    "\n[[tls]]\n"
                    'hosts = ["a.test"]\n'
                    'cert = "a.crt"\n'
                    'key = "a.key"\n'
                    "\n[[tls]]\n"
                    'hosts = ["*.b.test"]\n'
                    f'cert = "{cls.cert_b}"\n'
                    f'key = "{key_b}"\n')
        cls.node = NodeProcess.for_class(cls, "--config", config, threads=2)
        for name, route in (("site-a", "a.test/*"), ("site-b", "x.b.test/*")):
            cls.node.deploy_worker(name, WORKER.replace("${NAME}", name), [route])

    def client_context(self, cafile):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=cafile)
        return context

    def https_get(self, context, server_name, host_header=None, path="/"):
        """GET over TLS; returns (Response, peer certificate DER, TLS version)."""
        raw = socket.create_connection(("127.0.0.1", self.node.https_port), timeout=30)
        with context.wrap_socket(raw, server_hostname=server_name) as sock:
            request = (f"GET {path} HTTP/1.1\r\nHost: {host_header or server_name}\r\n"
                       "Connection: close\r\n\r\n")
            sock.sendall(request.encode())
            response = read_response(sock)
            return response, sock.getpeercert(binary_form=True), sock.version()

    def assertAlive(self):
        self.assertTrue(self.node.alive(), "edge serve exited:\n" + self.node.log())

    def test_ready_line_names_both_ports(self):
        self.assertIsNotNone(self.node.https_port)
        self.assertIsNotNone(self.node.http_port)
        self.assertNotEqual(self.node.https_port, self.node.http_port)

    def test_each_host_gets_its_certificate_and_its_worker(self):
        response, der, version = self.https_get(self.client_context(self.cert_a), "a.test",
                                                path="/hello?x=1")
        self.assertEqual(der, der_of(self.cert_a))
        self.assertIn(version, ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body.decode(), "site-a saw https://a.test/hello?x=1")

        response, der, _ = self.https_get(self.client_context(self.cert_b), "x.b.test")
        self.assertEqual(der, der_of(self.cert_b))
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body.decode(), "site-b saw https://x.b.test/")

    def test_a_host_is_not_verified_with_the_other_certificate(self):
        # b's certificate is not sent for a.test: trusting only it, a.test fails.
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.https_get(self.client_context(self.cert_b), "a.test")
        # The wildcard covers one label: y.x.b.test gets the first (default)
        # certificate, which names a.test only.
        context = self.client_context(self.cert_a)
        context.check_hostname = False
        response, der, _ = self.https_get(context, "y.x.b.test")
        self.assertEqual(der, der_of(self.cert_a))
        self.assertEqual(response.status, 404, response.body)
        self.assertAlive()

    def test_plain_http_sees_http_urls(self):
        response = self.node.request("a.test", "/plain")
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body.decode(), "site-a saw http://a.test/plain")

    def test_tls_1_1_is_refused(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        # Let this client offer TLS 1.1 at all (OpenSSL 3's default security
        # level forbids it), so the refusal seen is the node's.
        # (A client offering TLS 1.1 this way does complete a handshake with
        # a server that accepts it.)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1_1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        raw = socket.create_connection(("127.0.0.1", self.node.https_port), timeout=30)
        with self.assertRaises(ssl.SSLError) as caught:
            with context.wrap_socket(raw, server_hostname="a.test"):
                pass
        raw.close()
        # The server's protocol_version alert, not a client-side refusal.
        self.assertIn("PROTOCOL_VERSION", str(caught.exception).upper(), caught.exception)
        response, _, _ = self.https_get(self.client_context(self.cert_a), "a.test")
        self.assertEqual(response.status, 200)
        self.assertAlive()

    def test_plain_http_to_the_tls_port_does_no_harm(self):
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.node.https_port), timeout=30) as sock:
                try:
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
                    data = b"".join(received_chunks(sock))
                except (ConnectionResetError, BrokenPipeError):
                    data = b""
                # Whatever came back (a TLS alert or nothing), it is no HTTP answer.
                self.assertFalse(data.startswith(b"HTTP/"), data[:100])
        self.assertAlive()
        response, _, _ = self.https_get(self.client_context(self.cert_a), "a.test")
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.body.decode(), "site-a saw https://a.test/")


if __name__ == "__main__":
    unittest.main()
