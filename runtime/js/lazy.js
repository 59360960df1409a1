// The runtime's rarely used APIs, evaluated on first use (runtime/lazy_js.h):
// a lazy file (cmake's edge_lazy_js) is not evaluated with the others nor
// kept in the startup snapshot; the names it puts on `internals` stay
// accessors here until one is read, which evaluates the file once in this
// isolate. runtime/js/globals.js declares the files and their names, and the
// globals and binding kinds they back.
//
// This runs when a worker first uses the API, so after its code may have
// patched any built-in: this file and the lazy files' top levels use only
// internals.primordials (and what earlier runtime files put on internals),
// never a global or a prototype method looked up then, no for-of, spread or
// array destructuring. The records here have no prototype and are not
// reachable from worker code.

const {
  ObjectDefineProperty, ObjectGetOwnPropertyDescriptor, ObjectPrototypeHasOwnProperty,
} = internals.primordials;

// file -> true once evaluated in this isolate.
const loaded = { __proto__: null };
// file -> the names it puts on internals.
const exportsOf = { __proto__: null };

// internals[name] as a data property (what assigning it does while the
// accessor below is there).
function defineExport(name, value) {
  ObjectDefineProperty(internals, name, { __proto__: null, value, writable: true, enumerable: true, configurable: true });
}

function defineAccessors(file) {
  const names = exportsOf[file];
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    ObjectDefineProperty(internals, name, {
      __proto__: null,
      get() {
        load(file);
        // What the file assigned; undefined if it assigned nothing.
        const desc = ObjectGetOwnPropertyDescriptor(internals, name);
        return desc !== undefined && ObjectPrototypeHasOwnProperty(desc, "value") ? desc.value : undefined;
      },
      set(value) {
        defineExport(name, value);
      },
      enumerable: true,
      configurable: true,
    });
  }
}

// Evaluates `file` in this isolate unless it was. Its assignments to its
// names replace their accessors. If it throws, or the worker is stopped
// while it runs (its CPU time or memory: no catch or finally runs then), it
// is not marked evaluated and the next use evaluates it again (its names
// that were assigned are assigned again). A file that read one of its own
// names while it loads would recurse until the stack overflows (a
// RangeError): a bug the tests catch.
function load(file) {
  if (loaded[file] === true) return;
  native.lazyLoad(file, native, internals);
  loaded[file] = true;
}

// Declares the lazy file `file` (its path in the source tree) and the names
// (an array) it puts on internals.
internals.lazyFile = (file, names) => {
  exportsOf[file] = names;
  defineAccessors(file);
};

// object[name]: a data property (writable, configurable, not enumerable)
// whose value is internals[key], read when a worker first reads it.
internals.lazyProperty = (object, name, key) => {
  native.lazyDefine(object, name, key);
};

// Evaluates `file` now (a binding kind it registers is about to be used).
internals.loadLazyFile = load;
