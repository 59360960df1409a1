// CompressionStream and DecompressionStream (https://compression.spec.whatwg.org/)
// for "gzip", "deflate" and "deflate-raw": TransformStreams whose algorithms
// feed one zlib stream each (native.zlibOpen/zlibWrite/zlibFinish/zlibPull/
// zlibClose, runtime/compression/compression.cc). Runs after encoding.js and
// streams_transform.js.
//
// Output is pulled from zlib in slices of at most 64 KiB, and the next slice
// is made only once the reader has taken the one before (the readable side's
// backpressure): a small input that expands to gigabytes is never held
// whole, and each slice counts against the worker's memory budget.

const {
  finishInterface, inspectSymbol, inspectNamed, brandCheck, requireArguments, isObject, toUint8Array,
  isSharedArrayBuffer, TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetLength,
} = internals;
const {
  setUpTransformStream,
  transformStreamDefaultControllerEnqueue,
  transformPromise,
  resolvedUndefined,
  readableStreamDefaultControllerCanCloseOrEnqueue,
} = internals.streams;

const zlibOpen = native.zlibOpen;
const zlibWrite = native.zlibWrite;
const zlibFinish = native.zlibFinish;
const zlibPull = native.zlibPull;
const zlibClose = native.zlibClose;

const formats = ["brotli", "deflate", "deflate-raw", "gzip"];

function convertFormat(format, interfaceName, argumentCount) {
  requireArguments(argumentCount, 1, `Failed to construct '${interfaceName}'`);
  const value = `${format}`;
  if (!formats.includes(value)) {
    throw new TypeError(
      `Failed to construct '${interfaceName}': The provided value '${value}' is not a valid enum value of type CompressionFormat.`,
    );
  }
  return value;
}

// Sets up the TransformStream behind a CompressionStream (compress = true)
// or a DecompressionStream.
function setUpZlibTransform(compress, format, interfaceName) {
  const handle = zlibOpen(compress, format);
  // Enqueues the output zlib has for the input given so far. A slice is
  // pulled before waiting, so output that fits in one slice is enqueued at
  // once (a write then settles as soon as its input is consumed); once the
  // readable side has backpressure, the next slice waits for a read. If the
  // readable side was cancelled or errored meanwhile, the rest is dropped.
  const pump = () => {
    for (;;) {
      const slice = zlibPull(handle);
      if (slice === undefined) return resolvedUndefined();
      if (TypedArrayPrototypeGetLength(slice) === 0) continue;  // input read, no output yet
      if (transform.backpressure) {
        return transformPromise(transform.backpressureChangePromise.promise, () => {
          if (!readableStreamDefaultControllerCanCloseOrEnqueue(transform.readable.controller)) {
            zlibClose(handle);
            return undefined;
          }
          transformStreamDefaultControllerEnqueue(transform.controller, slice);
          return pump();
        });
      }
      transformStreamDefaultControllerEnqueue(transform.controller, slice);
    }
  };
  const transform = setUpTransformStream(
    (chunk) => {
      // A BufferSource, not [AllowShared]: memory shared with another
      // thread could change under the compressor.
      const bytes = toUint8Array(chunk);
      if (bytes === undefined || isSharedArrayBuffer(TypedArrayPrototypeGetBuffer(bytes))) {
        zlibClose(handle);
        throw new TypeError(
          `Failed to execute 'transform' on '${interfaceName}': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.`,
        );
      }
      zlibWrite(handle, bytes);
      return pump();
    },
    () => {
      zlibFinish(handle);
      return pump();
    },
    () => {
      zlibClose(handle);
    },
  );
  return transform;
}

// The two interfaces differ only in their name and the zlib direction.
function zlibStreamInterface(name, compress) {
  let checkTransform;
  // A computed key names the class `name`.
  const C = {
    [name]: class {
      #transform;
      #format;

      constructor(format) {
        const value = convertFormat(format, name, arguments.length);
        this.#transform = setUpZlibTransform(compress, value, name);
        this.#format = value;
      }

      get readable() {
        return checkTransform(this).readable.wrapper;
      }

      get writable() {
        return checkTransform(this).writable.wrapper;
      }

      [inspectSymbol]() {
        return inspectNamed(name, {
          format: this.#format,
          readable: this.#transform.readable.wrapper,
          writable: this.#transform.writable.wrapper,
        });
      }

      static {
        checkTransform = brandCheck((value) => (isObject(value) && #transform in value ? value.#transform : undefined));
      }
    },
  }[name];
  finishInterface(C);
  return C;
}

const CompressionStream = zlibStreamInterface("CompressionStream", true);
const DecompressionStream = zlibStreamInterface("DecompressionStream", false);

internals.CompressionStream = CompressionStream;
internals.DecompressionStream = DecompressionStream;
// For node:zlib (runtime/node/zlib.js), which shares these natives.
internals.zlibNatives = internals.primordials.ObjectFreeze({
  __proto__: null,
  open: native.zlibOpen,
  write: zlibWrite,
  finish: zlibFinish,
  flush: native.zlibFlush,
  pull: zlibPull,
  errorInfo: native.zlibErrorInfo,
  close: zlibClose,
  params: native.zlibParams,
  versionNumber: native.zlibVersionNumber,
  crc32: native.zlibCrc32,
});
