#include "runtime/crypto/crypto_job.h"

#include <openssl/crypto.h>
#include <time.h>

#include <cstring>
#include <utility>

#include "runtime/buffer_allocator.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/pending_promise.h"
#include "runtime/thread_pool_queue.h"

namespace edge::runtime {
namespace {

uint64_t ThreadCpuNs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace

NativeResult RunCryptoJob(NativeCall& call, std::function<Status()> work, CryptoResultMaker make) {
  // A job started by a module's top level would finish outside any request.
  EDGE_RETURN_IF_ERROR(CheckNotGlobalScope(call.data()));
  auto created = PendingPromise::Create(call);
  if (!created.ok()) return created.status();
  auto [promise, pending] = std::move(created).value();
  struct Job {
    std::function<Status()> work;
    CryptoResultMaker make;
    Status status;
    uint64_t cpu_ns = 0;
  };
  auto job = std::make_shared<Job>(Job{std::move(work), std::move(make), Status::Ok(), 0});
  std::weak_ptr<IsolateData*> isolate = call.data().weak();
  call.data().cpu_jobs().Run(
      [job] {
        uint64_t start = ThreadCpuNs();
        job->status = job->work();
        job->cpu_ns = ThreadCpuNs() - start;
      },
      [job, pending = pending, isolate] {
        std::shared_ptr<IsolateData*> data = isolate.lock();
        if (!data || *data == nullptr) return;
        // Charged even when its invocation ended meanwhile: the CPU was
        // spent. Its result is then dropped without entering JavaScript.
        (*data)->watchdog().account().Charge(job->cpu_ns);
        if (!pending->alive()) return;
        if (!job->status.ok()) return pending->Reject(job->status);
        pending->Resolve(job->make);
      },
      pending->invocation());
  return promise;
}

NativeResult RunCryptoBytesJob(NativeCall& call, std::function<Status(std::string& out)> work) {
  auto out = std::make_shared<std::string>();
  return RunCryptoJob(
      call, [out, work = std::move(work)] { return work(*out); },
      [out](v8::Isolate* isolate, v8::Local<v8::Context>) {
        // Counted against the worker's memory budget (buffer_allocator.h):
        // over it, the promise rejects with the RangeError.
        StatusOr<v8::Local<v8::Uint8Array>> bytes = NewUint8Array(isolate, *out);
        // Derived keys and plaintexts leave no copy behind in the heap of C++.
        OPENSSL_cleanse(out->data(), out->size());
        if (!bytes.ok()) {
          ThrowStatus(isolate, bytes.status());
          return v8::Local<v8::Value>();
        }
        return bytes->As<v8::Value>();
      });
}

NativeResult RunSizedCryptoBytesWork(NativeCall& call, std::vector<std::string_view> inputs,
                                     CryptoBytesWork work, size_t output_bytes) {
  size_t total = output_bytes;
  for (std::string_view input : inputs) total += input.size();
  // A module's global scope may digest (Workers allows it) but cannot start
  // a job: there it runs inline, under the startup CPU limit, stalling no
  // request since none is being served by this isolate yet.
  bool global_scope = !CheckNotGlobalScope(call.data()).ok();
  if (total <= kInlineCryptoBytes || global_scope) {
    std::string out;
    Status status = work(inputs, out);
    if (!status.ok()) return status;
    return call.Bytes(out).As<v8::Value>();
  }
  // The views point into the worker's buffers, which may be detached,
  // changed or collected once this call returns: the job owns copies.
  auto copies = std::make_shared<std::vector<std::string>>(inputs.begin(), inputs.end());
  return RunCryptoBytesJob(call, [copies, work = std::move(work)](std::string& out) {
    std::vector<std::string_view> views(copies->begin(), copies->end());
    Status status = work(views, out);
    // Keys and plaintexts leave no copy behind in the heap of C++.
    for (std::string& copy : *copies) OPENSSL_cleanse(copy.data(), copy.size());
    return status;
  });
}

}  // namespace edge::runtime
