// Promise.withResolvers (ES2024, https://tc39.es/ecma262/#sec-promise.withResolvers):
// NewPromiseCapability(this) and a plain object holding its three parts.

const { TypeErrorCtor: TypeError } = internals.primordials;
const { install, isConstructor } = internals.es;

const ReflectConstruct = Reflect.construct;

const methods = {
  withResolvers() {
    const C = this;
    if (!isConstructor(C)) throw new TypeError("Promise.withResolvers called on a non-constructor");
    // NewPromiseCapability(C): the executor is an anonymous function of
    // length 2 that refuses to be called twice with resolving functions.
    let resolve;
    let reject;
    const promise = ReflectConstruct(C, [
      (res, rej) => {
        if (resolve !== undefined) throw new TypeError("Promise executor has already been invoked with non-undefined arguments");
        if (reject !== undefined) throw new TypeError("Promise executor has already been invoked with non-undefined arguments");
        resolve = res;
        reject = rej;
      },
    ]);
    if (typeof resolve !== "function") throw new TypeError("Promise resolve function is not callable");
    if (typeof reject !== "function") throw new TypeError("Promise reject function is not callable");
    // An object literal defines its properties: no setter sees them.
    return { promise, resolve, reject };
  },
};

install(Promise, methods);
