// node:stream's Duplex (a Readable that is also a Writable), Transform (a
// Duplex whose output is computed from its input) and PassThrough.
// https://nodejs.org/api/stream.html#duplex-and-transform-streams

const { ObjectDefineProperty, ObjectKeys, ObjectSetPrototypeOf, ReflectApply, ObjectGetOwnPropertyDescriptor } =
  internals.primordials;
const errors = require("internal/errors");
const { Stream } = require("internal/streams/legacy");
const { Readable, ReadableState, readableConstructed } = require("internal/streams/readable");
const { Writable, WritableState, writableProperties, defineProperties, writableConstructed } =
  require("internal/streams/writable");
const end = require("internal/streams/end");
const { nextTick, getHighWaterMark, kIsDuplex } = end;

function Duplex(options) {
  if (!(this instanceof Duplex)) return new Duplex(options);
  this._readableState = new ReadableState(options, this, true);
  this._writableState = new WritableState(options, this, true);
  if (options) {
    this.allowHalfOpen = options.allowHalfOpen !== false;
    if (options.readable === false) {
      this._readableState.readable = false;
      this._readableState.ended = true;
      this._readableState.endEmitted = true;
    }
    if (options.writable === false) {
      this._writableState.writable = false;
      this._writableState.ending = true;
      this._writableState.ended = true;
      this._writableState.finished = true;
    }
    if (typeof options.read === "function") this._read = options.read;
    if (typeof options.write === "function") this._write = options.write;
    if (typeof options.writev === "function") this._writev = options.writev;
    if (typeof options.destroy === "function") this._destroy = options.destroy;
    if (typeof options.final === "function") this._final = options.final;
    if (typeof options.construct === "function") this._construct = options.construct;
    if (options.signal) end.addAbortSignal(options.signal, this);
  } else {
    this.allowHalfOpen = true;
  }
  ReflectApply(Stream, this, [options]);
  end.construct(this, () => {
    readableConstructed(this);
    writableConstructed(this);
  });
}
ObjectSetPrototypeOf(Duplex.prototype, Readable.prototype);
ObjectSetPrototypeOf(Duplex, Readable);
Duplex.prototype[kIsDuplex] = true;

// Writable's methods, and its properties except those Readable has too.
{
  const names = ObjectKeys(Writable.prototype);
  for (let i = 0; i < names.length; i++) {
    const method = names[i];
    if (!Duplex.prototype[method]) Duplex.prototype[method] = Writable.prototype[method];
  }
  const methods = ["write", "cork", "uncork", "setDefaultEncoding", "end", "_write"];
  for (let i = 0; i < methods.length; i++) Duplex.prototype[methods[i]] = Writable.prototype[methods[i]];
  Duplex.prototype._writev = null;
  const own = [];
  const keys = ObjectKeys(writableProperties);
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] !== "destroyed" && keys[i] !== "closed" && keys[i] !== "errored") own.push(keys[i]);
  }
  defineProperties(Duplex.prototype, writableProperties, own);
}

// Both sides: destroyed/closed/errored read either state.
function duplexGetter(name, get, set) {
  ObjectDefineProperty(Duplex.prototype, name, { __proto__: null, get, set, enumerable: false, configurable: true });
}
duplexGetter("destroyed", function get() {
  if (this._readableState === undefined || this._writableState === undefined) return false;
  return this._readableState.destroyed && this._writableState.destroyed;
}, function set(value) {
  if (this._readableState && this._writableState) {
    this._readableState.destroyed = value;
    this._writableState.destroyed = value;
  }
});
duplexGetter("closed", function get() {
  return !!(this._readableState?.closed && this._writableState?.closed);
});
duplexGetter("errored", function get() {
  return this._readableState?.errored ?? this._writableState?.errored ?? null;
});

// Writable.prototype.destroy fails buffered writes, then destroys.
Duplex.prototype.destroy = Writable.prototype.destroy;

// ---- Transform ----------------------------------------------------------

const kCallback = Symbol("kCallback");

function Transform(options) {
  if (!(this instanceof Transform)) return new Transform(options);
  // With a readable high-water mark of 0, the writable side buffers
  // nothing either (else the stream would hold twice what it was told).
  const readableHighWaterMark = options ? getHighWaterMark(options, "readableHighWaterMark", true, false) : null;
  if (readableHighWaterMark === 0) {
    options = { ...options, highWaterMark: null, readableHighWaterMark, writableHighWaterMark: options.writableHighWaterMark || 0 };
  }
  ReflectApply(Duplex, this, [options]);
  this._readableState.sync = false;
  this[kCallback] = null;
  if (options) {
    if (typeof options.transform === "function") this._transform = options.transform;
    if (typeof options.flush === "function") this._flush = options.flush;
  }
  this.on("prefinish", transformPrefinish);
}
ObjectSetPrototypeOf(Transform.prototype, Duplex.prototype);
ObjectSetPrototypeOf(Transform, Duplex);

// _flush, then the end of the readable side.
function transformFinal(cb) {
  if (typeof this._flush === "function" && !this.destroyed) {
    this._flush((er, data) => {
      if (er) {
        if (cb) cb(er);
        else this.destroy(er);
        return;
      }
      if (data != null) this.push(data);
      this.push(null);
      if (cb) cb();
    });
  } else {
    this.push(null);
    if (cb) cb();
  }
}

function transformPrefinish() {
  if (this._final !== transformFinal) ReflectApply(transformFinal, this, []);
}

Transform.prototype._final = transformFinal;

Transform.prototype._transform = function _transform() {
  throw errors.ERR_METHOD_NOT_IMPLEMENTED("_transform()");
};

Transform.prototype._write = function _write(chunk, encoding, callback) {
  const rState = this._readableState;
  const wState = this._writableState;
  const length = rState.length;
  this._transform(chunk, encoding, (err, val) => {
    if (err) {
      callback(err);
      return;
    }
    if (val != null) this.push(val);
    if (rState.ended) {
      nextTick(callback);
    } else if (wState.ended || length === rState.length || rState.length < rState.highWaterMark) {
      callback();
    } else {
      // The readable side is full: the next write waits for a read.
      this[kCallback] = callback;
    }
  });
};

Transform.prototype._read = function _read() {
  if (this[kCallback]) {
    const callback = this[kCallback];
    this[kCallback] = null;
    callback();
  }
};

function PassThrough(options) {
  if (!(this instanceof PassThrough)) return new PassThrough(options);
  ReflectApply(Transform, this, [options]);
}
ObjectSetPrototypeOf(PassThrough.prototype, Transform.prototype);
ObjectSetPrototypeOf(PassThrough, Transform);
PassThrough.prototype._transform = function _transform(chunk, encoding, cb) {
  cb(null, chunk);
};

void ObjectGetOwnPropertyDescriptor;
return { __proto__: null, Duplex, Transform, PassThrough };
