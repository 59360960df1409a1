// Tenant vs node: top-level code replaces the global constructors and
// namespaces the runtime might look up at request time (Promise, Map,
// Array, Object, JSON, Reflect, Uint8Array, Error, TypeError, Symbol,
// String, Number, Response, Request, Headers, ReadableStream). The handler
// answers with the Response it kept; the runtime's dispatcher and response
// path use built-ins captured before tenant code ran.
const KeptResponse = Response;
const KeptError = Error;
const junk = function () {
  throw new KeptError("poisoned global");
};
for (const name of [
  "Promise", "Map", "Set", "WeakMap", "Array", "Object", "JSON", "Reflect", "Uint8Array", "ArrayBuffer", "Error",
  "TypeError", "RangeError", "Symbol", "String", "Number", "Response", "Request", "Headers", "ReadableStream",
  "TextEncoder", "TextDecoder", "DOMException",
]) {
  globalThis[name] = junk;
}

export default {
  async fetch(request, env) {
    let note = "";
    try {
      await env.STORE.put("k", "v");
      note = `kv: ${await env.STORE.get("k")}`;
    } catch (error) {
      note = "kv threw";
    }
    return new KeptResponse(`done\n${note}\n`);
  },
};
