// crypto.DigestStream (Workers' non-standard API,
// https://developers.cloudflare.com/workers/runtime-apis/web-crypto/#constructors):
// a WritableStream that hashes what is written to it, chunk by chunk
// (digest_stream.cc keeps the OpenSSL context), and resolves its `digest`
// promise with the hash as an ArrayBuffer when it is closed; an abort or a
// bad chunk rejects it. Chunks are BufferSources or strings (UTF-8), as on
// Workers; `bytesWritten` counts the bytes hashed, as a BigInt.

const {
  finishInterface, TextEncoder, toUint8Array, TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetByteLength,
  TypedArrayPrototypeGetByteOffset, WritableStream,
} = internals;
const {
  ArrayBufferIsView, BigIntCtor, PromiseCtor, ReflectApply, PromisePrototypeThen, StringPrototypeToUpperCase,
  TypeErrorCtor: TypeError, Uint8ArrayCtor,
} = internals.primordials;
const nativeCreate = native.digestStreamCreate;
const nativeUpdate = native.digestStreamUpdate;
const nativeFinish = native.digestStreamFinish;

const isArrayBuffer = internals.isArrayBuffer;
const encoder = new TextEncoder();
// This file runs on a worker's first use of crypto.DigestStream
// (runtime/js/lazy.js), after it may have patched TextEncoder.prototype.
const encode = internals.lazyOriginals.TextEncoderEncode;
const noop = () => {};

// The algorithm's name (a string, or an object with `name`), as Workers
// accepts it: SHA-1, SHA-256, SHA-384, SHA-512 or MD5, in any case.
const kNames = { __proto__: null, "SHA-1": true, "SHA-256": true, "SHA-384": true, "SHA-512": true, MD5: true };
function normalizeAlgorithm(algorithm) {
  const name = typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm;
  if (typeof name !== "string") {
    throw new TypeError("Failed to construct 'DigestStream': the algorithm must be a string or have a name.");
  }
  const upper = StringPrototypeToUpperCase(name);
  if (kNames[upper] !== true) {
    throw new internals.DOMException(`Unrecognized or unimplemented digest algorithm requested: ${name}`,
      "NotSupportedError");
  }
  return upper;
}

// The bytes of a chunk as a Uint8Array, or a TypeError.
function chunkBytes(chunk) {
  if (typeof chunk === "string") return ReflectApply(encode, encoder, [chunk]);
  if (ArrayBufferIsView(chunk) || isArrayBuffer(chunk)) return toUint8Array(chunk);
  throw new TypeError("DigestStream accepts only ArrayBuffer, ArrayBufferView or string chunks.");
}

// Hashes `bytes` a slice at a time: one native call is one uninterruptible
// stretch of OpenSSL work, and the CPU limit can stop the worker between
// slices (a 100 MB chunk is not one 300 ms call). Returns the bytes hashed.
const kSliceBytes = 1 << 20;
function update(context, bytes) {
  const length = TypedArrayPrototypeGetByteLength(bytes);
  if (length <= kSliceBytes) return nativeUpdate(context, bytes);
  const buffer = TypedArrayPrototypeGetBuffer(bytes);
  const offset = TypedArrayPrototypeGetByteOffset(bytes);
  let hashed = 0;
  for (let at = 0; at < length; at += kSliceBytes) {
    const size = length - at < kSliceBytes ? length - at : kSliceBytes;
    hashed += nativeUpdate(context, new Uint8ArrayCtor(buffer, offset + at, size));
  }
  return hashed;
}

class DigestStream extends WritableStream {
  #bytesWritten = 0n;
  #digest;

  constructor(algorithm) {
    internals.requireArguments(arguments.length, 1, "Failed to construct 'DigestStream'");
    const name = normalizeAlgorithm(algorithm);
    let context = nativeCreate(name);
    let resolve;
    let reject;
    const digest = new PromiseCtor((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A rejected digest nobody awaits is not an unhandled rejection: the
    // stream's own promises report the failure.
    PromisePrototypeThen(digest, undefined, noop);
    let self;
    const fail = (reason) => {
      context = undefined;
      reject(reason);
    };
    super({
      __proto__: null,
      write(chunk) {
        if (context === undefined) throw new TypeError("The DigestStream is closed.");
        let hashed;
        try {
          hashed = update(context, chunkBytes(chunk));
        } catch (error) {
          fail(error);
          throw error;
        }
        self.#bytesWritten += BigIntCtor(hashed);
      },
      close() {
        const finished = nativeFinish(context);
        context = undefined;
        resolve(TypedArrayPrototypeGetBuffer(finished));
      },
      abort(reason) {
        fail(reason);
      },
    });
    self = this;
    this.#digest = digest;
  }

  get digest() {
    return this.#digest;
  }

  get bytesWritten() {
    return this.#bytesWritten;
  }
}
finishInterface(DigestStream);

// crypto.DigestStream (runtime/js/globals.js).
internals.DigestStream = DigestStream;
