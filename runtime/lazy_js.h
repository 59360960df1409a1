// The runtime's rarely used APIs, evaluated in an isolate on first use.
//
// The files cmake lists with edge_lazy_js (kLazyJs: URLPattern, crypto.subtle,
// crypto.DigestStream, WebSocket, EventSource, cloudflare:sockets, the cache
// API, CompressionStream, TextEncoderStream and TextDecoderStream,
// MessageChannel, IdentityTransformStream and FixedLengthStream, workflow
// runs, the R2, queue, KV, rate limit and workflow bindings) are not
// evaluated when a context's runtime is built, so the
// startup snapshot holds none of their functions, maps or strings and an
// isolate that never uses them never pays for them. runtime/js/lazy.js keeps
// the names each file puts on `internals` as accessors that evaluate the file
// the first time one is read; the globals they back (runtime/js/globals.js)
// are V8 lazy data properties (`Object::SetLazyDataProperty`): data
// properties whose value is read from `internals` the first time, which V8
// then replaces with an ordinary data property, so a worker sees what it saw
// when they were made eagerly (typeof, property descriptors, assigning or
// deleting them first, identity across calls).
//
// A lazy file runs after tenant code may have patched any built-in: like
// every runtime file its top level uses only internals.primordials and what
// earlier files put on `internals` (runtime/js/README.md states the rule;
// test/hostile/lazy_first_use_test.js checks it). Its source is a static
// external string (static_source.h) and its compiled code is kept once per
// process (a V8 code cache made by the first isolate that evaluated it).
#pragma once

#include <v8.h>

#include "runtime/native.h"

namespace edge::runtime {

// The getter of every lazy property: returns `internals[key]`, `key` being
// the property's data (a string). A startup snapshot holds it as an
// external reference (snapshot.cc).
void LazyPropertyGetter(v8::Local<v8::Name> name, const v8::PropertyCallbackInfo<v8::Value>& info);

// The natives runtime/js/lazy.js uses: lazyLoad(file, native, internals)
// evaluates one lazy file; lazyDefine(object, name, key) makes a lazy data
// property (not enumerable, writable, configurable).
void RegisterLazyJsNatives(NativeRegistry& registry);

}  // namespace edge::runtime
