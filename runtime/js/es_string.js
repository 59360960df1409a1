// Well-formed Unicode strings (ES2024,
// https://tc39.es/ecma262/#sec-string.prototype.iswellformed):
// String.prototype.isWellFormed and toWellFormed. A lone surrogate is a
// leading surrogate not followed by a trailing one, or a trailing surrogate
// not preceded by a leading one; toWellFormed replaces each with U+FFFD.

const { RegExpPrototypeExec, StringPrototypeCharCodeAt, StringPrototypeSlice } = internals.primordials;
const { install, requireObjectCoercible } = internals.es;

// Matches the first lone surrogate (without the `u` flag, a pattern sees
// the string's code units, surrogates included). Never reachable from
// tenant code, so its `lastIndex` and `exec` are its own.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// ToString(value): a template literal throws a TypeError for a Symbol, as
// ToString does (String(symbol) would not).
function toStringOf(value, what) {
  return `${requireObjectCoercible(value, what)}`;
}

const methods = {
  isWellFormed() {
    const S = toStringOf(this, "String.prototype.isWellFormed");
    return RegExpPrototypeExec(loneSurrogate, S) === null;
  },

  toWellFormed() {
    const S = toStringOf(this, "String.prototype.toWellFormed");
    if (RegExpPrototypeExec(loneSurrogate, S) === null) return S;
    let result = "";
    let start = 0;
    const length = S.length;
    for (let k = 0; k < length; k++) {
      const c = StringPrototypeCharCodeAt(S, k);
      if (c < 0xd800 || c > 0xdfff) continue;
      if (c <= 0xdbff && k + 1 < length) {
        const d = StringPrototypeCharCodeAt(S, k + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          k++;
          continue;
        }
      }
      result += StringPrototypeSlice(S, start, k) + "\uFFFD";
      start = k + 1;
    }
    return result + StringPrototypeSlice(S, start, length);
  },
};

install(String.prototype, methods);
