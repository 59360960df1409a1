// TextEncoderStream and TextDecoderStream (https://encoding.spec.whatwg.org/#interface-textencoderstream),
// UTF-8 only: TransformStreams set up with the encoding.js machinery. Runs
// after encoding.js and the stream files (streams_transform.js).

const {
  finishInterface, inspectSymbol, inspectNamed, brandCheck, isObject, utf8Encode, toUint8Array,
  TextDecoder,
} = internals;
const { setUpTransformStream, transformStreamDefaultControllerEnqueue } = internals.streams;

const { ObjectFreeze, ReflectApply, StringPrototypeCharCodeAt, StringPrototypeSlice } = internals.primordials;
// This file runs on a worker's first use of TextEncoderStream or
// TextDecoderStream (runtime/js/lazy.js), after it may have patched
// TextDecoder.prototype.
const {
  TextDecoderDecode: TextDecoderPrototypeDecode, TextDecoderFatal: TextDecoderFatalGetter,
  TextDecoderIgnoreBOM: TextDecoderIgnoreBOMGetter,
} = internals.lazyOriginals;
const streamOption = ObjectFreeze({ __proto__: null, stream: true });

let getEncoderTransform;
let getDecoder;
let getDecoderTransform;

class TextEncoderStream {
  #transform;

  constructor() {
    // The encoder's leading surrogate: a high surrogate that ended the last
    // chunk, waiting for the low surrogate that may start the next one.
    let leadingSurrogate = "";
    const enqueue = (chunk) => transformStreamDefaultControllerEnqueue(transform.controller, chunk);
    const transform = setUpTransformStream(
      (chunk) => {
        let input = `${chunk}`;
        if (leadingSurrogate !== "") {
          input = leadingSurrogate + input;
          leadingSurrogate = "";
        }
        const last = input.length - 1;
        if (last >= 0) {
          const unit = StringPrototypeCharCodeAt(input, last);
          if (unit >= 0xd800 && unit <= 0xdbff) {
            leadingSurrogate = StringPrototypeSlice(input, last);
            input = StringPrototypeSlice(input, 0, last);
          }
        }
        // Lone surrogates left in `input` become U+FFFD.
        if (input.length !== 0) enqueue(utf8Encode(input));
      },
      () => {
        if (leadingSurrogate !== "") {
          leadingSurrogate = "";
          enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
        }
      },
    );
    this.#transform = transform;
  }

  get encoding() {
    getEncoderTransform(this);
    return "utf-8";
  }

  get readable() {
    return getEncoderTransform(this).readable.wrapper;
  }

  get writable() {
    return getEncoderTransform(this).writable.wrapper;
  }

  [inspectSymbol]() {
    const transform = this.#transform;
    return inspectNamed("TextEncoderStream", {
      encoding: "utf-8",
      readable: transform.readable.wrapper,
      writable: transform.writable.wrapper,
    });
  }

  static {
    getEncoderTransform = brandCheck((value) => (isObject(value) && #transform in value ? value.#transform : undefined));
  }
}
finishInterface(TextEncoderStream);

class TextDecoderStream {
  #decoder;
  #transform;

  constructor(label = "utf-8", options = undefined) {
    let decoder;
    try {
      decoder = new TextDecoder(label, options);
    } catch (e) {
      throw e instanceof RangeError
        ? new RangeError(`Failed to construct 'TextDecoderStream': The encoding label provided ('${label}') is invalid.`)
        : e;
    }
    const enqueue = (chunk) => transformStreamDefaultControllerEnqueue(transform.controller, chunk);
    const transform = setUpTransformStream(
      (chunk) => {
        const bytes = toUint8Array(chunk);
        if (bytes === undefined) {
          throw new TypeError(
            "Failed to execute 'transform' on 'TextDecoderStream': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.",
          );
        }
        const output = ReflectApply(TextDecoderPrototypeDecode, decoder, [bytes, streamOption]);
        if (output.length !== 0) enqueue(output);
      },
      () => {
        const output = ReflectApply(TextDecoderPrototypeDecode, decoder, []);
        if (output.length !== 0) enqueue(output);
      },
    );
    this.#decoder = decoder;
    this.#transform = transform;
  }

  get encoding() {
    return getDecoder(this).encoding;
  }

  get fatal() {
    return ReflectApply(TextDecoderFatalGetter, getDecoder(this), []);
  }

  get ignoreBOM() {
    return ReflectApply(TextDecoderIgnoreBOMGetter, getDecoder(this), []);
  }

  get readable() {
    return getDecoderTransform(this).readable.wrapper;
  }

  get writable() {
    return getDecoderTransform(this).writable.wrapper;
  }

  [inspectSymbol]() {
    const transform = this.#transform;
    return inspectNamed("TextDecoderStream", {
      encoding: this.encoding,
      fatal: this.fatal,
      ignoreBOM: this.ignoreBOM,
      readable: transform.readable.wrapper,
      writable: transform.writable.wrapper,
    });
  }

  static {
    const check = brandCheck((value) => (isObject(value) && #decoder in value ? value : undefined));
    getDecoder = (value) => check(value).#decoder;
    getDecoderTransform = (value) => check(value).#transform;
  }
}
finishInterface(TextDecoderStream);

internals.TextEncoderStream = TextEncoderStream;
internals.TextDecoderStream = TextDecoderStream;
