// node:stream/web — the runtime's Web Streams classes under Node's module
// name (they are the globals of the same names).
// https://nodejs.org/api/webstreams.html

return {
  __proto__: null,
  ReadableStream: internals.ReadableStream,
  ReadableStreamDefaultReader: internals.ReadableStreamDefaultReader,
  ReadableStreamBYOBReader: internals.ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest: internals.ReadableStreamBYOBRequest,
  ReadableByteStreamController: internals.ReadableByteStreamController,
  ReadableStreamDefaultController: internals.ReadableStreamDefaultController,
  TransformStream: internals.TransformStream,
  TransformStreamDefaultController: internals.TransformStreamDefaultController,
  WritableStream: internals.WritableStream,
  WritableStreamDefaultWriter: internals.WritableStreamDefaultWriter,
  WritableStreamDefaultController: internals.WritableStreamDefaultController,
  ByteLengthQueuingStrategy: internals.ByteLengthQueuingStrategy,
  CountQueuingStrategy: internals.CountQueuingStrategy,
  TextEncoderStream: internals.TextEncoderStream,
  TextDecoderStream: internals.TextDecoderStream,
  CompressionStream: internals.CompressionStream,
  DecompressionStream: internals.DecompressionStream,
};
