// Tenant vs network (issue 10 part 1): top-level code patches, for good,
// the built-ins a header list could be built or checked with: the Map, Set
// and Array iterators' `next` inject a header with CRLF in it,
// Array.prototype.push adds one to every list, Map.prototype.get/set/has/
// forEach lie, RegExp.prototype.exec finds nothing and test passes
// everything, String.prototype.toLowerCase renames every name. The
// handler still gets a TypeError for an invalid header, and the response
// it returns goes out with exactly its own header (test_hostile.py checks
// the wire: `x-kept: 1`, nothing injected).
const injected = ["x-injected", "1\r\nInjected: yes"];
const ResponseCtor = Response;
const HeadersCtor = Headers;
const StringCtor = String;

function inject() {
  let given = false;
  return function next() {
    if (given) return { done: true, value: undefined };
    given = true;
    return { done: false, value: injected };
  };
}

for (const iterator of [[][Symbol.iterator](), new Map().entries(), new Set().values()]) {
  Object.getPrototypeOf(iterator).next = inject();
}
Array.prototype.push = function push() {
  this[this.length] = injected[0];
  this[this.length] = injected[1];
  return this.length;
};
Map.prototype.get = () => "1\r\nInjected: yes";
Map.prototype.has = () => false;
Map.prototype.set = function set() {
  return this;
};
Map.prototype.forEach = function forEach(callback) {
  callback(injected[1], injected[0], this);
};
RegExp.prototype.exec = () => null;
RegExp.prototype.test = () => true;
String.prototype.toLowerCase = () => "x-lied";

export default {
  fetch() {
    let verdict;
    try {
      new HeadersCtor({ "x-bad": "1\r\nInjected: yes" });
      verdict = "UNEXPECTED: a header value with CRLF was accepted";
    } catch (error) {
      verdict = error instanceof TypeError ? "invalid value refused" : "UNEXPECTED: " + StringCtor(error);
    }
    return new ResponseCtor("done\n" + verdict + "\n", { headers: { "X-Kept": "1" } });
  },
};
