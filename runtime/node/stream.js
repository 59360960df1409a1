// node:stream — Node.js's streams: Readable, Writable, Duplex, Transform,
// PassThrough, pipeline, finished, addAbortSignal, duplexPair, the Web
// Streams adapters (fromWeb/toWeb), and the legacy Stream as the module
// itself.
// https://nodejs.org/api/stream.html
//
// The pieces live in internal_streams_*.js: end (destroy, finished, the
// questions asked of a stream), legacy, readable, writable, duplex
// (Duplex, Transform, PassThrough), adapters (Web Streams, Duplex.from),
// pipeline.

const { ObjectDefineProperty, ReflectApply } = internals.primordials;
const { Stream } = require("internal/streams/legacy");
const { Readable } = require("internal/streams/readable");
const { Writable } = require("internal/streams/writable");
const { Duplex, Transform, PassThrough } = require("internal/streams/duplex");
const adapters = require("internal/streams/adapters");
const { pipeline, pipelinePromise } = require("internal/streams/pipeline");
const end = require("internal/streams/end");
const { Buffer } = require("buffer");
const { FastBuffer, isUint8Array } = internals.nodeBuffer;

Readable.fromWeb = adapters.readableFromWeb;
Readable.toWeb = adapters.readableToWeb;
Writable.fromWeb = adapters.writableFromWeb;
Writable.toWeb = adapters.writableToWeb;
Duplex.fromWeb = adapters.duplexFromWeb;
Duplex.toWeb = adapters.duplexToWeb;
Duplex.from = adapters.duplexFrom;

const promises = { __proto__: null, pipeline: pipelinePromise, finished: end.finishedPromise };
ObjectDefineProperty(pipeline, Symbol.for("nodejs.util.promisify.custom"), {
  __proto__: null, value: pipelinePromise, enumerable: false, configurable: true, writable: true,
});

// Two Duplexes joined back to back: what one is written, the other reads.
const kOtherSide = Symbol("kOtherSide");
const kCallback = Symbol("kCallback");
function DuplexSide(options) {
  ReflectApply(Duplex, this, [options]);
  this[kOtherSide] = null;
  this[kCallback] = null;
}
Object.setPrototypeOf(DuplexSide.prototype, Duplex.prototype);
Object.setPrototypeOf(DuplexSide, Duplex);
DuplexSide.prototype._read = function _read() {
  const callback = this[kCallback];
  if (callback) {
    this[kCallback] = null;
    callback();
  }
};
DuplexSide.prototype._write = function _write(chunk, encoding, callback) {
  if (chunk.length === 0) {
    end.nextTick(callback);
  } else {
    this[kOtherSide].push(chunk);
    this[kOtherSide][kCallback] = callback;
  }
};
DuplexSide.prototype._final = function _final(callback) {
  this[kOtherSide].on("end", callback);
  this[kOtherSide].push(null);
};
function duplexPair(options) {
  const side0 = new DuplexSide(options);
  const side1 = new DuplexSide(options);
  side0[kOtherSide] = side1;
  side1[kOtherSide] = side0;
  return [side0, side1];
}

Stream.isDestroyed = end.isDestroyed;
Stream.isDisturbed = end.isDisturbed;
Stream.isErrored = end.isErrored;
Stream.isReadable = end.isReadable;
Stream.isWritable = end.isWritable;
Stream.Readable = Readable;
Stream.Writable = Writable;
Stream.Duplex = Duplex;
Stream.Transform = Transform;
Stream.PassThrough = PassThrough;
Stream.duplexPair = duplexPair;
Stream.pipeline = pipeline;
Stream.addAbortSignal = end.addAbortSignal;
Stream.finished = end.finished;
Stream.destroy = end.destroyer;
Stream.setDefaultHighWaterMark = end.setDefaultHighWaterMark;
Stream.getDefaultHighWaterMark = end.getDefaultHighWaterMark;
ObjectDefineProperty(Stream, "promises", {
  __proto__: null, configurable: true, enumerable: true, get: () => promises,
});
Stream.Stream = Stream;
Stream._isArrayBufferView = ArrayBuffer.isView;
Stream._isUint8Array = isUint8Array;
Stream._uint8ArrayToBuffer = (chunk) => new FastBuffer(internals.TypedArrayPrototypeGetBuffer(chunk),
  internals.TypedArrayPrototypeGetByteOffset(chunk), internals.TypedArrayPrototypeGetByteLength(chunk));

internals.nodeStreamPromises = promises;
void Buffer;
return Stream;
