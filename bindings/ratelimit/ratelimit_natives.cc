// The native behind the Workers Rate Limiting binding (ratelimit.js holds
// the API): one token taken from the process's TokenBuckets, in the bucket
// of the binding's account, namespace and the caller's key.
#include <fmt/core.h>

#include "bindings/binding_services.h"
#include "bindings/ratelimit/token_buckets.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/native.h"

namespace edge::bindings {
namespace {
using runtime::NativeCall;
using runtime::NativeResult;

// The longest key limit() takes, in UTF-16 code units (ratelimit.js checks
// it first; this holds whatever the worker did to the built-ins).
constexpr int kMaxKeyLength = 1024;

// rateLimit(handle, key) -> { success } (an object made here, so a setter
// on Object.prototype never sees it).
NativeResult RateLimitTake(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(call.data()));
  const runtime::EnvBinding* binding = call.data().FindBinding(call.arg(0), "ratelimit");
  if (binding == nullptr) return runtime::TypeError("not a rate limiting binding of this worker");
  BindingServices* services = ServicesOf(call.data().services());
  if (services == nullptr || services->rate_limits == nullptr) {
    return runtime::TypeError("Rate limiting is not available: this host has no rate limit table");
  }
  if (!call.arg(1)->IsString() || call.arg(1).As<v8::String>()->Length() > kMaxKeyLength) {
    return runtime::TypeError(
        fmt::format("the key must be a string of at most {} characters", kMaxKeyLength));
  }
  auto key = call.StringArg(1);
  if (!key.ok()) return key.status();
  uint64_t limit = std::strtoull(binding->Option("limit").c_str(), nullptr, 10);
  uint64_t period = std::strtoull(binding->Option("period").c_str(), nullptr, 10);
  // Buckets of one account's namespace: another tenant naming the same
  // namespace_id counts in its own.
  std::string space = fmt::format("ratelimit\n{}\n{}", binding->Option("account"),
                                  binding->Option("namespace_id"));
  RateDecision decision = services->rate_limits->Take(space, *key, static_cast<uint32_t>(limit),
                                                      period * 1000);
  v8::Isolate* isolate = call.isolate();
  v8::Local<v8::Object> outcome = v8::Object::New(isolate);
  v8::Local<v8::String> name = v8::String::NewFromUtf8Literal(isolate, "success");
  bool made = false;
  if (!outcome->CreateDataProperty(call.context(), name, v8::Boolean::New(isolate, decision.allowed))
           .To(&made) ||
      !made) {
    return runtime::PendingException();
  }
  return outcome.As<v8::Value>();
}

}  // namespace

void RegisterRateLimitNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"rateLimit", RateLimitTake}});
  registry.AddConstant("rateLimitMaxKeyLength", kMaxKeyLength);
}

}  // namespace edge::bindings
