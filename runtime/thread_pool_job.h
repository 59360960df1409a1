// RunJobForPromise: the usual shape of an asynchronous native (pending_promise.h)
// whose work returns a Status or StatusOr<T>: the work runs on the thread
// pool, and the promise it returned now is settled on the loop by the
// result. Used by the KV and Cache API natives.
#pragma once

#include <v8.h>

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "base/status.h"
#include "runtime/native.h"
#include "runtime/pending_promise.h"

namespace edge::runtime {

namespace thread_pool_job {
inline const Status& StatusOf(const Status& status) { return status; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& result) {
  return result.status();
}
}  // namespace thread_pool_job

// Runs `work` (off the loop: no V8) on the isolate's thread-pool queue and
// returns a promise: when `work` returned a failure, it is rejected with
// reject_as(status); else resolved with make(isolate, context, invocation,
// result), `invocation` being the key of the calling invocation.
template <typename Work, typename RejectAs, typename Make>
NativeResult RunJobForPromise(NativeCall& call, Work work, RejectAs reject_as, Make make) {
  using Result = std::invoke_result_t<Work&>;
  auto result = std::make_shared<std::optional<Result>>();
  auto work_ptr = std::make_shared<Work>(std::move(work));
  auto created = PendingPromise::Create(call);
  if (!created.ok()) return created.status();
  auto [promise, pending] = std::move(created).value();
  RunInThreadPool(
      call.data(), *pending, [result, work_ptr] { result->emplace((*work_ptr)()); },
      [result, work_ptr, pending = pending, reject_as = std::move(reject_as),
       make = std::move(make)]() mutable {
        Result& done = **result;
        const Status& status = thread_pool_job::StatusOf(done);
        if (!status.ok()) return pending->Reject(reject_as(status));
        pending->Resolve([&](v8::Isolate* isolate, v8::Local<v8::Context> context) {
          return make(isolate, context, pending->invocation(), done);
        });
      });
  return promise;
}

}  // namespace edge::runtime
