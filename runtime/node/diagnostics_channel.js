// node:diagnostics_channel — Node.js's named channels: subscribe,
// unsubscribe, publish, hasSubscribers, channel(), and TracingChannel
// (traceSync, tracePromise, traceCallback over start/end/asyncStart/
// asyncEnd/error channels). Channels are per isolate. bindStore/runStores
// set AsyncLocalStorage stores (node:async_hooks) around a publish.
// https://nodejs.org/api/diagnostics_channel.html

const { ReflectApply, ArrayPrototypeIndexOf, PromisePrototypeThen, SafeMap } = internals.primordials;
const errors = require("internal/errors");
const { validateFunction } = require("internal/validators");

const channels = new SafeMap();

class Channel {
  constructor(name) {
    this._subscribers = [];
    this._stores = [];
    this.name = name;
  }

  get hasSubscribers() {
    return this._subscribers.length > 0 || this._stores.length > 0;
  }

  subscribe(subscription) {
    validateFunction(subscription, "subscription");
    // A copy: a subscriber that unsubscribes while publishing does not
    // skip the next one.
    this._subscribers = [...this._subscribers, subscription];
  }

  unsubscribe(subscription) {
    const index = ArrayPrototypeIndexOf(this._subscribers, subscription);
    if (index === -1) return false;
    const copy = [...this._subscribers];
    copy.splice(index, 1);
    this._subscribers = copy;
    return true;
  }

  bindStore(store, transform) {
    this._stores = [...this._stores, { store, transform }];
  }

  unbindStore(store) {
    const before = this._stores.length;
    this._stores = this._stores.filter((entry) => entry.store !== store);
    return this._stores.length !== before;
  }

  publish(data) {
    const subscribers = this._subscribers;
    for (let i = 0; i < subscribers.length; i++) {
      try {
        ReflectApply(subscribers[i], undefined, [data, this.name]);
      } catch (err) {
        // As Node: a throwing subscriber is reported, the others still run.
        internals.queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  // fn runs (after the publish) with each bound store set to its
  // transform of `data` (or `data`).
  runStores(data, fn, thisArg, ...args) {
    let run = () => {
      this.publish(data);
      return ReflectApply(fn, thisArg, args);
    };
    const stores = this._stores;
    for (let i = stores.length - 1; i >= 0; i--) {
      const { store, transform } = stores[i];
      const inner = run;
      const value = typeof transform === "function" ? transform(data) : data;
      run = () => store.run(value, inner);
    }
    return run();
  }
}

function channel(name) {
  if (typeof name !== "string" && typeof name !== "symbol") {
    throw errors.ERR_INVALID_ARG_TYPE("channel", ["string", "symbol"], name);
  }
  let existing = channels.get(name);
  if (existing === undefined) {
    existing = new Channel(name);
    channels.set(name, existing);
  }
  return existing;
}

function hasSubscribers(name) {
  const existing = channels.get(name);
  return existing !== undefined && existing.hasSubscribers;
}

function subscribe(name, subscription) {
  channel(name).subscribe(subscription);
}

function unsubscribe(name, subscription) {
  return channel(name).unsubscribe(subscription);
}

const traceEvents = ["start", "end", "asyncStart", "asyncEnd", "error"];

class TracingChannel {
  constructor(nameOrChannels) {
    if (typeof nameOrChannels === "string") {
      for (let i = 0; i < traceEvents.length; i++) {
        this[traceEvents[i]] = channel(`tracing:${nameOrChannels}:${traceEvents[i]}`);
      }
    } else if (typeof nameOrChannels === "object" && nameOrChannels !== null) {
      for (let i = 0; i < traceEvents.length; i++) {
        const value = nameOrChannels[traceEvents[i]];
        if (!(value instanceof Channel)) {
          throw errors.ERR_INVALID_ARG_TYPE(`nameOrChannels.${traceEvents[i]}`, "Channel", value);
        }
        this[traceEvents[i]] = value;
      }
    } else {
      throw errors.ERR_INVALID_ARG_TYPE("nameOrChannels", ["string", "object", "Channel"], nameOrChannels);
    }
  }

  get hasSubscribers() {
    return traceEvents.some((name) => this[name].hasSubscribers);
  }

  subscribe(handlers) {
    for (let i = 0; i < traceEvents.length; i++) {
      if (handlers[traceEvents[i]]) this[traceEvents[i]].subscribe(handlers[traceEvents[i]]);
    }
  }

  unsubscribe(handlers) {
    let done = true;
    for (let i = 0; i < traceEvents.length; i++) {
      if (handlers[traceEvents[i]] && !this[traceEvents[i]].unsubscribe(handlers[traceEvents[i]])) done = false;
    }
    return done;
  }

  traceSync(fn, context = {}, thisArg, ...args) {
    if (!this.hasSubscribers) return ReflectApply(fn, thisArg, args);
    const { start, end, error } = this;
    start.publish(context);
    try {
      const result = ReflectApply(fn, thisArg, args);
      context.result = result;
      return result;
    } catch (err) {
      context.error = err;
      error.publish(context);
      throw err;
    } finally {
      end.publish(context);
    }
  }

  tracePromise(fn, context = {}, thisArg, ...args) {
    if (!this.hasSubscribers) return ReflectApply(fn, thisArg, args);
    const { start, end, asyncStart, asyncEnd, error } = this;
    const reject = (err) => {
      context.error = err;
      error.publish(context);
      asyncStart.publish(context);
      asyncEnd.publish(context);
      throw err;
    };
    const resolve = (result) => {
      context.result = result;
      asyncStart.publish(context);
      asyncEnd.publish(context);
      return result;
    };
    start.publish(context);
    try {
      const promise = ReflectApply(fn, thisArg, args);
      return PromisePrototypeThen(Promise.resolve(promise), resolve, reject);
    } catch (err) {
      context.error = err;
      error.publish(context);
      throw err;
    } finally {
      end.publish(context);
    }
  }

  traceCallback(fn, position = -1, context = {}, thisArg, ...args) {
    if (!this.hasSubscribers) return ReflectApply(fn, thisArg, args);
    const { start, end, asyncStart, asyncEnd, error } = this;
    const callback = args.at(position);
    validateFunction(callback, "callback");
    function wrapped(err, result) {
      if (err) {
        context.error = err;
        error.publish(context);
      } else {
        context.result = result;
      }
      asyncStart.publish(context);
      try {
        return ReflectApply(callback, this, arguments);
      } finally {
        asyncEnd.publish(context);
      }
    }
    args.splice(position < 0 ? args.length + position : position, 1, wrapped);
    start.publish(context);
    try {
      return ReflectApply(fn, thisArg, args);
    } catch (err) {
      context.error = err;
      error.publish(context);
      throw err;
    } finally {
      end.publish(context);
    }
  }
}

function tracingChannel(nameOrChannels) {
  return new TracingChannel(nameOrChannels);
}

return {
  channel,
  hasSubscribers,
  subscribe,
  unsubscribe,
  tracingChannel,
  Channel,
};
