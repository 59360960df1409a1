// CompressionStream and DecompressionStream (https://compression.spec.whatwg.org/)
// for "gzip", "deflate" and "deflate-raw": TransformStreams whose algorithms
// feed one zlib stream each (native.zlibOpen/zlibWrite/zlibFinish/zlibClose,
// runtime/compression/compression.cc). Runs after encoding.js and streams_transform.js.

const { finishInterface, inspectSymbol, inspectNamed, brandCheck, requireArguments, isObject, toUint8Array } =
  internals;
const { setUpTransformStream, transformStreamDefaultControllerEnqueue } = internals.streams;

const zlibOpen = native.zlibOpen;
const zlibWrite = native.zlibWrite;
const zlibFinish = native.zlibFinish;
const zlibClose = native.zlibClose;

const formats = ["deflate", "deflate-raw", "gzip"];

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
