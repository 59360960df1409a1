"""Keys, JWKs and signed tokens for the jwt policy's end-to-end tests, made
with Python's `cryptography`, and a small JWKS server whose keys a test can
change, count the fetches of, or take down."""
import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://issuer.test"
AUDIENCE = "api"


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(number, length=None):
    length = length or (number.bit_length() + 7) // 8
    return number.to_bytes(length, "big")


class Key:
    """A signing key: "RS256" (RSA 2048), "ES256" (P-256), "EdDSA" (Ed25519)
    or "HS256" (a 32-byte secret)."""

    def __init__(self, alg, kid=None):
        self.alg = alg
        self.kid = kid
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
        elif alg == "HS256":
            self.secret = hashlib.sha256(f"secret-{time.time()}-{id(self)}".encode()).hexdigest().encode()
        else:
            raise ValueError(alg)

    def public_pem(self):
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def jwk(self):
        if self.alg == "RS256":
            numbers = self.private.public_key().public_numbers()
            out = {"kty": "RSA", "n": b64url(_uint(numbers.n)), "e": b64url(_uint(numbers.e))}
        elif self.alg == "ES256":
            numbers = self.private.public_key().public_numbers()
            out = {"kty": "EC", "crv": "P-256", "x": b64url(_uint(numbers.x, 32)), "y": b64url(_uint(numbers.y, 32))}
        elif self.alg == "EdDSA":
            raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            out = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        else:
            out = {"kty": "oct", "k": b64url(self.secret)}
        if self.kid:
            out["kid"] = self.kid
        return out

    def sign(self, data):
        if self.alg == "RS256":
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if self.alg == "ES256":
            r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
            return _uint(r, 32) + _uint(s, 32)
        if self.alg == "EdDSA":
            return self.private.sign(data)
        return hmac.new(self.secret, data, hashlib.sha256).digest()

    def token(self, claims=None, header=None, **extra):
        """A compact JWS of `claims` (default: valid for this issuer and
        audience for five minutes, subject "alice"), `extra` claims added."""
        body = claims if claims is not None else default_claims()
        body = {**body, **extra}
        head = header if header is not None else {"alg": self.alg, "typ": "JWT", **({"kid": self.kid} if self.kid else {})}
        signing_input = b64url(json.dumps(head, separators=(",", ":"))) + "." + b64url(
            json.dumps(body, separators=(",", ":"), ensure_ascii=False))
        return signing_input + "." + b64url(self.sign(signing_input.encode()))


def default_claims(**extra):
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300, **extra}


def hs256_token(secret, claims, header=None):
    """An HS256 token with `secret` (bytes) as the key, whatever it is."""
    head = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = b64url(json.dumps(head)) + "." + b64url(json.dumps(claims))
    return signing_input + "." + b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def toml_string(text):
    return json.dumps(text)  # a JSON string is a TOML basic string


class JwksServer:
    """Serves {"keys": [...]} at /jwks on 127.0.0.1; `keys` may be changed
    at any time, `fetches` counts the requests, `stop()` takes it down."""

    def __init__(self, keys):
        self.keys = list(keys)
        self.fetches = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with server.lock:
                    server.fetches += 1
                    body = json.dumps({"keys": [key.jwk() for key in server.keys]}).encode()
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/jwk-set+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return self.fetches

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
