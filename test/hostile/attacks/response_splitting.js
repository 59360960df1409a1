// Tenant vs network: header names, values and status texts carrying CR/LF
// or NUL, to split the response or inject headers into it. Each is refused
// with a TypeError when the Response or Headers is made, and what the
// worker finally returns goes out as one well-formed response.
import { attack, reply } from "./lib.js";

export default {
  async fetch(request) {
    const lines = await attack(() => {}, () => {}, [
      ["value with CRLF", () => new Headers({ "x-a": "1\r\nInjected: yes" }), "TypeError"],
      ["value with NUL", () => new Headers({ "x-a": "1\u0000" }), "TypeError"],
      ["name with colon", () => new Headers({ "x-a:b": "1" }), "TypeError"],
      ["name with space", () => new Headers({ "x a": "1" }), "TypeError"],
      ["statusText with CRLF", () => new Response("x", { statusText: "OK\r\nInjected: yes" }), "TypeError"],
      ["status 1000", () => new Response("x", { status: 1000 }), "RangeError"],
      ["non-Latin1 value", () => new Headers({ "x-a": "\u0100" }), "TypeError"],
    ]);
    return reply(lines);
  },
};
