// node:crypto against Node.js: the expected values below were printed by
// Node 20 for the same calls (hashes, HMAC, ciphers, key derivations), the
// keys and signatures were made by Node 20 (the deterministic signatures,
// RSA PKCS #1 v1.5 and Ed25519, must come out byte for byte the same here;
// the randomized ones, RSA-PSS and ECDSA, verify both ways), and the errors
// carry Node's codes and messages.

import crypto from "node:crypto";
import * as named from "node:crypto";
import bare from "crypto";
import { Buffer } from "node:buffer";
import { assert, assertEquals, assertThrows, assertRejects } from "../../runtime/testing/assert.js";

const c = crypto;
// Made by Node 20 (generateKeyPairSync, export, sign).
const V = {
 "rsaPkcs8": "-----BEGIN PRIVATE KEY-----\nMIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBANo8U7qtDjDWdXgo\nTxEKYTkgKwSRw4QsNalR21XUIxPP7EghCZhQqXGasmgJnP4BgbfoYo7JSU6wKtGy\nRQIX6AfHpNOQluVJpeIbD4vyeiodWHhUmqc3d2gcb7MMmbDsE275f56FV8lHawes\n9B5VP9hpRLCEAtHQhEw1dYeDliAzAgMBAAECgYEAwyEJpHIzrAs1QViZSZ1ETPWs\nQQusC7QTzu839EgXjRFuLRgNIjmNJ9ywBEIEM0FZoPyRkyX6+/accp65ASQq+5KT\nj7bR3zzw1mhKVcrHeL7eSdDgp5jNXF8qEHa3V3UsKfb89kVW5hhvh9EY/gHyXvwH\nrnoOJs6KnunKuSZKxjECQQD4yUVb0WK2GYT02r7WF3Ys6Lz4J2ptOKpkiI0JF8m/\nznaEPkw8GSsbZNr/XCmOlc0q2XONuG7OPB1GJaykBoedAkEA4JBH2aHpyfTVDslY\n2oRKur+tUJvY58GUe9tfOTNBiupo/fME6gtf+P1x1SmEoEmYZ7WcCTRbEn4WXPgZ\no5iGDwJAS/XYMYKq6wK7r68iWWfscyXUnMgcHKESlYOD3GTg+qllUldbG3ZrzP9s\nRk+zeI+QhybBu2G2o02DeqmCHsrHmQJBAKKmXiQ3rgnlF1x6Ya0EHMxegL3d46EZ\nCN8c6T+Y7GQdnKYzGuAaFQ1XJNfsFm+yXnzfgYD5Nu2R/cigupFPq+kCQQCbIF5s\nCeh3ymTyfihdmpW8aMilaviaLcw8C7+RmAeOo/G/29D7e1kZku3lNopWm/KGocnp\njARG6mLmu2BLXXlN\n-----END PRIVATE KEY-----\n",
 "rsaPkcs1": "-----BEGIN RSA PRIVATE KEY-----\nMIICXgIBAAKBgQDaPFO6rQ4w1nV4KE8RCmE5ICsEkcOELDWpUdtV1CMTz+xIIQmY\nUKlxmrJoCZz+AYG36GKOyUlOsCrRskUCF+gHx6TTkJblSaXiGw+L8noqHVh4VJqn\nN3doHG+zDJmw7BNu+X+ehVfJR2sHrPQeVT/YaUSwhALR0IRMNXWHg5YgMwIDAQAB\nAoGBAMMhCaRyM6wLNUFYmUmdREz1rEELrAu0E87vN/RIF40Rbi0YDSI5jSfcsARC\nBDNBWaD8kZMl+vv2nHKeuQEkKvuSk4+20d888NZoSlXKx3i+3knQ4KeYzVxfKhB2\nt1d1LCn2/PZFVuYYb4fRGP4B8l78B656DibOip7pyrkmSsYxAkEA+MlFW9FithmE\n9Nq+1hd2LOi8+CdqbTiqZIiNCRfJv852hD5MPBkrG2Ta/1wpjpXNKtlzjbhuzjwd\nRiWspAaHnQJBAOCQR9mh6cn01Q7JWNqESrq/rVCb2OfBlHvbXzkzQYrqaP3zBOoL\nX/j9cdUphKBJmGe1nAk0WxJ+Flz4GaOYhg8CQEv12DGCqusCu6+vIlln7HMl1JzI\nHByhEpWDg9xk4PqpZVJXWxt2a8z/bEZPs3iPkIcmwbthtqNNg3qpgh7Kx5kCQQCi\npl4kN64J5RdcemGtBBzMXoC93eOhGQjfHOk/mOxkHZymMxrgGhUNVyTX7BZvsl58\n34GA+Tbtkf3IoLqRT6vpAkEAmyBebAnod8pk8n4oXZqVvGjIpWr4mi3MPAu/kZgH\njqPxv9vQ+3tZGZLt5TaKVpvyhqHJ6YwERupi5rtgS115TQ==\n-----END RSA PRIVATE KEY-----\n",
 "rsaSpki": "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDaPFO6rQ4w1nV4KE8RCmE5ICsE\nkcOELDWpUdtV1CMTz+xIIQmYUKlxmrJoCZz+AYG36GKOyUlOsCrRskUCF+gHx6TT\nkJblSaXiGw+L8noqHVh4VJqnN3doHG+zDJmw7BNu+X+ehVfJR2sHrPQeVT/YaUSw\nhALR0IRMNXWHg5YgMwIDAQAB\n-----END PUBLIC KEY-----\n",
 "rsaPkcs1Pub": "-----BEGIN RSA PUBLIC KEY-----\nMIGJAoGBANo8U7qtDjDWdXgoTxEKYTkgKwSRw4QsNalR21XUIxPP7EghCZhQqXGa\nsmgJnP4BgbfoYo7JSU6wKtGyRQIX6AfHpNOQluVJpeIbD4vyeiodWHhUmqc3d2gc\nb7MMmbDsE275f56FV8lHawes9B5VP9hpRLCEAtHQhEw1dYeDliAzAgMBAAE=\n-----END RSA PUBLIC KEY-----\n",
 "rsaJwk": {
  "kty": "RSA",
  "n": "2jxTuq0OMNZ1eChPEQphOSArBJHDhCw1qVHbVdQjE8_sSCEJmFCpcZqyaAmc_gGBt-hijslJTrAq0bJFAhfoB8ek05CW5Uml4hsPi_J6Kh1YeFSapzd3aBxvswyZsOwTbvl_noVXyUdrB6z0HlU_2GlEsIQC0dCETDV1h4OWIDM",
  "e": "AQAB",
  "d": "wyEJpHIzrAs1QViZSZ1ETPWsQQusC7QTzu839EgXjRFuLRgNIjmNJ9ywBEIEM0FZoPyRkyX6-_accp65ASQq-5KTj7bR3zzw1mhKVcrHeL7eSdDgp5jNXF8qEHa3V3UsKfb89kVW5hhvh9EY_gHyXvwHrnoOJs6KnunKuSZKxjE",
  "p": "-MlFW9FithmE9Nq-1hd2LOi8-CdqbTiqZIiNCRfJv852hD5MPBkrG2Ta_1wpjpXNKtlzjbhuzjwdRiWspAaHnQ",
  "q": "4JBH2aHpyfTVDslY2oRKur-tUJvY58GUe9tfOTNBiupo_fME6gtf-P1x1SmEoEmYZ7WcCTRbEn4WXPgZo5iGDw",
  "dp": "S_XYMYKq6wK7r68iWWfscyXUnMgcHKESlYOD3GTg-qllUldbG3ZrzP9sRk-zeI-QhybBu2G2o02DeqmCHsrHmQ",
  "dq": "oqZeJDeuCeUXXHphrQQczF6Avd3joRkI3xzpP5jsZB2cpjMa4BoVDVck1-wWb7JefN-BgPk27ZH9yKC6kU-r6Q",
  "qi": "myBebAnod8pk8n4oXZqVvGjIpWr4mi3MPAu_kZgHjqPxv9vQ-3tZGZLt5TaKVpvyhqHJ6YwERupi5rtgS115TQ"
 },
 "rsaSpkiDerB64": "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDaPFO6rQ4w1nV4KE8RCmE5ICsEkcOELDWpUdtV1CMTz+xIIQmYUKlxmrJoCZz+AYG36GKOyUlOsCrRskUCF+gHx6TTkJblSaXiGw+L8noqHVh4VJqnN3doHG+zDJmw7BNu+X+ehVfJR2sHrPQeVT/YaUSwhALR0IRMNXWHg5YgMwIDAQAB",
 "ecPkcs8": "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSUSte50yxMbvv83T\nnFIehZLOqQ8byNC6YnLpwyxcJrKhRANCAAThkUE4RoWmKpTndDAVEta1TO6vXRyT\nKRVCTAk4J4zOQ/+rIoBDRgvpNOfkA2shPrGof1yk+LR8Z7tuJN0uMaKM\n-----END PRIVATE KEY-----\n",
 "ecSec1": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIElErXudMsTG77/N05xSHoWSzqkPG8jQumJy6cMsXCayoAoGCCqGSM49\nAwEHoUQDQgAE4ZFBOEaFpiqU53QwFRLWtUzur10ckykVQkwJOCeMzkP/qyKAQ0YL\n6TTn5ANrIT6xqH9cpPi0fGe7biTdLjGijA==\n-----END EC PRIVATE KEY-----\n",
 "ecSpki": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4ZFBOEaFpiqU53QwFRLWtUzur10c\nkykVQkwJOCeMzkP/qyKAQ0YL6TTn5ANrIT6xqH9cpPi0fGe7biTdLjGijA==\n-----END PUBLIC KEY-----\n",
 "ecJwk": {
  "kty": "EC",
  "x": "4ZFBOEaFpiqU53QwFRLWtUzur10ckykVQkwJOCeMzkM",
  "y": "_6sigENGC-k05-QDayE-sah_XKT4tHxnu24k3S4xoow",
  "crv": "P-256",
  "d": "SUSte50yxMbvv83TnFIehZLOqQ8byNC6YnLpwyxcJrI"
 },
 "ec384Pkcs8": "-----BEGIN PRIVATE KEY-----\nMIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAlddpVO51zuCm5Snuw\nxhE47SH+jqEfWZLiWZFjXAWHB2PlUQQOKiixjwcgczmXU+mhZANiAAS/QruXHrlb\nV9bOjVkF1RbW8/aCtqwImSQ/IHAve5PJCoecXifgRLb0IJdZtY50j0UUdlseDyXw\n9lMqoSWDEIECF/tYIF7XWwhy7NZiJiBElrj4oQ8/Ulmj0Y9ZKf00+DA=\n-----END PRIVATE KEY-----\n",
 "ec384Spki": "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEv0K7lx65W1fWzo1ZBdUW1vP2grasCJkk\nPyBwL3uTyQqHnF4n4ES29CCXWbWOdI9FFHZbHg8l8PZTKqElgxCBAhf7WCBe11sI\ncuzWYiYgRJa4+KEPP1JZo9GPWSn9NPgw\n-----END PUBLIC KEY-----\n",
 "edPkcs8": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIE/Gyt6lmWAmsShqPyjX2BMAd0qTDiTB0oM7+d0PngpE\n-----END PRIVATE KEY-----\n",
 "edSpki": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAic1GgFfOTGRcaLJ2CE+mXCUCDHRZhu3hATC7mqflkMo=\n-----END PUBLIC KEY-----\n",
 "edJwk": {
  "crv": "Ed25519",
  "d": "T8bK3qWZYCaxKGo_KNfYEwB3SpMOJMHSgzv53Q-eCkQ",
  "x": "ic1GgFfOTGRcaLJ2CE-mXCUCDHRZhu3hATC7mqflkMo",
  "kty": "OKP"
 },
 "sigRsaPkcs1": "w3e2yhxs8aLtPd7pDP7rU8wEdr9ax2GPpwGXuBQwrtVk6JbdXmnX5phFHgFeQBFsHjJ9DJ0Yw5IC1WtJONH8Y83AMfpub+wElsdsN7Rg8kjlZ5RlKQJSFykzwurjk10qZFKLJfLudUYzln5oKNmqsp4dRBeoOv21O1ieW22TPjE=",
 "sigRsaPkcs1Stream": "595c8808c3c3e13a39fb5319983b6d4806ac2cc07dec86503c24c87079262918dca50c538a0899ae207e8ab346010bdd213902c11a7253a1b97e20a91e581f6c35db9efca5efb1c15d800203145e74199411e22931ab3d36daa8f0b0250cec961c81cec13c4d51a7d31a8212c24fecefb4834b47c98d8fe9a703587182d36316",
 "sigRsaPss": "PqmobjyzG27cpe7qInrG//FFr/RppgLzirgZuU2GB8cPzhApyktcS/ltipl0Nm0RxQ6PoBIzX1vAB8ivYffdROrlC7rhDRYik4DiZE91WTuJ54rl7JrmshYdLHhmhKhFZnITPZslg1b1F+9shw4QxCeomABFMDGZbL1oASmSa4k=",
 "sigEcDer": "MEUCIQCZ301O2JPD36bjq/KjSzudeRgmvT5kgQxHXbejO1cvlQIgJgQlNoT035OF3/6NtXBVJRZtyZsz0QUwSwntqVKvq+I=",
 "sigEcP1363": "QL3Cj/ylOI2OE3hF6BEpZUI7a3opr8VDdtPaJ0DECpm/MlVIS9ZTh/PpJ0Epmx8wGEDgE/mNMnAbv9dEwwR2bA==",
 "sigEc384": "MGUCMQDtEftkyFzitUgV1LXjfSyxfuLV3zTx1DXWpOh08+o+B2gL9vH6EyYawPPdXx2+WQgCMA2+jqoIu+zkG1MG68gtno/fTn97gjrWvRepoxtB1daqaAaauPtsiCQ/aMBWtUkPOQ==",
 "sigEd": "q/zS5fgchyWLFcdSmgFQs43nchX3yxnuiwLc4NG6rvBM7KfmXNgx3hWiYk1UV0zqdMYs8bR7mLLJQIXA8/wdCg==",
 "rsaDetails": {
  "modulusLength": 1024,
  "publicExponent": "65537"
 },
 "ecPubJwk": {
  "kty": "EC",
  "x": "4ZFBOEaFpiqU53QwFRLWtUzur10ckykVQkwJOCeMzkM",
  "y": "_6sigENGC-k05-QDayE-sah_XKT4tHxnu24k3S4xoow",
  "crv": "P-256"
 }
};
// Printed by Node 20.
const E = {
 "hashes": {
  "md5": "cf599805548af0ce0344aded06704377",
  "sha1": "5c765a2869800bc168867df0b033b1690d66d7e6",
  "sha224": "0676c928edb9ae14bf0b959145f33895300a07ed82fb15cb7b7bd880",
  "sha256": "90f7bd3a9b0be696ce4a800623d6b866b9e29d384fc010a12ca3d9ddbc03f43a",
  "sha384": "cf40cadcdadfeeeb947b2f0562b7f7f877dce2bb16da9bf6af701ccf7b6273a0b7d0195d7ad3ebcdc8e74aa9919b0888",
  "sha512": "2e50002898842e86e04137bb60d45be9664970cdbe94d3f93fc2037ef7c49ffb7ec864ca1b4a9093af830dfdd0efbd1eabba3377abadf220050818510b7f3940",
  "sha512-256": "99fc9af716ce49a2c6a95b2ac03c9a8ba4a9d231d7e081a0cae3a925b4665465",
  "sha3-256": "1d3bc1e07798c7f80b49b76db7e387d625bb2254f9b900c97257ee55d08f111e",
  "RSA-SHA256": "90f7bd3a9b0be696ce4a800623d6b866b9e29d384fc010a12ca3d9ddbc03f43a",
  "ripemd160": "c1dd33cf44ea98b63b71f3e38cdf8c66bb03b6b2"
 },
 "digestEnc": [
  "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
  "qZk-NkcGgWq6PiVxeFDCbJzQ2J0",
  "©>6G\u0006jº>%qxPÂlÐØ",
  "a9993e364706816aba3e25717850c26c9cd0d89d",
  "馩㘾ه檁㺺焥偸泂킜鷘"
 ],
 "copy": [
  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"
 ],
 "hmac": {
  "md5": "9d5c73ef85594d34ec4438b7c97e51d8",
  "sha1": "104152c5bfdca07bc633eebd46199f0255c9f49d",
  "sha256": "5031fe3d989c6d1537a013fa6e739da23463fdaec3b70137d828e36ace221bd0",
  "sha512": "3c5953a18f7303ec653ba170ae334fafa08e3846f2efe317b87efce82376253cb52a8c31ddcde5a3a2eee183c2b34cb91f85e64ddbc325f7692b199473579c58"
 },
 "hmacLongKey": "315+r4N1lRWnk04FwUq9CjtjLvxZmuxIje+x2RqP58k=",
 "hmacEmptyKey": "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
 "hmacSecretKeyObj": "5031fe3d989c6d1537a013fa6e739da23463fdaec3b70137d828e36ace221bd0",
 "cbc": {
  "ct": "639dd4c509b902e13dd2ee7500cf3af9be0e128e87ffefd09f0b8132b71d1d5750d0ced90c1f47388114f14250d31b88"
 },
 "cbc256": {
  "ct": "9c462fcdaf518cdf0584c22ba9d247d4056f21ad6d6110ffd839e4aa7427fa8f9fe48c7f1d4a9b96ded2d12558e3a09d"
 },
 "ctr": {
  "ct": "32cfa2c84527582bfc71bc755c61c38dd4eeaf20ddeb51ddd78d1ccd0bee3f9eba14b23a1d2192bd9feeec"
 },
 "ecb": {
  "ct": "f7021c01de43c8147cd2477a7eba55b3698dc29f6db0d5eda4eec682b3393abb021cf4d15412037af882263fd186b880"
 },
 "gcm": {
  "ct": "ed18e4456292a1137a6e3dbf8af8ee33daaabcea8fb510b09f9366e249b378a65b1d263a47a294a0025736",
  "tag": "cb0fa659fd8dddf4a7318ae1efd3b004"
 },
 "gcm8": {
  "ct": "b997b715b290ecd78a8c97c67d992c0ab72160be6a989f44a6ef72b2aa666227c72bfbf7fc5133e7ad7b5e",
  "tag": "97cab47a5481c833"
 },
 "nopad": "97c64583541dafe0f6f99bd2ff1edbc0315a1b784374c2e2ae09e34cbcd77c05",
 "streamB64": "B8WkjA==",
 "pbkdf2": [
  "4b007901b765489abead49d926f721d065a429c12e463f6c4cd79401085b03dbc7e8b88f1447f8c3",
  "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134af7ad98c1b458ce3f",
  "d197b1b33db0143e018b12f3d1d1479e6cdebdcc97c5c0f87f6902e072f457b5143f30602641b3d5",
  "15001f89b9c29ee6998c520d1a0629e893cc3f996a08d27060e4c33305bf0fb262e27c0c9745202f"
 ],
 "scrypt": [
  "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
  "77d6576238657b203b19ca42c18a0497"
 ],
 "hkdf": [
  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  "rTk34QJkWGfeCJ/OsSRD2gkv193Mku9rILuqYAuZa7AVSWln232qs/lwfq5miPtqdWTsTWdVYPF+BzcN4eoBxuKt5P1z5FChGtUlkYWTLKr8AqyFCt6IUT7tBtUeHojhpIhELA=="
 ]
};

// A Node-style callback as a promise.
function call(fn, ...args) {
  return new Promise((resolve, reject) => {
    fn(...args, (error, ...values) => (error ? reject(error) : resolve(values.length > 1 ? values : values[0])));
  });
}

function errorOf(fn) {
  try {
    return ["OK", String(fn())];
  } catch (error) {
    return [error.name, error.code ?? null, error.message];
  }
}

const msg = Buffer.from("edge signs this");

export default {
  "node:crypto and the bare crypto specifier are one module with Node's exports"() {
    assert(bare === crypto);
    assert(named.createHash === crypto.createHash && named.default === crypto);
    for (const name of ["createHash", "createHmac", "hash", "getHashes", "getCiphers", "randomBytes", "randomFillSync",
      "randomFill", "randomUUID", "randomInt", "timingSafeEqual", "pbkdf2", "pbkdf2Sync", "scrypt", "scryptSync",
      "hkdf", "hkdfSync", "createCipheriv", "createDecipheriv", "createSign", "createVerify", "sign", "verify",
      "createSecretKey", "createPublicKey", "createPrivateKey", "generateKeyPair", "generateKeyPairSync",
      "getRandomValues"]) {
      assertEquals(typeof crypto[name], "function", name);
    }
    assert(crypto.webcrypto === globalThis.crypto && crypto.subtle === globalThis.crypto.subtle);
    assertEquals(crypto.constants.RSA_PKCS1_PSS_PADDING, 6);
    assertEquals(crypto.constants.RSA_PSS_SALTLEN_DIGEST, -1);
  },

  "hashes: every update encoding, every digest encoding, copy"() {
    for (const [name, expected] of Object.entries(E.hashes)) {
      const got = c.createHash(name).update("héllo", "latin1").update(Buffer.from([1, 2, 3])).update("aGk=", "base64")
        .update("ff00", "hex").update("x", "utf16le").digest("hex");
      assertEquals(got, expected, name);
    }
    assertEquals(["base64", "base64url", "latin1", "hex", "utf16le"].map((e) => c.createHash("sha1").update("abc").digest(e)),
      E.digestEnc);
    const h = c.createHash("sha256").update("ab");
    const copy = h.copy();
    h.update("c");
    assertEquals([h.digest("hex"), copy.digest("hex")], E.copy);
    // An encoding Node does not know gives the Buffer.
    assert(Buffer.isBuffer(c.createHash("sha256").digest("nope")));
    assert(Buffer.isBuffer(c.createHash("SHA256").digest()));
    assertEquals(c.hash("sha1", "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assertEquals(c.hash("sha1", "abc", "base64"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    assertEquals(c.hash("sha1", Buffer.from("abc"), "buffer").toString("hex"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    // Every hash getHashes lists works, with Node's names.
    const hashes = c.getHashes();
    assert(hashes.includes("sha256") && hashes.includes("RSA-SHA256") && hashes.includes("md5") && !hashes.includes("shake128"));
    for (const name of hashes) assertEquals(typeof c.createHash(name).update("x").digest("hex"), "string", name);
    // A typed array of wider elements hashes its bytes.
    assertEquals(c.createHash("md5").update(new Uint16Array([0x6261])).digest("hex"), c.createHash("md5").update("ab").digest("hex"));
    assertEquals(c.createHash("md5").update(new DataView(Buffer.from("ab").buffer)).digest("hex").length, 32);
  },

  "HMAC with strings, buffers, KeyObjects and CryptoKeys"() {
    for (const [name, expected] of Object.entries(E.hmac)) {
      assertEquals(c.createHmac(name, "key").update("data").digest("hex"), expected, name);
    }
    assertEquals(c.createHmac("sha256", Buffer.alloc(200, 7)).update("data").digest("base64"), E.hmacLongKey);
    assertEquals(c.createHmac("sha256", "").update("").digest("hex"), E.hmacEmptyKey);
    assertEquals(c.createHmac("sha256", c.createSecretKey(Buffer.from("key"))).update("data").digest("hex"),
      E.hmacSecretKeyObj);
    assertEquals(c.createHmac("sha256", new TextEncoder().encode("key").buffer).update("data").digest("hex"),
      E.hmacSecretKeyObj);
    // A second digest() is empty, as in Node.
    const h = c.createHmac("sha256", "k");
    h.digest();
    assertEquals(h.digest("hex"), "");
  },

  async "HMAC with a CryptoKey and KeyObject.from"() {
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("key"), { name: "HMAC", hash: "SHA-256" },
      true, ["sign"]);
    assertEquals(c.createHmac("sha256", key).update("data").digest("hex"), E.hmacSecretKeyObj);
    const object = c.KeyObject.from(key);
    assertEquals([object.type, object.symmetricKeySize, object.export().toString()], ["secret", 3, "key"]);
    assertEquals(object.export({ format: "jwk" }), { kty: "oct", k: "a2V5" });
    assert(object.equals(c.createSecretKey("key", "utf8")) && !object.equals(c.createSecretKey("kez", "utf8")));
  },

  "AES ciphers encrypt as Node and decrypt back"() {
    const key16 = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
    const key32 = Buffer.alloc(32, 9);
    const iv16 = Buffer.from("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", "hex");
    const data = Buffer.from("The quick brown fox jumps over the lazy dog");
    const roundTrip = (name, key, iv, expected, options, aad) => {
      const cipher = c.createCipheriv(name, key, iv, options);
      if (aad) cipher.setAAD(aad);
      const ct = Buffer.concat([cipher.update(data), cipher.final()]);
      assertEquals(ct.toString("hex"), expected.ct, name);
      const decipher = c.createDecipheriv(name, key, iv, options);
      if (expected.tag) {
        assertEquals(cipher.getAuthTag().toString("hex"), expected.tag, name);
        decipher.setAuthTag(Buffer.from(expected.tag, "hex"));
      }
      if (aad) decipher.setAAD(aad);
      assertEquals(Buffer.concat([decipher.update(ct), decipher.final()]).toString(), data.toString(), name);
    };
    roundTrip("aes-128-cbc", key16, iv16, E.cbc);
    roundTrip("aes-256-cbc", key32, iv16, E.cbc256);
    roundTrip("AES256", key32, iv16, E.cbc256);
    roundTrip("aes-128-ctr", key16, iv16, E.ctr);
    roundTrip("aes-128-ecb", key16, null, E.ecb);
    roundTrip("aes-256-gcm", key32, Buffer.alloc(12, 1), E.gcm, undefined, Buffer.from("header"));
    roundTrip("aes-128-gcm", key16, Buffer.alloc(16, 3), E.gcm8, { authTagLength: 8 });
    const np = c.createCipheriv("aes-128-cbc", key16, iv16).setAutoPadding(false);
    assertEquals(Buffer.concat([np.update(Buffer.alloc(32, 5)), np.final()]).toString("hex"), E.nopad);
    // Output encodings carry partial groups from one call to the next.
    const sc = c.createCipheriv("aes-128-ctr", key16, iv16);
    assertEquals(sc.update("a", "utf8", "base64") + sc.update("bcd", "utf8", "base64") + sc.final("base64"), E.streamB64);
    // A tampered tag or ciphertext fails.
    const gcm = c.createDecipheriv("aes-256-gcm", key32, Buffer.alloc(12, 1));
    gcm.setAuthTag(Buffer.alloc(16));
    gcm.update(Buffer.from(E.gcm.ct, "hex"));
    assertEquals(assertThrows(() => gcm.final(), Error).message, "Unsupported state or unable to authenticate data");
    assert(c.getCiphers().includes("aes-256-gcm") && c.getCiphers().includes("aes128"));
  },

  "errors have Node's names, codes and messages"() {
    const rows = [
    [()=>c.createHash('nope'), ["Error", null, "Digest method not supported"]],
    [()=>c.createHash(1), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"algorithm\" argument must be of type string. Received type number (1)"]],
    [()=>c.createHash('sha256').update(1), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"data\" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (1)"]],
    [()=>{const h=c.createHash('sha256');h.digest();h.update('a')}, ["Error", "ERR_CRYPTO_HASH_FINALIZED", "Digest already called"]],
    [()=>c.createHmac('sha256'), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"key\" argument must be of type string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, KeyObject, or CryptoKey. Received undefined"]],
    [()=>c.createHmac('nope','k'), ["TypeError", "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest: nope"]],
    [()=>c.createCipheriv('aes-128-cbc', Buffer.alloc(15), Buffer.alloc(16)), ["RangeError", "ERR_CRYPTO_INVALID_KEYLEN", "Invalid key length"]],
    [()=>c.createCipheriv('aes-128-cbc', Buffer.alloc(16), Buffer.alloc(15)), ["TypeError", "ERR_CRYPTO_INVALID_IV", "Invalid initialization vector"]],
    [()=>c.createCipheriv('nope', Buffer.alloc(16), Buffer.alloc(16)), ["Error", "ERR_CRYPTO_UNKNOWN_CIPHER", "Unknown cipher"]],
    [()=>{const d=c.createDecipheriv('aes-128-cbc', Buffer.alloc(16), Buffer.alloc(16));d.update(Buffer.alloc(16));return d.final()}, ["Error", "ERR_OSSL_BAD_DECRYPT", "error:1C800064:Provider routines::bad decrypt"]],
    [()=>{const d=c.createDecipheriv('aes-128-cbc', Buffer.alloc(16), Buffer.alloc(16));d.update(Buffer.alloc(5));return d.final()}, ["Error", "ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH", "error:1C80006B:Provider routines::wrong final block length"]],
    [()=>{const d=c.createDecipheriv('aes-128-gcm', Buffer.alloc(16), Buffer.alloc(12));d.update(Buffer.alloc(5));d.setAuthTag(Buffer.alloc(16));return d.final()}, ["Error", null, "Unsupported state or unable to authenticate data"]],
    [()=>{const d=c.createCipheriv('aes-128-gcm', Buffer.alloc(16), Buffer.alloc(12));return d.getAuthTag()}, ["Error", "ERR_CRYPTO_INVALID_STATE", "Invalid state for operation getAuthTag"]],
    [()=>{const d=c.createDecipheriv('aes-128-gcm', Buffer.alloc(16), Buffer.alloc(12));return d.setAuthTag(Buffer.alloc(3))}, ["TypeError", "ERR_CRYPTO_INVALID_AUTH_TAG", "Invalid authentication tag length: 3"]],
    [()=>{const d=c.createCipheriv('aes-128-cbc', Buffer.alloc(16), Buffer.alloc(16));d.final(); return d.update('a')}, ["Error", null, "Trying to add data in unsupported state"]],
    [()=>{const d=c.createCipheriv('aes-128-cbc', Buffer.alloc(16), Buffer.alloc(16));d.final(); return d.final()}, ["Error", "ERR_CRYPTO_INVALID_STATE", "Invalid state"]],
    [()=>{const d=c.createCipheriv('aes-128-cbc', Buffer.alloc(16), Buffer.alloc(16));d.final(); return d.setAutoPadding()}, ["Error", "ERR_CRYPTO_INVALID_STATE", "Invalid state for operation setAutoPadding"]],
    [()=>{const d=c.createCipheriv('aes-128-gcm', Buffer.alloc(16), Buffer.alloc(12), {authTagLength:5})}, ["TypeError", "ERR_CRYPTO_INVALID_AUTH_TAG", "Invalid authentication tag length: 5"]],
    [()=>c.pbkdf2Sync('a','b',0,10,'sha1'), ["RangeError", "ERR_OUT_OF_RANGE", "The value of \"iterations\" is out of range. It must be >= 1 && <= 2147483647. Received 0"]],
    [()=>c.pbkdf2Sync('a','b',1,-1,'sha1'), ["RangeError", "ERR_OUT_OF_RANGE", "The value of \"keylen\" is out of range. It must be >= 0 && <= 2147483647. Received -1"]],
    [()=>c.pbkdf2Sync('a','b',1,10,'nope'), ["TypeError", "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest: nope"]],
    [()=>c.pbkdf2Sync(1,'b',1,1,'sha1'), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"password\" argument must be of type string or an instance of ArrayBuffer, Buffer, TypedArray, or DataView. Received type number (1)"]],
    [()=>c.scryptSync('a','b',10,{N:3}), ["RangeError", "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", "Invalid scrypt params"]],
    [()=>c.scryptSync('a','b',10,{N:16,cost:16}), ["Error", "ERR_CRYPTO_SCRYPT_INVALID_PARAMETER", "Invalid scrypt parameter"]],
    [()=>c.scryptSync('a','b',10,{N:16,r:1,p:1,maxmem:1}), ["RangeError", "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", "Invalid scrypt params: error:030000AC:digital envelope routines::memory limit exceeded"]],
    [()=>c.hkdfSync('sha256','k','s','i',255*32+1), ["RangeError", "ERR_CRYPTO_INVALID_KEYLEN", "Invalid key length"]],
    [()=>c.hkdfSync('nope','k','s','i',10), ["TypeError", "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest: nope"]],
    [()=>c.randomBytes(-1), ["RangeError", "ERR_OUT_OF_RANGE", "The value of \"size\" is out of range. It must be >= 0 && <= 2147483647. Received -1"]],
    [()=>c.randomBytes('1'), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"size\" argument must be of type number. Received type string ('1')"]],
    [()=>c.randomInt(10,5), ["RangeError", "ERR_OUT_OF_RANGE", "The value of \"max\" is out of range. It must be greater than the value of \"min\" (10). Received 5"]],
    [()=>c.randomInt(2**48), ["RangeError", "ERR_OUT_OF_RANGE", "The value of \"max\" is out of range. It must be <= 281474976710655. Received 281_474_976_710_656"]],
    [()=>c.randomInt(1.5), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"max\" argument must be a safe integer. Received type number (1.5)"]],
    [()=>c.timingSafeEqual(Buffer.alloc(1),Buffer.alloc(2)), ["RangeError", "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length"]],
    [()=>c.timingSafeEqual('a','a'), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"buf1\" argument must be an instance of ArrayBuffer, Buffer, TypedArray, or DataView."]],
    [()=>c.randomFillSync(Buffer.alloc(4), 5), ["RangeError", "ERR_OUT_OF_RANGE", "The value of \"offset\" is out of range. It must be >= 0 && <= 4. Received 5"]],
    [()=>c.randomFillSync(Buffer.alloc(4), 1, 5), ["RangeError", "ERR_OUT_OF_RANGE", "The value of \"size + offset\" is out of range. It must be <= 4. Received 6"]],
    [()=>c.randomFillSync('x'), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"buf\" argument must be an instance of ArrayBuffer or ArrayBufferView. Received type string ('x')"]],
    [()=>c.generateKeyPairSync('rsa',{modulusLength:'a'}), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"options.modulusLength\" property must be of type number. Received type string ('a')"]],
    [()=>c.generateKeyPairSync('dsa2',{}), ["TypeError", "ERR_INVALID_ARG_VALUE", "The argument 'type' must be a supported key type. Received 'dsa2'"]],
    [()=>c.createSign('nope'), ["TypeError", "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest"]],
    [()=>c.hash('sha1',1), ["TypeError", "ERR_INVALID_ARG_TYPE", "The \"input\" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (1)"]],
    ];
    for (const [fn, expected] of rows) assertEquals(errorOf(fn), expected, fn.toString());
    const pub = c.createPublicKey(V.edSpki);
    assertEquals(errorOf(() => c.createPublicKey("nope")),
      ["Error", "ERR_OSSL_UNSUPPORTED", "error:1E08010C:DECODER routines::unsupported"]);
    assertEquals(assertThrows(() => c.createHmac("sha256", pub), TypeError).code, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE");
    assertEquals(assertThrows(() => c.createDiffieHellman(512), Error).code, "ERR_METHOD_NOT_IMPLEMENTED");
    assertEquals(assertThrows(() => new c.X509Certificate("x"), Error).message,
      "The crypto.X509Certificate method is not implemented");
    assertEquals(assertThrows(() => c.publicEncrypt(pub, Buffer.alloc(1)), Error).code, "ERR_METHOD_NOT_IMPLEMENTED");
    assertEquals(c.secureHeapUsed(), { total: 0, min: 0, used: 0, utilization: 0 });
  },

  async "random values"() {
    assertEquals(c.randomBytes(0).length, 0);
    const big = c.randomBytes(200000);
    assert(big.length === 200000 && big.some((b) => b !== 0) && Buffer.isBuffer(big));
    const viaCallback = await call(c.randomBytes, 16);
    assertEquals(viaCallback.length, 16);
    const target = new Uint32Array(4);
    c.randomFillSync(target, 1, 2);
    assert(target[0] === 0 && target[3] === 0);
    const filled = await call(c.randomFill, Buffer.alloc(8), 4);
    assert(filled.subarray(0, 4).every((b) => b === 0));
    c.randomFillSync(new ArrayBuffer(8));
    for (let i = 0; i < 200; i++) {
      const n = c.randomInt(3, 7);
      assert(n >= 3 && n < 7 && Number.isInteger(n));
    }
    assertEquals(c.randomInt(1), 0);
    const drawn = await call(c.randomInt, 5, 6);
    assertEquals(drawn, 5);
    assert(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(c.randomUUID()));
    assertEquals(c.getRandomValues(new Uint8Array(4)).length, 4);
    assert(c.timingSafeEqual(Buffer.from("abc"), new TextEncoder().encode("abc")));
    assert(!c.timingSafeEqual(Buffer.from("abc"), Buffer.from("abd")));
  },

  async "PBKDF2, scrypt and HKDF as Node, sync and with callbacks"() {
    assertEquals(["sha1", "sha256", "sha512", "md5"].map((d) => c.pbkdf2Sync("password", "salt", 4096, 40, d).toString("hex")),
      E.pbkdf2);
    assertEquals((await call(c.pbkdf2, "password", "salt", 4096, 40, "sha256")).toString("hex"), E.pbkdf2[1]);
    assertEquals(c.scryptSync("password", "NaCl", 64, { N: 1024, r: 8, p: 16 }).toString("hex"), E.scrypt[0]);
    assertEquals(c.scryptSync("", "", 16, { cost: 16, blockSize: 1, parallelization: 1 }).toString("hex"), E.scrypt[1]);
    assertEquals((await call(c.scrypt, "password", "NaCl", 64, { N: 1024, r: 8, p: 16 })).toString("hex"), E.scrypt[0]);
    const ikm = Buffer.from("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "hex");
    const okm = c.hkdfSync("sha256", ikm, Buffer.from("000102030405060708090a0b0c", "hex"),
      Buffer.from("f0f1f2f3f4f5f6f7f8f9", "hex"), 42);
    assert(okm instanceof ArrayBuffer);
    assertEquals(Buffer.from(okm).toString("hex"), E.hkdf[0]);
    assertEquals(Buffer.from(c.hkdfSync("sha512", "ikm", "", "", 100)).toString("base64"), E.hkdf[1]);
    assertEquals(Buffer.from(await call(c.hkdf, "sha512", "ikm", "", "", 100)).toString("base64"), E.hkdf[1]);
    assertEquals(c.hkdfSync("sha256", "k", "s", "i", 0).byteLength, 0);
  },

  async "costly derivations stay within their caps"() {
    // Workers' PBKDF2 iteration cap, in both forms.
    assertEquals(assertThrows(() => c.pbkdf2Sync("p", "s", 100001, 32, "sha256")).name, "NotSupportedError");
    assertThrows(() => c.pbkdf2("p", "s", 100001, 32, "sha256", () => {}));
    // On the serving thread, iterations times output blocks is capped too.
    assertEquals(c.pbkdf2Sync("p", "s", 100000, 64, "sha512").length, 64);
    assert(/pbkdf2Sync is limited/.test(assertThrows(() => c.pbkdf2Sync("p", "s", 100000, 1024, "sha1"), RangeError).message));
    assertEquals((await call(c.pbkdf2, "p", "s", 20000, 1024, "sha1")).length, 1024);
    // scrypt: 32 MiB at most, whatever maxmem says.
    assertEquals(assertThrows(() => c.scryptSync("p", "s", 16, { N: 2 ** 20, r: 8, maxmem: 2 ** 31 }), RangeError).message
      .startsWith("Invalid scrypt params: scrypt may use at most"), true);
    assertThrows(() => c.scryptSync("p", "s", 16, { N: 2 ** 14, r: 8, p: 4 }), RangeError);
    assertEquals((await call(c.scrypt, "p", "s", 16, { N: 2 ** 10, r: 8, p: 4 })).length, 16);
    assertThrows(() => c.scryptSync("p", "s", 16, { N: 2 ** 10, r: 1, p: 2 ** 30 }), RangeError);
    assertThrows(() => c.scryptSync("p", "s", 2 ** 21, { N: 16, r: 1, p: 1 }), RangeError);
    // RSA key generation: 2,048 bits inline, 4,096 off the serving thread.
    assert(/generateKeyPairSync makes RSA keys of at most 2048 bits/.test(
      assertThrows(() => c.generateKeyPairSync("rsa", { modulusLength: 3072 }), RangeError).message));
    assertThrows(() => c.generateKeyPair("rsa", { modulusLength: 8192 }, () => {}));
  },

  "keys: PEM, DER and JWK in, the same PEM, DER and JWK out"() {
    const rsa = c.createPrivateKey(V.rsaPkcs8);
    assertEquals([rsa.type, rsa.asymmetricKeyType], ["private", "rsa"]);
    assertEquals(rsa.export({ type: "pkcs8", format: "pem" }), V.rsaPkcs8);
    assertEquals(rsa.export({ type: "pkcs1", format: "pem" }), V.rsaPkcs1);
    assertEquals(c.createPrivateKey(V.rsaPkcs1).export({ type: "pkcs8", format: "pem" }), V.rsaPkcs8);
    assertEquals(rsa.export({ format: "jwk" }), V.rsaJwk);
    const details = rsa.asymmetricKeyDetails;
    assertEquals([details.modulusLength, String(details.publicExponent)],
      [V.rsaDetails.modulusLength, V.rsaDetails.publicExponent]);
    const rsaPub = c.createPublicKey(V.rsaPkcs8);
    assertEquals(rsaPub.type, "public");
    assertEquals(rsaPub.export({ type: "spki", format: "pem" }), V.rsaSpki);
    assertEquals(rsaPub.export({ type: "pkcs1", format: "pem" }), V.rsaPkcs1Pub);
    assertEquals(c.createPublicKey(V.rsaPkcs1Pub).export({ type: "spki", format: "der" }).toString("base64"), V.rsaSpkiDerB64);
    const der = Buffer.from(V.rsaSpkiDerB64, "base64");
    assert(c.createPublicKey({ key: der, format: "der", type: "spki" }).equals(rsaPub));
    assert(c.createPublicKey({ key: V.rsaJwk, format: "jwk" }).equals(rsaPub));
    assert(c.createPrivateKey({ key: V.rsaJwk, format: "jwk" }).equals(rsa));
    const ec = c.createPrivateKey(V.ecSec1);
    assertEquals([ec.asymmetricKeyType, ec.asymmetricKeyDetails.namedCurve], ["ec", "prime256v1"]);
    assertEquals(ec.export({ type: "pkcs8", format: "pem" }), V.ecPkcs8);
    assertEquals(ec.export({ type: "sec1", format: "pem" }), V.ecSec1);
    assertEquals(ec.export({ format: "jwk" }), V.ecJwk);
    assertEquals(c.createPublicKey(V.ecSpki).export({ format: "jwk" }), V.ecPubJwk);
    assertEquals(c.createPrivateKey({ key: V.ecJwk, format: "jwk" }).export({ type: "sec1", format: "pem" }), V.ecSec1);
    const ed = c.createPrivateKey(V.edPkcs8);
    assertEquals(ed.asymmetricKeyType, "ed25519");
    assertEquals(ed.export({ format: "jwk" }), V.edJwk);
    assertEquals(c.createPublicKey(ed).export({ type: "spki", format: "pem" }), V.edSpki);
    assertEquals(c.createPrivateKey({ key: V.edJwk, format: "jwk" }).export({ type: "pkcs8", format: "pem" }), V.edPkcs8);
    // A public key is not a private one; an encoding must suit the key.
    assertThrows(() => c.createPrivateKey(V.rsaSpki), Error);
    assertEquals(assertThrows(() => ec.export({ type: "pkcs1", format: "pem" }), Error).code,
      "ERR_CRYPTO_INCOMPATIBLE_KEY_OPTIONS");
    assertEquals(assertThrows(() => c.createPrivateKey({ key: V.rsaPkcs8, passphrase: "x" }), Error).code,
      "ERR_METHOD_NOT_IMPLEMENTED");
  },

  "signatures: Node's verify here, and deterministic ones come out the same"() {
    const rsa = c.createPrivateKey(V.rsaPkcs8);
    const rsaPub = c.createPublicKey(V.rsaSpki);
    assertEquals(c.sign("sha256", msg, rsa).toString("base64"), V.sigRsaPkcs1);
    assertEquals(c.sign("sha256", msg, V.rsaPkcs1).toString("base64"), V.sigRsaPkcs1);
    assertEquals(c.createSign("RSA-SHA512").update("edge ").update("signs this").sign(V.rsaPkcs8, "hex"), V.sigRsaPkcs1Stream);
    assert(c.verify("sha256", msg, rsaPub, Buffer.from(V.sigRsaPkcs1, "base64")));
    assert(c.createVerify("sha512").update(msg).verify(V.rsaSpki, V.sigRsaPkcs1Stream, "hex"));
    const pss = { key: rsaPub, padding: c.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    assert(c.verify("sha256", msg, pss, Buffer.from(V.sigRsaPss, "base64")));
    const mine = c.sign("sha256", msg, { key: rsa, padding: c.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    assert(c.verify("sha256", msg, pss, mine));
    assert(!c.verify("sha256", Buffer.from("other"), pss, mine));
    // ECDSA: DER by default, r || s with dsaEncoding "ieee-p1363".
    assert(c.verify("sha256", msg, V.ecSpki, Buffer.from(V.sigEcDer, "base64")));
    assert(c.verify("sha256", msg, { key: V.ecSpki, dsaEncoding: "ieee-p1363" }, Buffer.from(V.sigEcP1363, "base64")));
    assert(!c.verify("sha256", msg, V.ecSpki, Buffer.from(V.sigEcP1363, "base64")));
    const p1363 = c.sign("sha256", msg, { key: V.ecPkcs8, dsaEncoding: "ieee-p1363" });
    assertEquals(p1363.length, 64);
    assert(c.verify("sha256", msg, { key: c.createPublicKey(V.ecPkcs8), dsaEncoding: "ieee-p1363" }, p1363));
    assert(c.createVerify("sha384").update(msg).verify(V.ec384Spki, V.sigEc384, "base64"));
    const ec384 = c.createSign("sha384").update(msg).sign(V.ec384Pkcs8);
    assert(c.createVerify("sha384").update(msg).verify(V.ec384Spki, ec384));
    // Ed25519 signs the message itself (no digest): deterministic.
    assertEquals(c.sign(null, msg, V.edPkcs8).toString("base64"), V.sigEd);
    assert(c.verify(null, msg, V.edSpki, Buffer.from(V.sigEd, "base64")));
    assert(!c.verify(null, Buffer.from("x"), V.edSpki, Buffer.from(V.sigEd, "base64")));
    // A Verify used twice fails as Node's does.
    const v = c.createVerify("sha256").update(msg);
    v.verify(V.rsaSpki, Buffer.from(V.sigRsaPkcs1, "base64"));
    assertEquals(assertThrows(() => v.verify(V.rsaSpki, Buffer.alloc(1)), Error).code, "ERR_CRYPTO_HASH_FINALIZED");
  },

  async "signatures with callbacks, and WebCrypto verifies what node:crypto signs"() {
    const signature = await call(c.sign, "sha256", msg, c.createPrivateKey(V.rsaPkcs8));
    assertEquals(signature.toString("base64"), V.sigRsaPkcs1);
    assertEquals(await call(c.verify, "sha256", msg, V.rsaSpki, signature), true);
    const key = await crypto.subtle.importKey("spki", c.createPublicKey(V.ecSpki).export({ type: "spki", format: "der" }),
      { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
    const p1363 = c.sign("sha256", msg, { key: V.ecPkcs8, dsaEncoding: "ieee-p1363" });
    assert(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, p1363, msg));
    // And a CryptoKey works where node:crypto takes a key.
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const sig = c.sign(null, msg, pair.privateKey);
    assert(await crypto.subtle.verify("Ed25519", pair.publicKey, sig, msg));
    assert(c.verify(null, msg, c.KeyObject.from(pair.publicKey), sig));
  },

  async "key pairs: generated, exported, used"() {
    for (const [type, options] of [["rsa", { modulusLength: 1024 }], ["ec", { namedCurve: "P-384" }], ["ed25519", undefined],
      ["x25519", undefined]]) {
      const { publicKey, privateKey } = c.generateKeyPairSync(type, options);
      assertEquals([publicKey.type, privateKey.type, publicKey.asymmetricKeyType], ["public", "private", type]);
    }
    const pem = c.generateKeyPairSync("ec", { namedCurve: "prime256v1",
      publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
    assert(pem.publicKey.startsWith("-----BEGIN PUBLIC KEY-----\n") && pem.privateKey.startsWith("-----BEGIN PRIVATE KEY-----\n"));
    assert(c.verify("sha256", msg, pem.publicKey, c.sign("sha256", msg, pem.privateKey)));
    const [publicKey, privateKey] = await call(c.generateKeyPair, "rsa", { modulusLength: 2048, publicExponent: 3 });
    assertEquals(publicKey.asymmetricKeyDetails.modulusLength, 2048);
    assertEquals(String(publicKey.asymmetricKeyDetails.publicExponent), "3");
    assert(c.verify("sha256", msg, publicKey, c.sign("sha256", msg, privateKey)));
    const secret = c.generateKeySync("hmac", { length: 256 });
    assertEquals(secret.symmetricKeySize, 32);
  },

  "Ed448, DER in PKCS #1 and SEC1, verifying with a private key, and what cannot sign"() {
    const ed = c.generateKeyPairSync("ed448");
    const signature = c.sign(null, msg, ed.privateKey);
    assert(signature.length === 114 && c.verify(null, msg, ed.publicKey, signature));
    const rsa = c.createPrivateKey(V.rsaPkcs8);
    const pkcs1 = rsa.export({ type: "pkcs1", format: "der" });
    assert(c.createPrivateKey({ key: pkcs1, format: "der", type: "pkcs1" }).equals(rsa));
    const ec = c.createPrivateKey(V.ecPkcs8);
    assert(c.createPrivateKey({ key: ec.export({ type: "sec1", format: "der" }), format: "der", type: "sec1" }).equals(ec));
    assert(c.verify("sha256", msg, ec, c.sign("sha256", msg, ec)));
    // Printed by Node 20.
    const x = c.generateKeyPairSync("x25519");
    assertEquals(errorOf(() => c.sign(null, msg, x.privateKey)), ["Error", "ERR_OSSL_EVP_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE",
      "error:03000096:digital envelope routines::operation not supported for this keytype"]);
    assertEquals(errorOf(() => c.createPrivateKey({ key: pkcs1, format: "der", type: "spki" })),
      ["TypeError", "ERR_INVALID_ARG_VALUE", "The property 'options.type' is invalid. Received 'spki'"]);
    assertEquals(errorOf(() => c.sign("sha256", msg, { key: rsa, padding: 3 })),
      ["Error", "ERR_OSSL_INVALID_PADDING_MODE", "error:1C8000A8:Provider routines::invalid padding mode"]);
    assertEquals(errorOf(() => c.sign("sha256", msg, { key: rsa, padding: 4 })), ["Error",
      "ERR_OSSL_ILLEGAL_OR_UNSUPPORTED_PADDING_MODE", "error:1C8000A5:Provider routines::illegal or unsupported padding mode"]);
    assertEquals(errorOf(() => c.createSign("sha256").update("m").sign(c.createPublicKey(rsa))),
      ["TypeError", "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE", "Invalid key object type public, expected private."]);
    assertEquals(errorOf(() => c.sign("nope", msg, rsa)), ["TypeError", "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest: nope"]);
  },

  "poisoned built-ins change nothing"() {
    const saved = {
      iterator: Array.prototype[Symbol.iterator], then: Promise.prototype.then, from: Buffer.from,
      set: Object.getOwnPropertyDescriptor(Object.prototype, "key"),
    };
    const boom = () => {
      throw new Error("patched");
    };
    try {
      Array.prototype[Symbol.iterator] = boom;
      Object.defineProperty(Uint8Array, Symbol.species, { get: boom, configurable: true });
      Object.defineProperty(Object.prototype, "padding", { get: boom, configurable: true });
      Object.defineProperty(Object.prototype, "key", { get: boom, set: boom, configurable: true });
      Buffer.from = boom;
      Buffer.allocUnsafe = boom;
      assertEquals(c.createHash("sha256").update("abc").digest("hex"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      assertEquals(c.createHmac("sha256", "key").update("data").digest("hex"), E.hmac.sha256);
      assertEquals(c.sign(null, msg, V.edPkcs8).toString("base64"), V.sigEd);
      assertEquals(c.randomBytes(4).length, 4);
      assertEquals(c.pbkdf2Sync("password", "salt", 4096, 40, "sha1").toString("hex"), E.pbkdf2[0]);
      assertEquals(c.createPrivateKey(V.ecPkcs8).export({ format: "jwk" }), V.ecJwk);
    } finally {
      Array.prototype[Symbol.iterator] = saved.iterator;
      delete Uint8Array[Symbol.species];
      delete Object.prototype.padding;
      delete Object.prototype.key;
      Buffer.from = saved.from;
    }
  },

  "Proxies, revoked Proxies and throwing conversions are errors"() {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    // As in Node, a revoked Proxy's TypeError is V8's own (describing it throws).
    assertThrows(() => c.createHash("sha256").update(proxy), TypeError);
    for (const bad of [new Proxy(Buffer.from("a"), {}), proxy, { toString: () => { throw new Error("x"); } }]) {
      if (bad !== proxy) {
        assertEquals(assertThrows(() => c.createHash("sha256").update(bad), TypeError).code, "ERR_INVALID_ARG_TYPE");
      }
      assertThrows(() => c.createHmac("sha256", bad), TypeError);
      assertThrows(() => c.createPublicKey(bad), Error);
      assertThrows(() => c.createCipheriv("aes-128-cbc", bad, Buffer.alloc(16)), TypeError);
      assertThrows(() => c.timingSafeEqual(bad, bad), TypeError);
      assertThrows(() => c.sign("sha256", bad, V.edPkcs8), TypeError);
    }
    assertThrows(() => c.createHash(new Proxy({}, { get: () => "sha256" })), TypeError);
    const trap = new Proxy({}, { get() { throw new Error("trap"); } });
    assertEquals(assertThrows(() => c.createPrivateKey(trap)).message, "trap");
    assertEquals(assertThrows(() => c.scryptSync("a", "b", 8, trap)).message, "trap");
    // A worker cannot construct a KeyObject around a handle of its own.
    assertThrows(() => new c.KeyObject("secret", new ArrayBuffer(1)), TypeError);
  },

  "huge sizes are refused, not attempted"() {
    assertThrows(() => c.randomBytes(2 ** 31), RangeError);
    assertThrows(() => c.randomInt(0, 2 ** 53), TypeError);
    assertThrows(() => c.hkdfSync("sha256", "k", "s", "i", 2 ** 31), RangeError);
    assertThrows(() => c.createCipheriv("aes-128-gcm", Buffer.alloc(16), Buffer.alloc(2000)), TypeError);
    // Contexts dropped unfinished are collected: many more than the memory
    // budget could hold at once.
    // Each counts 1 KiB against the 128 MiB budget.
    const key = Buffer.alloc(16);
    const iv = Buffer.alloc(12);
    for (let i = 0; i < 100000; i++) c.createHash("sha256").update("x");
    for (let i = 0; i < 60000; i++) c.createCipheriv("aes-128-gcm", key, iv);
  },
};
