// The bindings on a worker's `env` that are objects, not plain values: KV
// namespaces, service bindings. Each kind registers a factory here; the C++
// side (Worker::MakeEnv) calls createBinding once per binding when the worker
// loads, before any of the worker's code runs, so `env` holds the same
// objects for every request.
//
// A binding object keeps `handle`, its index in the isolate's C++ binding
// table (IsolateData::FindBinding), and hands it to its natives, which read
// the namespace or service it reaches from that table. `options` (an object
// with no prototype) are for what the object shows, such as a service's name
// in an error message; nothing a native trusts comes from them.

const factories = { __proto__: null };

// Registers `create(name, handle, options)` for bindings of `kind`.
internals.registerBindingKind = (kind, create) => {
  factories[kind] = create;
};

// Registers `kind` as made by the lazy file `file` (js/lazy.js), which
// registers the kind's real factory when it is evaluated: the first binding
// of the kind a worker has evaluates it, before any of the worker's code runs.
internals.registerLazyBindingKind = (kind, file) => {
  const evaluate = (name, handle, options) => {
    internals.loadLazyFile(file);
    const create = factories[kind];
    if (create === evaluate) throw new TypeError(`internal error: ${file} did not register "${kind}"`);
    return create(name, handle, options);
  };
  factories[kind] = evaluate;
};

internals.createBinding = (kind, name, handle, options) => {
  const create = factories[kind];
  if (create === undefined) throw new TypeError(`Unknown binding kind "${kind}" for env.${name}`);
  return create(name, handle, options);
};
