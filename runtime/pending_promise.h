// Asynchronous natives: a native returns a promise now and settles it later,
// from its isolate's loop, when the work (I/O, the libuv thread pool) is done.
//
//   NativeResult KvGet(NativeCall& call) {
//     auto created = PendingPromise::Create(call);
//     if (!created.ok()) return created.status();
//     RunInThreadPool(call.data(), *created->pending, [=] { /* off the loop */ },
//                     [pending = created->pending] { pending->Resolve(...); });
//     return created->promise;
//   }
//
// If the isolate goes away first (the worker was reloaded or discarded),
// settling does nothing and the work's result is dropped.
#pragma once

#include <uv.h>
#include <v8.h>

#include <functional>
#include <memory>
#include <utility>

#include "runtime/native.h"
#include "base/status.h"

namespace edge::runtime {

class IsolateData;

class PendingPromise {
 public:
  // Makes the value to resolve with, inside the isolate's context.
  using ValueMaker = std::function<v8::Local<v8::Value>(v8::Isolate*, v8::Local<v8::Context>)>;

  struct Created {
    v8::Local<v8::Value> promise;
    std::shared_ptr<PendingPromise> pending;
  };
  // A new promise in the calling native's context, and its settler. Fails
  // with a TypeError when the calling code belongs to an invocation that
  // has ended, and with PendingException when V8 refuses to make the
  // promise (while the watchdog terminates the isolate, say); the native
  // returns that.
  static StatusOr<Created> Create(NativeCall& call);
  ~PendingPromise();
  PendingPromise(const PendingPromise&) = delete;
  PendingPromise& operator=(const PendingPromise&) = delete;

  // On the isolate's loop thread, outside any JavaScript frame. At most one
  // of them takes effect.
  void Resolve(const ValueMaker& make_value);
  void ResolveUndefined();
  void Reject(const Status& status);
  // Whether the isolate is still there to be told (and the invocation that
  // made the promise has not ended).
  bool alive() const { return data_ != nullptr; }
  // The key of the invocation the calling JavaScript belonged to (0: none).
  // When it ends, the promise is detached and its queued job dropped
  // (IsolateData::CancelInvocationWork).
  double invocation() const { return invocation_; }

 private:
  // Settles the promise once: inside a CallbackScope (the watchdog, then the
  // microtasks), with the resolver taken out of this object first.
  using Settler =
      std::function<void(v8::Isolate*, v8::Local<v8::Context>, v8::Local<v8::Promise::Resolver>)>;
  void Settle(const Settler& settle);

  friend class IsolateData;
  PendingPromise(IsolateData* data, v8::Local<v8::Promise::Resolver> resolver, double invocation);
  void Detach();  // the isolate is going away, or the invocation ended
  bool settled() const { return resolver_.IsEmpty(); }

  IsolateData* data_;
  double invocation_;
  v8::Global<v8::Promise::Resolver> resolver_;
};

// Runs `work` on libuv's thread pool, then `after` on the isolate's loop,
// through the isolate's ThreadPoolQueue (a bounded number of its jobs in the
// pool at once, so one tenant's backlog does not hold up another's).
// `work` must not touch V8. Once `work` ran, `after` runs even if the
// isolate went away (it then finds its PendingPromise dead); a job that had
// not started when the isolate went away, or when the invocation of `owner`
// ended, is dropped, neither running.
void RunInThreadPool(IsolateData& data, const PendingPromise& owner, std::function<void()> work,
                     std::function<void()> after);

}  // namespace edge::runtime
