// Tenant vs network (issue 10 part 1): every built-in the runtime's
// JavaScript could use at request time (lib.js builtinTargets: prototype
// methods, the iterators' `next`, RegExp's exec/test/Symbol.replace,
// Function.prototype.call/apply, Reflect.apply, Object.defineProperty,
// JSON, Math, global constructors) replaced by functions that throw, while
// invalid header names and values, status texts and methods are given to
// Headers, Response and Request. Header validation runs on built-ins
// captured before tenant code (runtime/js/primordials.js): each is still
// refused with the runtime's own TypeError, and valid headers still work.
import { attack, patchBuiltins, reply, thrower } from "./lib.js";

const ErrorCtor = Error;
function expectEqual(got, wanted) {
  if (got !== wanted) throw new ErrorCtor(`got ${got}, wanted ${wanted}`);
}

export default {
  async fetch(request) {
    const [install, uninstall] = patchBuiltins(thrower);
    const lines = await attack(install, uninstall, [
      ["name with space", () => new Headers({ "x a": "1" }), "TypeError"],
      ["name with colon", () => new Headers({ "x-a:b": "1" }), "TypeError"],
      ["empty name", () => new Headers({ "": "1" }), "TypeError"],
      ["value with CRLF", () => new Headers({ "x-a": "1\r\nInjected: yes" }), "TypeError"],
      ["value with NUL", () => new Headers({ "x-a": "1\u0000" }), "TypeError"],
      ["value above Latin-1", () => new Headers({ "x-a": "\u0100" }), "TypeError"],
      ["append bad name", () => new Headers().append("x\r\ny", "1"), "TypeError"],
      ["append bad value", () => new Headers().append("x-a", "1\n2"), "TypeError"],
      ["set bad value", () => new Headers().set("x-a", "1\r2"), "TypeError"],
      ["get bad name", () => new Headers().get("x y"), "TypeError"],
      ["Response headers with CRLF", () => new Response("x", { headers: { "x-a": "1\r\nInjected: yes" } }),
        "TypeError"],
      ["Response statusText with CRLF", () => new Response("x", { statusText: "OK\r\nInjected: yes" }), "TypeError"],
      ["Response status 1000", () => new Response("x", { status: 1000 }), "RangeError"],
      // A Request parses its URL first, with built-ins that are the tenant's
      // own (runtime/js/primordials.js's rule): it may throw the poisoned
      // error before the method check. Either way no Request exists, and
      // fetchStart checks the method again in C++ (bad method via fetch).
      ["Request bad method", () => new Request("https://example.com/", { method: "GE T" }), "any"],
      ["Request CONNECT", () => new Request("https://example.com/", { method: "CONNECT" }), "any"],
      ["valid header normalized", () => expectEqual(new Headers({ "X-Mixed": " \t1 \n" }).get("x-mixed"), "1"),
        "none"],
      ["valid headers combined", () => {
        const headers = new Headers({ "x-a": "1" });
        headers.append("X-A", "2");
        expectEqual(headers.get("x-a"), "1, 2");
        expectEqual(headers.has("X-A"), true);
      }, "none"],
      ["set-cookie kept apart", () => {
        const headers = new Headers();
        headers.append("set-cookie", "a=1");
        headers.append("Set-Cookie", "b=2");
        expectEqual(headers.get("set-cookie"), "a=1, b=2");
      }, "none"],
      ["copied headers", () => expectEqual(new Headers(new Headers({ "x-b": "3" })).get("x-b"), "3"), "none"],
    ]);
    return reply(lines);
  },
};
