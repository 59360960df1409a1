// The binding layer between C++ and the runtime's own JavaScript.
//
// Web APIs are declared once: spec algorithms as classes in their folder's
// JavaScript (runtime/<api>/, bindings/<kind>/), and the work that needs C++
// (I/O, OpenSSL, ICU, V8's serializer) as natives registered here. Natives
// are reachable only from the runtime's own JavaScript (through the `native`
// object each runtime file receives), never from worker code.
//
// A native returns a value or a Status. One trampoline (native.cc) turns a
// failed Status into the JavaScript exception its code names (TypeError,
// RangeError, DOMException with its name), so no C++ error handling leaks
// into V8 callbacks and no C++ exception crosses one.
#pragma once

#include <v8.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace edge::runtime {

class IsolateData;

// What a native receives: the call's arguments and its isolate.
class NativeCall {
 public:
  NativeCall(const v8::FunctionCallbackInfo<v8::Value>& info, IsolateData* data)
      : info_(info), data_(data) {}

  v8::Isolate* isolate() const { return info_.GetIsolate(); }
  v8::Local<v8::Context> context() const { return isolate()->GetCurrentContext(); }
  IsolateData& data() const { return *data_; }
  int length() const { return info_.Length(); }
  v8::Local<v8::Value> arg(int i) const { return info_[i]; }
  v8::Local<v8::Value> receiver() const { return info_.This(); }

  // Argument conversions that fail with a TypeError naming the argument.
  StatusOr<std::string> StringArg(int i) const;
  StatusOr<double> NumberArg(int i) const;
  bool BoolArg(int i) const;
  StatusOr<v8::Local<v8::Function>> FunctionArg(int i) const;
  // A Uint8Array, any other ArrayBufferView, or an ArrayBuffer, as bytes.
  StatusOr<std::string_view> BytesArg(int i) const;
  // A ByteString (header names and values): one byte per UTF-16 code unit,
  // as on the wire. Headers refuses code units above U+00FF before this.
  StatusOr<std::string> ByteString(v8::Local<v8::Value> value) const;
  // A flat [name, value, name, value, ...] array of ByteStrings, the way the
  // runtime's JS hands over header lists.
  StatusOr<std::vector<std::pair<std::string, std::string>>> HeaderListArg(int i) const;

  // Helpers for building results.
  v8::Local<v8::String> String(std::string_view text) const;
  // A copy of `bytes`, counted against the worker's memory budget
  // (buffer_allocator.h). When they do not fit, the worker is stopped at its
  // memory limit, a RangeError is pending and the array is empty; for large
  // or tenant-sized output use NewUint8Array and return its Status.
  v8::Local<v8::Uint8Array> Bytes(std::string_view bytes) const;

 private:
  const v8::FunctionCallbackInfo<v8::Value>& info_;
  IsolateData* data_;
};

using NativeResult = StatusOr<v8::Local<v8::Value>>;
using NativeFunction = NativeResult (*)(NativeCall& call);

// The natives of one registry by index: what a native's V8 function carries
// is its index here (a number, so a startup snapshot can hold the function),
// and the trampoline finds the C++ function through the calling isolate's
// IsolateData, which holds the table of the registry it was made with.
using NativeTable = std::vector<NativeFunction>;

// The one callback every native's V8 function calls (native.cc). It is the
// only C++ function the runtime's JavaScript reaches, so it is the one
// external reference a startup snapshot needs (snapshot.h).
void NativeTrampoline(const v8::FunctionCallbackInfo<v8::Value>& info);

// The list of natives. Components add theirs through one explicit
// registration function each (bindings::RegisterNatives, runtime's own
// RegisterRuntimeNatives), so nothing depends on static-initializer order.
class NativeRegistry {
 public:
  struct Entry {
    std::string name;
    NativeFunction function;
  };

  void Add(std::string name, NativeFunction function);
  // A file's natives as one table: registry.Add({{"zlibOpen", ZlibOpen}, ...}).
  void Add(std::initializer_list<Entry> entries);
  // A number both sides of a native contract read (a limit, an enum value):
  // written once in C++, read by the runtime's JavaScript as `native.name`,
  // so the two cannot drift apart.
  void AddConstant(std::string name, double value);
  const std::vector<Entry>& entries() const { return entries_; }
  // The functions by index, shared by every isolate made with this registry
  // (IsolateData::set_natives).
  const std::shared_ptr<const NativeTable>& table() const { return table_; }
  // Every name in order and every constant with its value, one per line:
  // what a `native` object made from this registry holds, so a startup
  // snapshot made with another registry is told apart (snapshot.h).
  const std::string& signature() const { return signature_; }

  // Creates the `native` object for a new context: one function per entry,
  // on an object with no prototype. Empty only if V8 refuses (out of memory).
  // The functions find their C++ side through the isolate's IsolateData,
  // which must hold this registry's table() before any of them is called.
  v8::MaybeLocal<v8::Object> Instantiate(v8::Isolate* isolate,
                                         v8::Local<v8::Context> context) const;

 private:
  void AddToTable(const Entry& entry);

  std::vector<Entry> entries_;
  std::vector<std::pair<std::string, double>> constants_;
  std::shared_ptr<const NativeTable> table_ = std::make_shared<const NativeTable>();
  std::string signature_;
};

// UTF-8 text as a V8 string (an empty string if V8 refuses it).
v8::Local<v8::String> Utf8String(v8::Isolate* isolate, std::string_view text);
// Bytes as a V8 string of one code unit per byte (a ByteString).
v8::Local<v8::String> Latin1String(v8::Isolate* isolate, std::string_view bytes);

// Building values that tenant code will see, without running any of it.
// `v8::Object::Set` on a fresh object or array looks up the prototype chain
// and calls a setter a tenant defined there (on Object.prototype, or on
// Array.prototype[0]); it may throw, which makes the Maybe empty. These
// helpers define own data properties instead, which no prototype affects.
//
// An array holding `values`, its elements defined directly.
v8::Local<v8::Array> NewArray(v8::Isolate* isolate,
                              const std::vector<v8::Local<v8::Value>>& values);
// An object with no prototype: for records only the runtime reads (env,
// binding options, internals), so no property of Object.prototype shows
// through them.
v8::Local<v8::Object> NewNullProtoObject(v8::Isolate* isolate);
// Defines `object[name] = value` as an own data property. False only when
// V8 refuses (execution terminating, or the object is not extensible); an
// exception may then be pending.
[[nodiscard]] bool DefineData(v8::Local<v8::Context> context, v8::Local<v8::Object> object,
                              v8::Local<v8::Name> name, v8::Local<v8::Value> value);
[[nodiscard]] bool DefineData(v8::Local<v8::Context> context, v8::Local<v8::Object> object,
                              std::string_view name, v8::Local<v8::Value> value);

// Throws `status` in `isolate` as the JavaScript error its code names. For a
// DOMException the runtime's own DOMException class is constructed.
void ThrowStatus(v8::Isolate* isolate, const Status& status);

// Shorthands for natives.
inline Status TypeError(std::string message) { return {ErrorCode::kTypeError, std::move(message)}; }
inline Status RangeError(std::string message) {
  return {ErrorCode::kRangeError, std::move(message)};
}
inline Status DomException(std::string name, std::string message) {
  return {ErrorCode::kDomException, std::move(message), std::move(name)};
}
// The V8 call that failed has left its exception pending: propagate it.
inline Status PendingException() { return {ErrorCode::kJsException, {}}; }

}  // namespace edge::runtime
