// Invocations: one call of the worker's handler and everything it starts.
// internals.beginInvocation() makes one for a call (dispatch.js) and makes it
// current; V8 carries the current one along promise reactions (the context's
// continuation-preserved embedder data, behind native.currentInvocation and
// native.setCurrentInvocation in runtime/runtime_natives.cc), so code that runs
// after any number of awaits still knows the invocation it belongs to. Timers
// (timers.js) take it along with runInInvocation.
//
// An invocation has its console lines' response id (console.js, event.js),
// its subrequest count and limit (fetch.js), and the work it holds open
// (fetches): when it ends, what it still holds is told to stop.

// The bookkeeping uses built-ins captured before tenant code runs
// (runtime/js/primordials.js).
const { MapPrototypeDelete, MapPrototypeForEach, MapPrototypeSet, ReflectApply, SafeMap } = internals.primordials;

const hasNatives = typeof native.setCurrentInvocation === "function";
const nativeCurrentInvocation = native.currentInvocation;
const nativeSetCurrentInvocation = native.setCurrentInvocation;

const nativeInvocationBegin = native.invocationBegin;
const nativeInvocationCount = native.invocationCount;
const nativeInvocationInfo = native.invocationInfo;
const nativeInvocationEnd = native.invocationEnd;

// Class fields (not assignments) so that no setter a tenant put on
// Object.prototype sees an invocation. Its subrequest count, limit, request
// chain and whether it ended are kept in C++ (IsolateData::Invocation), by
// `key`: natives (serviceFetch) read them from there, never from here.
class Invocation {
  key;
  responseId; // where its console lines are collected
  // What it holds open -> called with it when the invocation ends; made on
  // the first hold (most requests hold nothing open).
  open = undefined;
  endCalled = false;
  // dispatch.js's lifetime record of a request or event (responded,
  // waitUntil count, deadline); a field rather than a WeakMap entry, which
  // V8's young-generation GC would treat as strong and so promote every
  // invocation's objects to the old generation.
  lifetime = undefined;

  constructor(key, responseId) {
    this.key = key;
    this.responseId = responseId;
  }

  get subrequests() {
    return hasNatives ? nativeInvocationInfo(this.key)[0] : 0;
  }
  get limit() {
    return hasNatives ? nativeInvocationInfo(this.key)[1] : 0;
  }
  // Its response ended and its waitUntil work settled (or endInvocation).
  get ended() {
    return hasNatives ? nativeInvocationInfo(this.key)[2] : this.endCalled;
  }
}

// The subrequest limit of an invocation begun without one. fetch.js, whose
// natives know the worker's limit, sets it.
let defaultSubrequestLimit = () => 50;
internals.setDefaultSubrequestLimit = (limit) => {
  defaultSubrequestLimit = limit;
};

// What V8 carries along promise reactions may also be an async context
// frame: node:async_hooks' AsyncLocalStorage stores (runtime/node/
// async_hooks.js) with the invocation they run in. A frame is made anew, with
// the invocation current at that moment, each time stores are entered, so
// stores never carry code into another invocation. Its `key` is the
// invocation's (IsolateData::CurrentInvocationKey reads it from C++).
class AsyncContextFrame {
  key;
  invocation;
  stores; // a SafeMap: AsyncLocalStorage -> its value; never changed once made

  constructor(invocation, stores) {
    this.key = invocation === undefined ? 0 : invocation.key;
    this.invocation = invocation;
    this.stores = stores;
  }
}

function currentInvocation() {
  if (!hasNatives) return undefined;
  const value = nativeCurrentInvocation();
  if (value instanceof Invocation) return value;
  return value instanceof AsyncContextFrame ? value.invocation : undefined;
}

// The current async context (an Invocation, a frame, or undefined), for
// callbacks V8 does not carry it to (timers): runInAsyncContext restores it.
internals.currentAsyncContext = () => {
  if (!hasNatives) return undefined;
  const value = nativeCurrentInvocation();
  return value instanceof Invocation || value instanceof AsyncContextFrame ? value : undefined;
};
internals.runInAsyncContext = (context, fn, thisArg, args) => {
  if (!hasNatives) return ReflectApply(fn, thisArg, args);
  const previous = nativeCurrentInvocation();
  nativeSetCurrentInvocation(context);
  try {
    return ReflectApply(fn, thisArg, args);
  } finally {
    nativeSetCurrentInvocation(previous);
  }
};
// The AsyncLocalStorage stores of the running code (undefined: none).
internals.asyncContextStores = () => {
  if (!hasNatives) return undefined;
  const value = nativeCurrentInvocation();
  return value instanceof AsyncContextFrame ? value.stores : undefined;
};
// Runs fn with `stores` (a SafeMap the caller does not change afterwards) in
// the current invocation.
internals.runWithAsyncContextStores = (stores, fn, thisArg, args) =>
  internals.runInAsyncContext(new AsyncContextFrame(currentInvocation(), stores), fn, thisArg, args);
// Makes `stores` current for the rest of this synchronous run and what it
// schedules (AsyncLocalStorage.enterWith).
internals.enterAsyncContextStores = (stores) => {
  if (hasNatives) nativeSetCurrentInvocation(new AsyncContextFrame(currentInvocation(), stores));
};

// For dispatch.js: a new invocation, made current. `limit` defaults to the
// worker's subrequest limit; `responseId` is the response it answers.
internals.beginInvocation = (limit = undefined, responseId = 0) => {
  const key = !hasNatives ? 0 : nativeInvocationBegin(responseId, limit === undefined ? defaultSubrequestLimit() : limit);
  const invocation = new Invocation(key, responseId);
  if (hasNatives) nativeSetCurrentInvocation(invocation);
  return invocation;
};

// Leaves the current invocation (the code that follows belongs to none).
internals.leaveInvocation = () => {
  if (hasNatives) nativeSetCurrentInvocation(undefined);
};

internals.currentInvocation = currentInvocation;

// Runs fn with `invocation` current (for callbacks that V8 does not carry it
// to, such as timers).
internals.runInInvocation = (invocation, fn, thisArg, args) => {
  if (!hasNatives) return ReflectApply(fn, thisArg, args);
  const previous = nativeCurrentInvocation();
  nativeSetCurrentInvocation(invocation);
  try {
    return ReflectApply(fn, thisArg, args);
  } finally {
    nativeSetCurrentInvocation(previous);
  }
};

// Counts one subrequest (a fetch() or a redirect it follows) against
// `invocation` (none: not counted); throws once its limit is reached.
internals.countSubrequest = (invocation) => {
  if (invocation === undefined || !hasNatives) return;
  nativeInvocationCount(invocation.key);
};

internals.invocationSubrequests = (invocation) => invocation.subrequests;

// `item` stays open until released; if the invocation ends first,
// onEnd(item) is called then.
internals.invocationHold = (invocation, item, onEnd) => {
  if (invocation.open === undefined) invocation.open = new SafeMap();
  MapPrototypeSet(invocation.open, item, onEnd);
};
internals.invocationRelease = (invocation, item) => {
  if (invocation.open !== undefined) MapPrototypeDelete(invocation.open, item);
};

// The invocation is over (its response was sent and its waitUntil work
// settled): what it left open is told to stop, and it can open no more.
internals.endInvocation = (invocation) => {
  if (!(invocation instanceof Invocation) || invocation.endCalled) return;
  invocation.endCalled = true;
  if (hasNatives) nativeInvocationEnd(invocation.key);
  if (invocation.open === undefined) return;
  const open = invocation.open;
  invocation.open = undefined;
  MapPrototypeForEach(open, (onEnd, item) => onEnd(item));
};

// The response of the invocation that is running (0: none), so console
// lines can be collected with it (edge tail).
internals.invocationResponseId = () => {
  const invocation = currentInvocation();
  return invocation === undefined ? 0 : invocation.responseId;
};
