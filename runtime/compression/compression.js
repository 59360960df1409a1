// CompressionStream and DecompressionStream (https://compression.spec.whatwg.org/)
// for "gzip", "deflate" and "deflate-raw": TransformStreams whose algorithms
// feed one zlib stream each (native.zlibOpen/zlibWrite/zlibFinish/zlibClose,
// runtime/compression/compression.cc). Runs after encoding.js and streams_transform.js.

const { finishInterface, inspectSymbol, inspectNamed, toUint8Array } = internals;
const { isObject, setUpTransformStream, transformStreamDefaultControllerEnqueue } = internals.streams;

const zlibOpen = native.zlibOpen;
const zlibWrite = native.zlibWrite;
const zlibFinish = native.zlibFinish;
const zlibClose = native.zlibClose;

const formats = ["deflate", "deflate-raw", "gzip"];

function convertFormat(format, interfaceName, argumentCount) {
  if (argumentCount < 1) {
    throw new TypeError(
      `Failed to construct '${interfaceName}': 1 argument required, but only 0 present.`,
    );
  }
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
  const enqueueAll = (chunks) => {
    for (let i = 0; i < chunks.length; i++) {
      transformStreamDefaultControllerEnqueue(transform.controller, chunks[i]);
    }
  };
  const transform = setUpTransformStream(
    (chunk) => {
      const bytes = toUint8Array(chunk);
      if (bytes === undefined) {
        zlibClose(handle);
        throw new TypeError(
          `Failed to execute 'transform' on '${interfaceName}': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.`,
        );
      }
      enqueueAll(zlibWrite(handle, bytes));
    },
    () => {
      enqueueAll(zlibFinish(handle));
    },
    () => {
      zlibClose(handle);
    },
  );
  return transform;
}

let getCompressionTransform;

class CompressionStream {
  #transform;
  #format;

  constructor(format) {
    const value = convertFormat(format, "CompressionStream", arguments.length);
    this.#transform = setUpZlibTransform(true, value, "CompressionStream");
    this.#format = value;
  }

  get readable() {
    return getCompressionTransform(this).readable.wrapper;
  }

  get writable() {
    return getCompressionTransform(this).writable.wrapper;
  }

  [inspectSymbol]() {
    return inspectNamed("CompressionStream", {
      format: this.#format,
      readable: this.#transform.readable.wrapper,
      writable: this.#transform.writable.wrapper,
    });
  }

  static {
    getCompressionTransform = (value) => {
      if (isObject(value) && #transform in value) return value.#transform;
      throw new TypeError("Illegal invocation");
    };
  }
}
finishInterface(CompressionStream);

let getDecompressionTransform;

class DecompressionStream {
  #transform;
  #format;

  constructor(format) {
    const value = convertFormat(format, "DecompressionStream", arguments.length);
    this.#transform = setUpZlibTransform(false, value, "DecompressionStream");
    this.#format = value;
  }

  get readable() {
    return getDecompressionTransform(this).readable.wrapper;
  }

  get writable() {
    return getDecompressionTransform(this).writable.wrapper;
  }

  [inspectSymbol]() {
    return inspectNamed("DecompressionStream", {
      format: this.#format,
      readable: this.#transform.readable.wrapper,
      writable: this.#transform.writable.wrapper,
    });
  }

  static {
    getDecompressionTransform = (value) => {
      if (isObject(value) && #transform in value) return value.#transform;
      throw new TypeError("Illegal invocation");
    };
  }
}
finishInterface(DecompressionStream);

internals.CompressionStream = CompressionStream;
internals.DecompressionStream = DecompressionStream;
