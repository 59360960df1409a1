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

const { ObjectDefineProperty, ReflectDeleteProperty, TypeErrorCtor } = internals.primordials;

const kLoading = 1;
const kLoaded = 2;
// file -> kLoading | kLoaded (undefined: not evaluated yet).
const states = { __proto__: null };
// file -> the names it puts on internals.
const exportsOf = { __proto__: null };

function defineAccessors(file) {
  const names = exportsOf[file];
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    ObjectDefineProperty(internals, name, {
      __proto__: null,
      get() {
        load(file);
        return internals[name];
      },
      enumerable: true,
      configurable: true,
    });
  }
}

// Evaluates `file` in this isolate unless it was. If it throws (a bug, or
// the worker ran out of CPU time or memory while it ran), its names become
// accessors again and the next use tries again.
function load(file) {
  const state = states[file];
  if (state === kLoaded) return;
  if (state === kLoading) throw new TypeErrorCtor(`internal error: ${file} needs itself while it loads`);
  states[file] = kLoading;
  const names = exportsOf[file];
  for (let i = 0; i < names.length; i++) ReflectDeleteProperty(internals, names[i]);
  try {
    native.lazyLoad(file, native, internals);
  } catch (error) {
    states[file] = undefined;
    defineAccessors(file);
    throw error;
  }
  states[file] = kLoaded;
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
