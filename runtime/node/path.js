// node:path (and node:path/posix) — Node.js's POSIX path functions: a
// worker's paths are never Windows ones. path.win32 is not provided yet.
// https://nodejs.org/api/path.html

const { StringPrototypeCharCodeAt, StringPrototypeSlice, StringPrototypeLastIndexOf =
  Function.prototype.call.bind(String.prototype.lastIndexOf) } = internals.primordials;
const { validateString, validateObject } = require("internal/validators");

const SLASH = 47;
const DOT = 46;

// Resolves "." and ".." in `path` (without leading slashes); `allowAbove`
// keeps leading ".." segments (relative paths).
function normalizeString(path, allowAbove) {
  let result = "";
  let lastSegmentLength = 0;
  let lastSlash = -1;
  let dots = 0;
  let code = 0;
  for (let i = 0; i <= path.length; ++i) {
    if (i < path.length) code = StringPrototypeCharCodeAt(path, i);
    else if (code === SLASH) break;
    else code = SLASH;
    if (code === SLASH) {
      if (lastSlash === i - 1 || dots === 1) {
        // nothing: an empty or "." segment
      } else if (dots === 2) {
        if (result.length < 2 || lastSegmentLength !== 2 ||
            StringPrototypeCharCodeAt(result, result.length - 1) !== DOT ||
            StringPrototypeCharCodeAt(result, result.length - 2) !== DOT) {
          if (result.length > 2) {
            const index = StringPrototypeLastIndexOf(result, "/");
            if (index === -1) {
              result = "";
              lastSegmentLength = 0;
            } else {
              result = StringPrototypeSlice(result, 0, index);
              lastSegmentLength = result.length - 1 - StringPrototypeLastIndexOf(result, "/");
            }
            lastSlash = i;
            dots = 0;
            continue;
          } else if (result.length !== 0) {
            result = "";
            lastSegmentLength = 0;
            lastSlash = i;
            dots = 0;
            continue;
          }
        }
        if (allowAbove) {
          result += result.length > 0 ? "/.." : "..";
          lastSegmentLength = 2;
        }
      } else {
        const segment = StringPrototypeSlice(path, lastSlash + 1, i);
        result = result.length > 0 ? `${result}/${segment}` : segment;
        lastSegmentLength = i - lastSlash - 1;
      }
      lastSlash = i;
      dots = 0;
    } else if (code === DOT && dots !== -1) {
      ++dots;
    } else {
      dots = -1;
    }
  }
  return result;
}

const posix = {
  resolve(...args) {
    let resolved = "";
    let absolute = false;
    for (let i = args.length - 1; i >= -1 && !absolute; i--) {
      const path = i >= 0 ? args[i] : "/";  // a worker's cwd is the root
      validateString(path, `paths[${i}]`);
      if (path.length === 0) continue;
      resolved = `${path}/${resolved}`;
      absolute = StringPrototypeCharCodeAt(path, 0) === SLASH;
    }
    resolved = normalizeString(resolved, !absolute);
    if (absolute) return `/${resolved}`;
    return resolved.length > 0 ? resolved : ".";
  },
  normalize(path) {
    validateString(path, "path");
    if (path.length === 0) return ".";
    const absolute = StringPrototypeCharCodeAt(path, 0) === SLASH;
    const trailing = StringPrototypeCharCodeAt(path, path.length - 1) === SLASH;
    let result = normalizeString(path, !absolute);
    if (result.length === 0) {
      if (absolute) return "/";
      return trailing ? "./" : ".";
    }
    if (trailing) result += "/";
    return absolute ? `/${result}` : result;
  },
  isAbsolute(path) {
    validateString(path, "path");
    return path.length > 0 && StringPrototypeCharCodeAt(path, 0) === SLASH;
  },
  join(...args) {
    if (args.length === 0) return ".";
    let joined;
    for (let i = 0; i < args.length; ++i) {
      const arg = args[i];
      validateString(arg, "path");
      if (arg.length > 0) joined = joined === undefined ? arg : `${joined}/${arg}`;
    }
    if (joined === undefined) return ".";
    return posix.normalize(joined);
  },
  relative(from, to) {
    validateString(from, "from");
    validateString(to, "to");
    if (from === to) return "";
    from = posix.resolve(from);
    to = posix.resolve(to);
    if (from === to) return "";
    const fromStart = 1;
    const fromEnd = from.length;
    const fromLen = fromEnd - fromStart;
    const toStart = 1;
    const toLen = to.length - toStart;
    const length = fromLen < toLen ? fromLen : toLen;
    let lastCommonSep = -1;
    let i = 0;
    for (; i < length; i++) {
      const fromCode = StringPrototypeCharCodeAt(from, fromStart + i);
      if (fromCode !== StringPrototypeCharCodeAt(to, toStart + i)) break;
      else if (fromCode === SLASH) lastCommonSep = i;
    }
    if (i === length) {
      if (toLen > length) {
        if (StringPrototypeCharCodeAt(to, toStart + i) === SLASH) return StringPrototypeSlice(to, toStart + i + 1);
        if (i === 0) return StringPrototypeSlice(to, toStart + i);
      } else if (fromLen > length) {
        if (StringPrototypeCharCodeAt(from, fromStart + i) === SLASH) lastCommonSep = i;
        else if (i === 0) lastCommonSep = 0;
      }
    }
    let out = "";
    for (i = fromStart + lastCommonSep + 1; i <= fromEnd; ++i) {
      if (i === fromEnd || StringPrototypeCharCodeAt(from, i) === SLASH) {
        out += out.length === 0 ? ".." : "/..";
      }
    }
    return `${out}${StringPrototypeSlice(to, toStart + lastCommonSep)}`;
  },
  toNamespacedPath(path) {
    return path;
  },
  dirname(path) {
    validateString(path, "path");
    if (path.length === 0) return ".";
    const hasRoot = StringPrototypeCharCodeAt(path, 0) === SLASH;
    let end = -1;
    let matchedSlash = true;
    for (let i = path.length - 1; i >= 1; --i) {
      if (StringPrototypeCharCodeAt(path, i) === SLASH) {
        if (!matchedSlash) {
          end = i;
          break;
        }
      } else {
        matchedSlash = false;
      }
    }
    if (end === -1) return hasRoot ? "/" : ".";
    if (hasRoot && end === 1) return "//";
    return StringPrototypeSlice(path, 0, end);
  },
  basename(path, suffix) {
    if (suffix !== undefined) validateString(suffix, "ext");
    validateString(path, "path");
    let start = 0;
    let end = -1;
    let matchedSlash = true;
    if (suffix !== undefined && suffix.length > 0 && suffix.length <= path.length) {
      if (suffix === path) return "";
      let extIdx = suffix.length - 1;
      let firstNonSlashEnd = -1;
      for (let i = path.length - 1; i >= 0; --i) {
        const code = StringPrototypeCharCodeAt(path, i);
        if (code === SLASH) {
          if (!matchedSlash) {
            start = i + 1;
            break;
          }
        } else {
          if (firstNonSlashEnd === -1) {
            matchedSlash = false;
            firstNonSlashEnd = i + 1;
          }
          if (extIdx >= 0) {
            if (code === StringPrototypeCharCodeAt(suffix, extIdx)) {
              if (--extIdx === -1) end = i;
            } else {
              extIdx = -1;
              end = firstNonSlashEnd;
            }
          }
        }
      }
      if (start === end) end = firstNonSlashEnd;
      else if (end === -1) end = path.length;
      return StringPrototypeSlice(path, start, end);
    }
    for (let i = path.length - 1; i >= 0; --i) {
      if (StringPrototypeCharCodeAt(path, i) === SLASH) {
        if (!matchedSlash) {
          start = i + 1;
          break;
        }
      } else if (end === -1) {
        matchedSlash = false;
        end = i + 1;
      }
    }
    if (end === -1) return "";
    return StringPrototypeSlice(path, start, end);
  },
  extname(path) {
    validateString(path, "path");
    let startDot = -1;
    let startPart = 0;
    let end = -1;
    let matchedSlash = true;
    let preDotState = 0;
    for (let i = path.length - 1; i >= 0; --i) {
      const code = StringPrototypeCharCodeAt(path, i);
      if (code === SLASH) {
        if (!matchedSlash) {
          startPart = i + 1;
          break;
        }
        continue;
      }
      if (end === -1) {
        matchedSlash = false;
        end = i + 1;
      }
      if (code === DOT) {
        if (startDot === -1) startDot = i;
        else if (preDotState !== 1) preDotState = 1;
      } else if (startDot !== -1) {
        preDotState = -1;
      }
    }
    if (startDot === -1 || end === -1 || preDotState === 0 ||
        (preDotState === 1 && startDot === end - 1 && startDot === startPart + 1)) {
      return "";
    }
    return StringPrototypeSlice(path, startDot, end);
  },
  format(pathObject) {
    validateObject(pathObject, "pathObject");
    const dir = pathObject.dir || pathObject.root;
    const ext = pathObject.ext ? (pathObject.ext[0] === "." ? pathObject.ext : `.${pathObject.ext}`) : "";
    const base = pathObject.base || `${pathObject.name || ""}${ext}`;
    if (!dir) return base;
    return dir === pathObject.root ? `${dir}${base}` : `${dir}/${base}`;
  },
  parse(path) {
    validateString(path, "path");
    const ret = { root: "", dir: "", base: "", ext: "", name: "" };
    if (path.length === 0) return ret;
    const isAbsolute = StringPrototypeCharCodeAt(path, 0) === SLASH;
    let start;
    if (isAbsolute) {
      ret.root = "/";
      start = 1;
    } else {
      start = 0;
    }
    let startDot = -1;
    let startPart = 0;
    let end = -1;
    let matchedSlash = true;
    let i = path.length - 1;
    let preDotState = 0;
    for (; i >= start; --i) {
      const code = StringPrototypeCharCodeAt(path, i);
      if (code === SLASH) {
        if (!matchedSlash) {
          startPart = i + 1;
          break;
        }
        continue;
      }
      if (end === -1) {
        matchedSlash = false;
        end = i + 1;
      }
      if (code === DOT) {
        if (startDot === -1) startDot = i;
        else if (preDotState !== 1) preDotState = 1;
      } else if (startDot !== -1) {
        preDotState = -1;
      }
    }
    if (end !== -1) {
      const start2 = startPart === 0 && isAbsolute ? 1 : startPart;
      if (startDot === -1 || preDotState === 0 ||
          (preDotState === 1 && startDot === end - 1 && startDot === startPart + 1)) {
        ret.base = ret.name = StringPrototypeSlice(path, start2, end);
      } else {
        ret.name = StringPrototypeSlice(path, start2, startDot);
        ret.base = StringPrototypeSlice(path, start2, end);
        ret.ext = StringPrototypeSlice(path, startDot, end);
      }
    }
    if (startPart > 0) ret.dir = StringPrototypeSlice(path, 0, startPart - 1);
    else if (isAbsolute) ret.dir = "/";
    return ret;
  },
  matchesGlob: undefined,
  sep: "/",
  delimiter: ":",
  win32: undefined,
  posix: undefined,
};
delete posix.matchesGlob;
delete posix.win32;
posix.posix = posix;
return posix;
