#include "runtime/pending_promise.h"

#include "runtime/isolate_data.h"

namespace edge::runtime {
namespace {
// Settling fails only when execution is being terminated: nothing to do then.
void Ignore(v8::Maybe<bool> settled) { (void)settled.FromMaybe(false); }
}  // namespace

StatusOr<PendingPromise::Created> PendingPromise::Create(NativeCall& call) {
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(call.context()).ToLocal(&resolver)) return PendingException();
  double invocation = call.data().CurrentInvocationKey(call.context());
  // Code still running for an invocation that ended (a continuation the
  // handler left behind) starts nothing that would settle into it.
  if (call.data().InvocationEnded(invocation)) {
    return TypeError(
        "The invocation that made this call has ended (its response was sent and its waitUntil "
        "work settled).");
  }
  std::shared_ptr<PendingPromise> pending(new PendingPromise(&call.data(), resolver, invocation));
  call.data().AddPendingPromise(pending.get());
  return Created{resolver->GetPromise(), std::move(pending)};
}

PendingPromise::PendingPromise(IsolateData* data, v8::Local<v8::Promise::Resolver> resolver,
                               double invocation)
    : data_(data), invocation_(invocation), resolver_(data->isolate(), resolver) {}

PendingPromise::~PendingPromise() {
  if (data_ != nullptr) {
    data_->RemovePendingPromise(this);
    resolver_.Reset();
  }
}

void PendingPromise::Detach() {
  resolver_.Reset();
  data_ = nullptr;
}

void PendingPromise::Settle(const Settler& settle) {
  if (data_ == nullptr || resolver_.IsEmpty()) return;
  CallbackScope scope(data_);
  v8::Isolate* isolate = data_->isolate();
  v8::Local<v8::Promise::Resolver> resolver = resolver_.Get(isolate);
  resolver_.Reset();
  settle(isolate, scope.context(), resolver);
}

void PendingPromise::Resolve(const ValueMaker& make_value) {
  Settle([&](v8::Isolate* isolate, v8::Local<v8::Context> context,
             v8::Local<v8::Promise::Resolver> resolver) {
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Value> value = make_value(isolate, context);
    if (value.IsEmpty()) {
      if (try_catch.HasTerminated()) return;
      // Making the value threw (say, JSON that does not parse): reject with
      // it. Should V8 have refused without an exception, the promise still
      // settles, so no caller waits forever.
      v8::Local<v8::Value> error = try_catch.HasCaught()
                                       ? try_catch.Exception()
                                       : v8::Exception::Error(v8::String::NewFromUtf8Literal(
                                             isolate, "The result could not be made"));
      Ignore(resolver->Reject(context, error));
      return;
    }
    Ignore(resolver->Resolve(context, value));
  });
}

void PendingPromise::ResolveUndefined() {
  Resolve([](v8::Isolate* isolate, v8::Local<v8::Context>) { return v8::Undefined(isolate); });
}

void PendingPromise::Reject(const Status& status) {
  Settle([&](v8::Isolate* isolate, v8::Local<v8::Context> context,
             v8::Local<v8::Promise::Resolver> resolver) {
    v8::TryCatch try_catch(isolate);
    ThrowStatus(isolate, status);
    v8::Local<v8::Value> error = try_catch.Exception();
    try_catch.Reset();
    Ignore(resolver->Reject(context, error));
  });
}

void RunInThreadPool(IsolateData& data, const PendingPromise& owner, std::function<void()> work,
                     std::function<void()> after) {
  data.thread_pool().Run(std::move(work), std::move(after), owner.invocation());
}

}  // namespace edge::runtime
