// crypto.subtle RSASSA-PKCS1-v1_5 and RSA-PSS (NIST CAVS 10.1 SigGen15 and
// SigGenPSS known answers, as carried in pyca/cryptography's vectors) and
// RSA-OAEP (pyca's SHA-256 OAEP vectors derived from the NIST SHA-1 ones):
// keys in spki, pkcs8 and jwk, round trips, errors.

import { assert, assertStrictEquals, assertRejects, hex, fromHex, utf8 } from "../../runtime/testing/assert.js";

function b64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
const jwkOf = (parts) => Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, b64url(fromHex(v))]));

// SigGen15_186-3.rsp, [mod = 1024], the first SHA256 case.
const PKCS1 = {
  n: "a3ecf80ff1804833c36a89a1583f58ef3332476a50a153e73ced17796139636045c131a6b17222ba8848f70150b18dfa390bfb1670ae982dfbc311fd0ede055564687af3805ca883944bb5ac9ec19b0e0cfbd9a314d70b17080c3d49b50cbf417062eb41bd639d67a5fb330ec55a0489fee08eeec97ed487c114b20393fe0aef",
  e: "1001",
  msg: "dfce08b64b9ea4014947012670548da4ceeee084dbfe509aac92bf096982b8050153bbdd1c5bd4385226729e9a19773b05558ce0acdfb74be6fd2fa8bfe36f58a68e89f066f1bd85584f4a27d6e884abf2d727ae683bebd6d295585b1b71dcc636491bf910a68670c3882fc60c08db7bff3c59f4f95b13c3d721e329657528d9",
  s: "8d9d30a87df0c2f6cd651fcaf2b9ac1296287ad3d4b03132e330f08ab701fc197040d0a261f631e7e34478b592551e1f682395c9e2b54c8ce8b0c72c1b5a79748cc34f9152730a7f67fae1225a4ce750f1d5d4e288176df197e7503c88b5baecef3abcf2875f111e6d7f7b4dc8afa2ed3c1d7ad8e7cf45a77f0b1cb178518402",
};

// SigGenPSS_186-3.rsp (salt length 0), [mod = 1024], the first SHA256 case.
const PSS = {
  n: "c87155f3d9f3771f6ab89ef30cd36230463902ff0633aa869b6dbd7592c83f4b2f882739ff499f1499fb0db4586c7f7b2dfd5a37dbe0df37dea9d0d5814a4047b647c1d8eb356ebae6a198899f97c25f9182fab2b6be88384a1b8cb16a82a05aaadf610ce2e045b41b8880a13b7133ea07296126471c9a450ae48bc880102c8b",
  e: "1001",
  msg: "19828d058058243557e29ec3f95b566fb4292c6e7dc0d56ae1c475cb3f6d6f3535307b51589cfad1288287ae4358cfb4d8dfa2415f044a4a87041b9e70d44b6f1bc0040e1f52b8f69d75b50c75daf925ba9b47c9641f7a37453d1aa83fa42dd8b37a4fc33c4305ac9e054f64f9a97cc943a5428df4d80e3903b5997112a4bc79",
  s: "a3263f4c84ab6ef687a3853e5d91d296b125428f80f3c4dcefcf4fb7f1c41cebf9aa3cfd0cf2b617ec2df8ab3379ffcc7fdf72ec659940e0dcdfa453bef7e9172941b5c8aaf87e58de3316f103856d922ae5929b3b6cf2a7bbf95c49ddbd8c15b4ac73370d0a28b20514637abff56157e15df57c5860edebed44d4917f2d1f8b",
};

// oaep-custom/oaep-sha256-sha256.txt, the first (2048-bit) key and its
// examples 1 and 6.
const OAEP_KEY = {
  n: "b8e814a25ca64c8de16f73849a78c8b13bb086a407301604f674efb588ee7b996b1b6a2968625a2548e9ab01ce6a3699907e303c8a02c9e40ea36bd6d8b2a74b1ee98fa8835a480dfc751fddc490e5a46707095356316587fc339196e4d7db70c7feae50a1263dedd589bec009624193c7de4793dcdf830be3256c70de1f02f7a7d3503035fcb9625c40abb7445470203902ea045f337d31fcd28506e46cd65560949f08cd90fedaabbcb6615b884737d3f5ad01e67cc0c2997af3328b3c80d5ee0a9aa40a9119bd7594fcfe2324728ea9a8f839e663467a0c44915d0275e34cf1c9605ad317c4573f57c85fd7e19e82cc6f77314e8db47a908a57e3e4418e45",
  e: "010001",
  d: "4af58aa7e7776341814a7542247d229ef6dbb1397dd0789cba6cdd60728a7b80ce72e6aeb2aa6c710105f9555a20a4d1cc49dbb42f1ec249b9c5764a3abef222f9fd2547e3380e4ddd327e20a1373c61518300bcd00c6664a251258c4e6953847d0f3a0b65c8e3022fb70fa53a28a2fd0de18692e2cf99889024f3b92dd2d49870a5de6f11827feade31bdc8889148968fad08b794007f68524a3bbce886dee240cb18f0b14e22ebfe5b04a4f1a73c9ed56adc0881b9aca2a02a776a2df2843b3cca528c8dca70db0a72baa978e8e11ef833f298403003de5820cf6d54d58de1753aac48aae6911a55f9d393a829fd4169799365b7a4015c5911277937bb1501",
  p: "e7e2f373592c2b9919851f238f1b1b67e9c761bbf252b334d5a12a6ea66974a1cb5f57dfa0595298f143ef958f7450571c31c682b91ea26a0349383088cbedd87e7edc6cb5287a56d7f73c31d02df6e3c58b01c27efdac951e279a3318951520c44c3903e5dc793c3cdacc40ad06551bd219bd6ecfd1c3f4f8ea513674ab286d",
  q: "cc2279fb888ba03c22c6613bb1466c9e2cd161d99bbec2f75af82cf7f0e43eb1a8a8bc23c24fc2838bffb94e791811073da55c53e07e1fec63cefd066dc631e25e74dae715ab3cc18b5e56ff2a786ddee92d32dc5bd4df849cb8246e3f42c1279985c5cb6909b0630424dc8a82d5604387e95fbb248720636b8e7208ca1f0639",
  dp: "a103034c3ac4e2d901d15f97cf4c61313c30c77a3b7e9514c0a991cf1719ee7451c4b83d7d17c8b48e02401fb7666a4ab23715c1bb4cbc35a46678efaa6cff8fedf5a4948f0db6350aec8f0d7fa20ae6894a464488ed17a2cb377068be4ef646b446c0e825f97aed0acc5a3b2669593b621da15d8a4bfb26e497bf2072ce4dd9",
  dq: "6cff07a4efcea5db1632589e97d46390bd9b7b24c70d3f6af5eec78c07dac742f32c4d70c682f1f86d5b38e596b0ebfeb2c2c59e9fa298870eefe998722abe5e015361c2bb8638259bb5debbd6408161e19d59a7e17cb3704a81e429ddab56193fd6f6badab5eab1a3f7ceae42978e13e0d112658966813bb4a5556c2e080cb9",
  qi: "c42490c242d07fd464f0f628a094a87508f0d9deee3e6bee40e580f78b2e2fbaaba3b2a52d7e55aacdf6bef781603238c26bf096aad72d96d691bf1a44d41a17bf0762f980db075ee6405db2e4ce0d8a976f062d6f35396b9899eb6ca92d0c8e8e97d2c9b31929dcf56fcb8138dc252173b82f66b478313bf73f59dffe9ac9b0",
};
const OAEP_EXAMPLES = [
  {
    message: "6628194e12073db03ba94cda9ef9532397d50dba79b987004afefe34",
    ciphertext:
      "6afdbc76de74458198a9c890cc5abb52580af01c2096036dca104d67f96a05de682da5c26970a808343527440aa80b9d043045d7983f442a3d376e5b039bcfb96c1b5fd0e46b5fff85646273293ced5e7272993850017f24f6133591d5c9788781a9952873ebfc45ad4d34fff2b4e9ababf49d9f9a3d7726bdce3eb2feb545db5cfef0b183bd55735a2d356b4278c5580ce0e4cfd21a0a3ad3b225de388fcfd688394710f97d5a3933e01d434fcff732542390f8915d5d291780ed63d425c0bea5bb0ad25aae3a70355e3f45a443ea111b80515b743d5bd226d339dc7516ce6c41414a0aa978198bc6762f443e957c7be5edbd25fcdd226c5d967fa05d7c9079",
  },
  {
    message: "26521050844271",
    ciphertext:
      "63967e8840a3c838ebcfa59b3896d522f776c22d766d447879c90f28d1fd964b88bed8f40f0db28d50caed3331c949559a53d503a555cfeb7375d14c52f985967715b486ea9272a0f7b9eb419dc6763ebeacdf575a9fd52470481c2537b1e566b28df2238d7cb41b9296899d94408b5fece6ddff74fc1463b6dc443bf00deee8d12fd4b19c89e41b2c9b4dca6d351f123bfe3a35b820f4b3b21d7ce49c2a2afa18e83220123f63d4d9914faa8f5b8c8e46966b1a23ca818db027b35bd11c130ec04a86fdbaf22a36ee3e0d4d430ac020b267f99aa962bf03048df7b7fbfd6d413aa55c7c6126f1935fdf154554e398f2a95d130d8b6d65c41dc48d4319e1b8aa",
  },
];

const F4 = new Uint8Array([1, 0, 1]);

export default {
  async "RSASSA-PKCS1-v1_5 and RSA-PSS: NIST known answers verify"() {
    const pkcs1 = await crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", ...jwkOf({ n: PKCS1.n, e: PKCS1.e }) },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      true,
      ["verify"],
    );
    assertStrictEquals(pkcs1.algorithm.modulusLength, 1024);
    assertStrictEquals(hex(pkcs1.algorithm.publicExponent), "1001");
    assertStrictEquals(pkcs1.algorithm.hash.name, "SHA-256");
    assert(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", pkcs1, fromHex(PKCS1.s), fromHex(PKCS1.msg)), "PKCS1 verifies");
    const bad = fromHex(PKCS1.s);
    bad[5] ^= 1;
    assert(!(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", pkcs1, bad, fromHex(PKCS1.msg))), "tampered");
    assert(!(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", pkcs1, fromHex(PKCS1.s).slice(1), fromHex(PKCS1.msg))), "short");

    const pss = await crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", alg: "PS256", ...jwkOf({ n: PSS.n, e: PSS.e }) },
      { name: "RSA-PSS", hash: "SHA-256" },
      true,
      ["verify"],
    );
    assert(await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 0 }, pss, fromHex(PSS.s), fromHex(PSS.msg)), "PSS verifies");
    assert(!(await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, pss, fromHex(PSS.s), fromHex(PSS.msg))), "salt 32");
    await assertRejects(crypto.subtle.verify({ name: "RSA-PSS" }, pss, fromHex(PSS.s), fromHex(PSS.msg)), "TypeError", "no saltLength");
  },

  async "RSA-OAEP: known-answer decryption and round trips"() {
    const algorithm = { name: "RSA-OAEP", hash: "SHA-256" };
    const privateKey = await crypto.subtle.importKey("jwk", { kty: "RSA", ...jwkOf(OAEP_KEY) }, algorithm, true, ["decrypt"]);
    assertStrictEquals(privateKey.type, "private");
    assertStrictEquals(privateKey.algorithm.modulusLength, 2048);
    for (const v of OAEP_EXAMPLES) {
      assertStrictEquals(hex(await crypto.subtle.decrypt("RSA-OAEP", privateKey, fromHex(v.ciphertext))), v.message);
    }
    // A private JWK without the CRT parameters (RFC 7518 6.3.2) works too.
    const { n, e, d } = OAEP_KEY;
    const plainKey = await crypto.subtle.importKey("jwk", { kty: "RSA", ...jwkOf({ n, e, d }) }, algorithm, false, ["decrypt"]);
    assertStrictEquals(hex(await crypto.subtle.decrypt("RSA-OAEP", plainKey, fromHex(OAEP_EXAMPLES[0].ciphertext))), OAEP_EXAMPLES[0].message);
    await assertRejects(
      crypto.subtle.importKey("jwk", { kty: "RSA", ...jwkOf({ n, e, d, p: OAEP_KEY.p }) }, algorithm, false, ["decrypt"]),
      "DataError",
      "some CRT parameters",
    );
    const bad = fromHex(OAEP_EXAMPLES[0].ciphertext);
    bad[10] ^= 1;
    await assertRejects(crypto.subtle.decrypt("RSA-OAEP", privateKey, bad), "OperationError", "tampered");
    const publicKey = await crypto.subtle.importKey("jwk", { kty: "RSA", ...jwkOf({ n: OAEP_KEY.n, e: OAEP_KEY.e }) }, algorithm, true, ["encrypt"]);
    const label = utf8("label");
    const sealed = await crypto.subtle.encrypt({ name: "RSA-OAEP", label }, publicKey, utf8("secret"));
    assertStrictEquals(sealed.byteLength, 256);
    assertStrictEquals(new TextDecoder().decode(await crypto.subtle.decrypt({ name: "RSA-OAEP", label }, privateKey, sealed)), "secret");
    await assertRejects(crypto.subtle.decrypt({ name: "RSA-OAEP", label: utf8("other") }, privateKey, sealed), "OperationError", "label");
    await assertRejects(crypto.subtle.encrypt("RSA-OAEP", publicKey, new Uint8Array(200)), "OperationError", "too long");
    // The private key exports to the same JWK, and through pkcs8 and spki.
    const jwk = await crypto.subtle.exportKey("jwk", privateKey);
    assertStrictEquals(jwk.alg, "RSA-OAEP-256");
    for (const part of Object.keys(OAEP_KEY)) assertStrictEquals(jwk[part], b64url(fromHex(OAEP_KEY[part])), part);
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", privateKey);
    const again = await crypto.subtle.importKey("pkcs8", pkcs8, algorithm, false, ["decrypt"]);
    assertStrictEquals(hex(await crypto.subtle.decrypt("RSA-OAEP", again, fromHex(OAEP_EXAMPLES[1].ciphertext))), OAEP_EXAMPLES[1].message);
    const spki = await crypto.subtle.exportKey("spki", publicKey);
    const publicAgain = await crypto.subtle.importKey("spki", spki, algorithm, true, ["encrypt"]);
    assertStrictEquals((await crypto.subtle.exportKey("jwk", publicAgain)).n, b64url(fromHex(OAEP_KEY.n)));
  },

  async "RSA keys: generate, sign and verify, export"() {
    for (const name of ["RSASSA-PKCS1-v1_5", "RSA-PSS"]) {
      const algorithm = { name, modulusLength: 1024, publicExponent: F4, hash: "SHA-256" };
      const { publicKey, privateKey } = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
      assertStrictEquals(publicKey.algorithm.modulusLength, 1024);
      assertStrictEquals(hex(publicKey.algorithm.publicExponent), "010001");
      assertStrictEquals(privateKey.usages.join(), "sign");
      const params = { name, saltLength: 32 };
      const signature = await crypto.subtle.sign(params, privateKey, utf8("data"));
      assertStrictEquals(signature.byteLength, 128);
      assert(await crypto.subtle.verify(params, publicKey, signature, utf8("data")), name);
      assert(!(await crypto.subtle.verify(params, publicKey, signature, utf8("Data"))), `${name} other data`);
      const jwk = await crypto.subtle.exportKey("jwk", privateKey);
      assertStrictEquals(jwk.alg, name === "RSA-PSS" ? "PS256" : "RS256");
      const fromJwk = await crypto.subtle.importKey("jwk", jwk, algorithm, true, ["sign"]);
      if (name === "RSASSA-PKCS1-v1_5") {
        // Deterministic: the imported key signs the same bytes.
        assertStrictEquals(hex(await crypto.subtle.sign(params, fromJwk, utf8("data"))), hex(signature));
      }
      const spki = await crypto.subtle.exportKey("spki", publicKey);
      const fromSpki = await crypto.subtle.importKey("spki", spki, algorithm, true, ["verify"]);
      assert(await crypto.subtle.verify(params, fromSpki, signature, utf8("data")), `${name} spki`);
    }
    const oaep = await crypto.subtle.generateKey({ name: "RSA-OAEP", modulusLength: 2048, publicExponent: F4, hash: "SHA-1" }, false, ["encrypt", "decrypt"]);
    assertStrictEquals(oaep.publicKey.usages.join(), "encrypt");
    assertStrictEquals(oaep.privateKey.usages.join(), "decrypt");
    const sealed = await crypto.subtle.encrypt("RSA-OAEP", oaep.publicKey, utf8("hi"));
    assertStrictEquals(new TextDecoder().decode(await crypto.subtle.decrypt("RSA-OAEP", oaep.privateKey, sealed)), "hi");
  },

  async "generateKey refuses a modulus above 4096 bits"() {
    for (const modulusLength of [4104, 8192, 16384]) {
      const error = await assertRejects(
        crypto.subtle.generateKey({ name: "RSA-PSS", modulusLength, publicExponent: F4, hash: "SHA-256" }, true, ["sign"]),
        "OperationError",
        `${modulusLength} bits`,
      );
      assertStrictEquals(
        error.message,
        `The modulus length must be a multiple of 8 and between 1024 and 4096, but ${modulusLength} was requested.`,
      );
    }
    await assertRejects(
      crypto.subtle.generateKey({ name: "RSA-OAEP", modulusLength: 1020, publicExponent: F4, hash: "SHA-256" }, true, ["encrypt", "decrypt"]),
      "OperationError",
      "not a multiple of 8",
    );
  },

  async "RSA errors"() {
    const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const publicJwk = { kty: "RSA", ...jwkOf({ n: PKCS1.n, e: PKCS1.e }) };
    await assertRejects(crypto.subtle.importKey("jwk", publicJwk, algorithm, true, ["sign"]), "SyntaxError", "sign on public");
    await assertRejects(crypto.subtle.importKey("jwk", { ...publicJwk, alg: "RS384" }, algorithm, true, ["verify"]), "DataError", "alg");
    await assertRejects(crypto.subtle.importKey("jwk", { ...publicJwk, kty: "EC" }, algorithm, true, ["verify"]), "DataError", "kty");
    await assertRejects(crypto.subtle.importKey("raw", new Uint8Array(10), algorithm, true, ["verify"]), "NotSupportedError", "raw");
    await assertRejects(crypto.subtle.importKey("spki", new Uint8Array(10), algorithm, true, ["verify"]), "DataError", "bad spki");
    await assertRejects(crypto.subtle.importKey("jwk", publicJwk, { name: "RSASSA-PKCS1-v1_5" }, true, ["verify"]), "TypeError", "no hash");
    await assertRejects(
      crypto.subtle.generateKey({ name: "RSA-PSS", modulusLength: 1024, publicExponent: new Uint8Array([2]), hash: "SHA-256" }, true, ["sign"]),
      "OperationError",
      "even exponent",
    );
    await assertRejects(
      crypto.subtle.generateKey({ name: "RSA-OAEP", modulusLength: 1024, publicExponent: F4, hash: "SHA-256" }, true, ["sign"]),
      "SyntaxError",
      "sign for OAEP",
    );
    const ec = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
    const ecSpki = await crypto.subtle.exportKey("spki", ec.publicKey);
    await assertRejects(crypto.subtle.importKey("spki", ecSpki, algorithm, true, ["verify"]), "DataError", "EC spki as RSA");
    const key = await crypto.subtle.importKey("jwk", publicJwk, algorithm, true, ["verify"]);
    await assertRejects(crypto.subtle.verify({ name: "RSA-PSS", saltLength: 0 }, key, new Uint8Array(128), utf8("x")), "InvalidAccessError", "PKCS1 key for PSS");
    await assertRejects(crypto.subtle.exportKey("pkcs8", key), "InvalidAccessError", "pkcs8 of a public key");
  },
};
