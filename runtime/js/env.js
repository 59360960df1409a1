// The bindings on a worker's `env` that are objects, not plain values: KV
// namespaces, service bindings. Each kind registers a factory here; the C++
// side (Worker::MakeEnv) calls createBinding once per binding when the worker
// loads, so `env` holds the same objects for every request.

const factories = { __proto__: null };

// Registers `create(name, options)` for bindings of `kind`.
internals.registerBindingKind = (kind, create) => {
  factories[kind] = create;
};

internals.createBinding = (kind, name, options) => {
  const create = factories[kind];
  if (create === undefined) throw new TypeError(`Unknown binding kind "${kind}" for env.${name}`);
  return create(name, options);
};
