// crypto.subtle ECDSA and ECDH (RFC 6979 and RFC 5903 vectors), Ed25519
// (RFC 8032), X25519 (RFC 7748), Ed448 and X448: keys in every format, round
// trips, errors.

import { assert, assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

function b64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
const concat = (...parts) => fromHex(parts.join(""));

// RFC 6979 A.2.5 (P-256) and A.2.6 (P-384): keys and the SHA-256 / SHA-384
// signatures of "sample" (r || s).
const RFC6979 = {
  "P-256": {
    hash: "SHA-256",
    d: "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
    x: "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6",
    y: "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299",
    signature:
      "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716" +
      "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
  },
  "P-384": {
    hash: "SHA-384",
    d: "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5",
    x: "ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13",
    y: "8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1288b231c3ae0d4fe7344fd2533264720",
    signature:
      "94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe46" +
      "99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8",
  },
};

// RFC 5903 section 8.1 (256-bit random ECP group).
const RFC5903 = {
  i: "c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433",
  gix: "dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180",
  giy: "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3",
  r: "c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53",
  grx: "d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63",
  gry: "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab",
  girx: "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de",
};

// RFC 8032 section 7.1, tests 1 and 2.
const RFC8032 = [
  {
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
];

// RFC 7748 section 6.1.
const RFC7748 = {
  alicePrivate: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  alicePublic: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  bobPrivate: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
  bobPublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
};

const P256_SPKI_PREFIX = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
const ED25519_SPKI_PREFIX = "302a300506032b6570032100";
const ED25519_PKCS8_PREFIX = "302e020100300506032b657004220420";
const X25519_PKCS8_PREFIX = "302e020100300506032b656e04220420";

function ecJwk(curve, v, withPrivate) {
  const jwk = { kty: "EC", crv: curve, x: b64url(fromHex(v.x)), y: b64url(fromHex(v.y)) };
  if (withPrivate) jwk.d = b64url(fromHex(v.d));
  return jwk;
}

export default {
  async "ECDSA: RFC 6979 signatures verify; sign and verify round trip"() {
    for (const [curve, v] of Object.entries(RFC6979)) {
      const algorithm = { name: "ECDSA", namedCurve: curve };
      const publicKey = await crypto.subtle.importKey("raw", concat("04", v.x, v.y), algorithm, true, ["verify"]);
      assertStrictEquals(publicKey.type, "public");
      assertStrictEquals(publicKey.algorithm.namedCurve, curve);
      const params = { name: "ECDSA", hash: v.hash };
      assert(await crypto.subtle.verify(params, publicKey, fromHex(v.signature), utf8("sample")), `${curve} RFC 6979`);
      assert(!(await crypto.subtle.verify(params, publicKey, fromHex(v.signature), utf8("samplE"))), "other text");
      assert(!(await crypto.subtle.verify(params, publicKey, fromHex(v.signature).slice(1), utf8("sample"))), "short");
      const privateKey = await crypto.subtle.importKey("jwk", ecJwk(curve, v, true), algorithm, true, ["sign"]);
      assertStrictEquals(privateKey.type, "private");
      const signature = await crypto.subtle.sign(params, privateKey, utf8("hello"));
      assertStrictEquals(signature.byteLength, curve === "P-256" ? 64 : 96, "r || s");
      assert(await crypto.subtle.verify(params, publicKey, signature, utf8("hello")), `${curve} round trip`);
      // The other hash does not verify.
      assert(!(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-512" }, publicKey, signature, utf8("hello"))));
    }
  },

  async "ECDSA keys: generate; export and import raw, spki, pkcs8, jwk"() {
    for (const curve of ["P-256", "P-384"]) {
      const algorithm = { name: "ECDSA", namedCurve: curve };
      const { publicKey, privateKey } = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
      assertStrictEquals(publicKey.usages.join(), "verify");
      assertStrictEquals(privateKey.usages.join(), "sign");
      assertStrictEquals(publicKey.extractable, true);
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
      assertStrictEquals(raw.length, curve === "P-256" ? 65 : 97);
      assertStrictEquals(raw[0], 4);
      const spki = await crypto.subtle.exportKey("spki", publicKey);
      if (curve === "P-256") assertStrictEquals(hex(spki), P256_SPKI_PREFIX + hex(raw));
      const pkcs8 = await crypto.subtle.exportKey("pkcs8", privateKey);
      const jwk = await crypto.subtle.exportKey("jwk", privateKey);
      assertStrictEquals(jwk.kty, "EC");
      assertStrictEquals(jwk.crv, curve);
      assertStrictEquals(jwk.key_ops.join(), "sign");
      assertStrictEquals(b64url(raw.slice(1, 1 + (raw.length - 1) / 2)), jwk.x);
      const fromPkcs8 = await crypto.subtle.importKey("pkcs8", pkcs8, algorithm, true, ["sign"]);
      const fromJwk = await crypto.subtle.importKey("jwk", jwk, algorithm, true, ["sign"]);
      assertStrictEquals(hex(await crypto.subtle.exportKey("pkcs8", fromJwk)), hex(pkcs8), "jwk -> pkcs8");
      assertStrictEquals((await crypto.subtle.exportKey("jwk", fromPkcs8)).d, jwk.d, "pkcs8 -> jwk");
      const fromSpki = await crypto.subtle.importKey("spki", spki, algorithm, true, ["verify"]);
      const publicJwk = await crypto.subtle.exportKey("jwk", fromSpki);
      assertStrictEquals(publicJwk.d, undefined);
      assertStrictEquals(publicJwk.y, jwk.y);
      const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, fromPkcs8, utf8("m"));
      assert(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, fromSpki, signature, utf8("m")));
    }
    // The RFC 6979 key's public half matches the spec's SPKI form.
    const v = RFC6979["P-256"];
    const key = await crypto.subtle.importKey("jwk", ecJwk("P-256", v, false), { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("spki", key)), P256_SPKI_PREFIX + "04" + v.x + v.y);
  },

  async "ECDSA errors"() {
    const algorithm = { name: "ECDSA", namedCurve: "P-256" };
    const v = RFC6979["P-256"];
    const { publicKey, privateKey } = await crypto.subtle.generateKey(algorithm, false, ["sign", "verify"]);
    await assertRejects(crypto.subtle.exportKey("pkcs8", privateKey), "InvalidAccessError", "not extractable");
    await assertRejects(crypto.subtle.exportKey("pkcs8", publicKey), "InvalidAccessError", "pkcs8 of a public key");
    await assertRejects(crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, publicKey, utf8("x")), "InvalidAccessError");
    await assertRejects(crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-192" }, true, ["sign"]), "NotSupportedError");
    await assertRejects(crypto.subtle.generateKey(algorithm, true, ["verify"]), "SyntaxError", "no private usage");
    await assertRejects(crypto.subtle.generateKey(algorithm, true, ["encrypt"]), "SyntaxError", "bad usage");
    await assertRejects(crypto.subtle.importKey("raw", concat("04", v.x, v.y), algorithm, true, ["sign"]), "SyntaxError", "sign on public");
    const offCurve = concat("04", v.x, v.y.slice(0, -2) + "00");
    await assertRejects(crypto.subtle.importKey("raw", offCurve, algorithm, true, ["verify"]), "DataError", "off the curve");
    await assertRejects(crypto.subtle.importKey("raw", concat("04", v.x, v.y), { name: "ECDSA", namedCurve: "P-384" }, true, ["verify"]), "DataError", "wrong curve");
    await assertRejects(crypto.subtle.importKey("spki", new Uint8Array(10), algorithm, true, ["verify"]), "DataError", "bad spki");
    await assertRejects(crypto.subtle.importKey("jwk", { ...ecJwk("P-256", v, true), crv: "P-384" }, algorithm, true, ["sign"]), "DataError", "crv");
    await assertRejects(crypto.subtle.importKey("jwk", { ...ecJwk("P-256", v, true), alg: "ES384" }, algorithm, true, ["sign"]), "DataError", "alg");
    const wrongD = { ...ecJwk("P-256", v, true), d: b64url(fromHex("01".repeat(32))) };
    await assertRejects(crypto.subtle.importKey("jwk", wrongD, algorithm, true, ["sign"]), "DataError", "d does not match");
    const ed = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]);
    const edSpki = await crypto.subtle.exportKey("spki", ed.publicKey);
    await assertRejects(crypto.subtle.importKey("spki", edSpki, algorithm, true, ["verify"]), "DataError", "Ed25519 spki as ECDSA");
    await assertRejects(crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, ed.privateKey, utf8("x")), "InvalidAccessError", "Ed25519 key for ECDSA");
  },

  async "ECDH: RFC 5903 shared secret, deriveBits and deriveKey"() {
    const algorithm = { name: "ECDH", namedCurve: "P-256" };
    const v = RFC5903;
    const initiator = await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: b64url(fromHex(v.gix)), y: b64url(fromHex(v.giy)), d: b64url(fromHex(v.i)) },
      algorithm,
      false,
      ["deriveBits", "deriveKey"],
    );
    const responderPublic = await crypto.subtle.importKey("raw", concat("04", v.grx, v.gry), algorithm, true, []);
    assertStrictEquals(responderPublic.usages.length, 0);
    const bits = await crypto.subtle.deriveBits({ name: "ECDH", public: responderPublic }, initiator, 256);
    assertStrictEquals(hex(bits), v.girx);
    assertStrictEquals(hex(await crypto.subtle.deriveBits({ name: "ECDH", public: responderPublic }, initiator, null)), v.girx);
    assertStrictEquals(hex(await crypto.subtle.deriveBits({ name: "ECDH", public: responderPublic }, initiator, 12)), v.girx.slice(0, 2) + "80");
    await assertRejects(crypto.subtle.deriveBits({ name: "ECDH", public: responderPublic }, initiator, 264), "OperationError", "too long");
    const aes = await crypto.subtle.deriveKey({ name: "ECDH", public: responderPublic }, initiator, { name: "AES-GCM", length: 128 }, true, ["encrypt"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw", aes)), v.girx.slice(0, 32));

    // Both sides of generated P-384 keys agree.
    const p384 = { name: "ECDH", namedCurve: "P-384" };
    const a = await crypto.subtle.generateKey(p384, true, ["deriveBits"]);
    const b = await crypto.subtle.generateKey(p384, true, ["deriveBits"]);
    assertStrictEquals(a.publicKey.usages.length, 0);
    const ab = await crypto.subtle.deriveBits({ name: "ECDH", public: b.publicKey }, a.privateKey, 384);
    const ba = await crypto.subtle.deriveBits({ name: "ECDH", public: a.publicKey }, b.privateKey, 384);
    assertStrictEquals(hex(ab), hex(ba));
    const spki = await crypto.subtle.exportKey("spki", b.publicKey);
    const again = await crypto.subtle.importKey("spki", spki, p384, true, []);
    assertStrictEquals(hex(await crypto.subtle.deriveBits({ name: "ECDH", public: again }, a.privateKey, 384)), hex(ab));

    await assertRejects(crypto.subtle.deriveBits({ name: "ECDH", public: b.publicKey }, initiator, 256), "InvalidAccessError", "curves differ");
    await assertRejects(crypto.subtle.deriveBits({ name: "ECDH", public: a.privateKey }, b.privateKey, 384), "InvalidAccessError", "a private public");
    await assertRejects(crypto.subtle.deriveBits({ name: "ECDH", public: "x" }, b.privateKey, 384), "TypeError", "not a key");
    await assertRejects(crypto.subtle.importKey("raw", concat("04", v.grx, v.gry), algorithm, true, ["deriveBits"]), "SyntaxError", "usages on a public key");
    const ecdsa = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign"]);
    await assertRejects(crypto.subtle.deriveBits({ name: "ECDH", public: ecdsa.publicKey }, a.privateKey, 384), "InvalidAccessError", "ECDSA public key");
  },

  async "Ed25519: RFC 8032 vectors and key formats"() {
    for (const v of RFC8032) {
      const privateKey = await crypto.subtle.importKey("pkcs8", fromHex(ED25519_PKCS8_PREFIX + v.secret), "Ed25519", true, ["sign"]);
      const publicKey = await crypto.subtle.importKey("raw", fromHex(v.public), { name: "Ed25519" }, true, ["verify"]);
      assertStrictEquals(privateKey.algorithm.name, "Ed25519");
      const message = v.message === "" ? new Uint8Array(0) : fromHex(v.message);
      assertStrictEquals(hex(await crypto.subtle.sign("Ed25519", privateKey, message)), v.signature);
      assert(await crypto.subtle.verify("Ed25519", publicKey, fromHex(v.signature), message));
      assert(!(await crypto.subtle.verify("Ed25519", publicKey, fromHex(v.signature), utf8("other"))));
      const jwk = await crypto.subtle.exportKey("jwk", privateKey);
      assertStrictEquals(jwk.kty, "OKP");
      assertStrictEquals(jwk.crv, "Ed25519");
      assertStrictEquals(jwk.x, b64url(fromHex(v.public)));
      assertStrictEquals(jwk.d, b64url(fromHex(v.secret)));
      const fromJwk = await crypto.subtle.importKey("jwk", jwk, "Ed25519", true, ["sign"]);
      assertStrictEquals(hex(await crypto.subtle.exportKey("pkcs8", fromJwk)), ED25519_PKCS8_PREFIX + v.secret);
      assertStrictEquals(hex(await crypto.subtle.exportKey("spki", publicKey)), ED25519_SPKI_PREFIX + v.public);
      const publicJwk = { kty: "OKP", crv: "Ed25519", x: jwk.x };
      const fromPublicJwk = await crypto.subtle.importKey("jwk", publicJwk, "Ed25519", true, ["verify"]);
      assertStrictEquals(hex(await crypto.subtle.exportKey("raw", fromPublicJwk)), v.public);
    }
    const { publicKey, privateKey } = await crypto.subtle.generateKey("Ed25519", false, ["sign", "verify"]);
    const signature = await crypto.subtle.sign("Ed25519", privateKey, utf8("hello"));
    assertStrictEquals(signature.byteLength, 64);
    assert(await crypto.subtle.verify("Ed25519", publicKey, signature, utf8("hello")));
    await assertRejects(crypto.subtle.importKey("raw", new Uint8Array(31), "Ed25519", true, ["verify"]), "DataError", "short key");
    const jwk = { kty: "OKP", crv: "Ed25519", x: b64url(fromHex(RFC8032[1].public)), d: b64url(fromHex(RFC8032[0].secret)) };
    await assertRejects(crypto.subtle.importKey("jwk", jwk, "Ed25519", true, ["sign"]), "DataError", "x does not match d");
    await assertRejects(crypto.subtle.importKey("jwk", { ...jwk, crv: "X25519" }, "Ed25519", true, ["sign"]), "DataError", "crv");
  },

  async "Ed25519: small-order keys and R refused; JWK alg Ed25519 or EdDSA"() {
    // The identity as the key and as R, with S = 0, verifies under the bare
    // equation [S]B = R + [k]A; WebCrypto requires false.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const key = await crypto.subtle.importKey("raw", identity, "Ed25519", true, ["verify"]);
    const signature = new Uint8Array(64);
    signature.set(identity);
    assert(!(await crypto.subtle.verify("Ed25519", key, signature, utf8("any message"))));
    // The same identity, non-canonical (y = p + 1) and with the sign bit set.
    const other = fromHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    const otherKey = await crypto.subtle.importKey("raw", other, "Ed25519", true, ["verify"]).catch(() => null);
    if (otherKey) assert(!(await crypto.subtle.verify("Ed25519", otherKey, signature, utf8("x"))));
    // A normal key with a small-order R is refused as well.
    const v = RFC8032[0];
    const publicKey = await crypto.subtle.importKey("raw", fromHex(v.public), "Ed25519", true, ["verify"]);
    const bad = fromHex(v.signature);
    bad.set(identity);
    assert(!(await crypto.subtle.verify("Ed25519", publicKey, bad, new Uint8Array(0))));
    // JWK alg: "Ed25519" or "EdDSA" on import, "Ed25519" on export.
    const x = b64url(fromHex(v.public));
    for (const alg of ["Ed25519", "EdDSA"]) {
      const imported = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x, alg }, "Ed25519", true, ["verify"]);
      assertStrictEquals((await crypto.subtle.exportKey("jwk", imported)).alg, "Ed25519");
    }
    await assertRejects(crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x, alg: "ES256" }, "Ed25519", true, ["verify"]), "DataError", "alg");
  },

  async "X25519: RFC 7748 shared secret and key formats"() {
    const v = RFC7748;
    const alice = await crypto.subtle.importKey("pkcs8", fromHex(X25519_PKCS8_PREFIX + v.alicePrivate), "X25519", true, ["deriveBits", "deriveKey"]);
    const bobPublic = await crypto.subtle.importKey("raw", fromHex(v.bobPublic), "X25519", true, []);
    assertStrictEquals(hex(await crypto.subtle.deriveBits({ name: "X25519", public: bobPublic }, alice, 256)), v.shared);
    const bobJwk = { kty: "OKP", crv: "X25519", x: b64url(fromHex(v.bobPublic)), d: b64url(fromHex(v.bobPrivate)) };
    const bob = await crypto.subtle.importKey("jwk", bobJwk, "X25519", false, ["deriveBits"]);
    const alicePublic = await crypto.subtle.importKey("raw", fromHex(v.alicePublic), "X25519", true, []);
    assertStrictEquals(hex(await crypto.subtle.deriveBits({ name: "X25519", public: alicePublic }, bob, null)), v.shared);
    assertStrictEquals((await crypto.subtle.exportKey("jwk", alice)).x, b64url(fromHex(v.alicePublic)));
    const hmac = await crypto.subtle.deriveKey({ name: "X25519", public: bobPublic }, alice, { name: "HMAC", hash: "SHA-256", length: 256 }, true, ["sign"]);
    assertStrictEquals(hex(await crypto.subtle.exportKey("raw", hmac)), v.shared);
    // Generated pairs agree.
    const a = await crypto.subtle.generateKey("X25519", true, ["deriveBits"]);
    const b = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
    assertStrictEquals(
      hex(await crypto.subtle.deriveBits({ name: "X25519", public: b.publicKey }, a.privateKey, 256)),
      hex(await crypto.subtle.deriveBits({ name: "X25519", public: a.publicKey }, b.privateKey, 256)),
    );
    // A small-order point gives an all-zero secret: an OperationError.
    const zeroPoint = await crypto.subtle.importKey("raw", new Uint8Array(32), "X25519", true, []);
    await assertRejects(crypto.subtle.deriveBits({ name: "X25519", public: zeroPoint }, alice, 256), "OperationError", "all-zero secret");
    const edKey = await crypto.subtle.generateKey("Ed25519", true, ["sign"]);
    await assertRejects(crypto.subtle.deriveBits({ name: "X25519", public: edKey.publicKey }, alice, 256), "InvalidAccessError", "an Ed25519 key");
    await assertRejects(crypto.subtle.generateKey("X25519", true, ["sign"]), "SyntaxError");
  },

  async "Ed448 and X448: round trips, key sizes, a context is refused"() {
    const ed = await crypto.subtle.generateKey("Ed448", true, ["sign", "verify"]);
    const data = utf8("message");
    const signature = await crypto.subtle.sign("Ed448", ed.privateKey, data);
    assertStrictEquals(signature.byteLength, 114);
    assert(await crypto.subtle.verify("Ed448", ed.publicKey, signature, data), "verifies");
    assert(!(await crypto.subtle.verify("Ed448", ed.publicKey, signature, utf8("other"))), "other data");
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", ed.publicKey));
    assertStrictEquals(raw.length, 57);
    const jwk = await crypto.subtle.exportKey("jwk", ed.privateKey);
    assertStrictEquals(jwk.crv, "Ed448");
    assertStrictEquals(jwk.alg, "Ed448");
    // An empty context is the default; any other is refused, never ignored.
    await crypto.subtle.sign({ name: "Ed448", context: new Uint8Array(0) }, ed.privateKey, data);
    await assertRejects(crypto.subtle.sign({ name: "Ed448", context: utf8("ctx") }, ed.privateKey, data), "NotSupportedError");
    await assertRejects(crypto.subtle.verify({ name: "Ed448", context: utf8("ctx") }, ed.publicKey, signature, data), "NotSupportedError");

    const alice = await crypto.subtle.generateKey("X448", true, ["deriveBits"]);
    const bob = await crypto.subtle.generateKey("X448", true, ["deriveBits"]);
    const ab = new Uint8Array(await crypto.subtle.deriveBits({ name: "X448", public: bob.publicKey }, alice.privateKey, 448));
    const ba = new Uint8Array(await crypto.subtle.deriveBits({ name: "X448", public: alice.publicKey }, bob.privateKey, 448));
    assertStrictEquals(ab.length, 56);
    assertStrictEquals(hex(ab), hex(ba));
    // Curves do not mix.
    const x25519 = await crypto.subtle.generateKey("X25519", true, ["deriveBits"]);
    await assertRejects(crypto.subtle.deriveBits({ name: "X448", public: x25519.publicKey }, alice.privateKey, 448), "InvalidAccessError");
  },
};
