// The Workers Rate Limiting binding: `env.<name>` for each `[[ratelimits]]`
// entry, a RateLimit as in Cloudflare Workers
// (https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/):
// `limit({ key })` resolves to `{ success }`. The count lives in C++
// (bindings/ratelimit/token_buckets.h), in the buckets the gateway's
// `rate_limit` policy uses, under the worker's account and the binding's
// namespace_id: the natives read both from the binding table, never from
// this object.

const { illegalConstructor, finishInterface } = internals;
const { PromiseReject, PromiseResolve, TypeErrorCtor: TypeError } = internals.primordials;

const kMaxKeyLength = native.rateLimitMaxKeyLength;

function rateLimit() {
  const { rateLimit: take } = native;
  if (typeof take !== "function") throw new TypeError("Rate limiting is not available in this build of edge");
  return take;
}

const kCreate = {};

class RateLimit {
  #handle; // into the isolate's C++ binding table

  constructor(token = undefined, handle = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    this.#handle = handle;
  }

  // limit({ key }) -> Promise<{ success: boolean }>.
  limit(options = undefined) {
    try {
      const handle = this.#handle;
      if (options === null || typeof options !== "object") {
        throw new TypeError("Failed to execute 'limit' on 'RateLimit': parameter 1 is not an object.");
      }
      // Read once: a getter runs once, and what it returned is what counts.
      const key = options.key;
      if (typeof key !== "string") {
        throw new TypeError("Failed to execute 'limit' on 'RateLimit': key must be a string.");
      }
      if (key.length > kMaxKeyLength) {
        throw new TypeError(`Failed to execute 'limit' on 'RateLimit': key is longer than ${kMaxKeyLength} characters.`);
      }
      return PromiseResolve(rateLimit()(handle, key));
    } catch (error) {
      return PromiseReject(error);
    }
  }
}

finishInterface(RateLimit);

internals.RateLimit = RateLimit;
internals.registerBindingKind("ratelimit", (name, handle) => new RateLimit(kCreate, handle));
