// MakeStartupSnapshot (snapshot.h): run once at build time by
// bindings/make_snapshot.cc, and by the tests.
#include <uv.h>

#include "runtime/isolate_data.h"
#include "runtime/platform.h"
#include "runtime/runtime_js.h"
#include "runtime/snapshot.h"
#include "runtime/snapshot_warmup.h"

namespace edge::runtime {

StatusOr<std::string> MakeStartupSnapshot(const NativeRegistry& natives) {
  InitializeV8();
  uv_loop_t loop;
  uv_loop_init(&loop);
  Status status;
  v8::StartupData blob{nullptr, 0};
  {
    v8::SnapshotCreator creator(SnapshotExternalReferences());
    v8::Isolate* isolate = creator.GetIsolate();
    // As in a worker's isolate (worker.cc): the runtime's JavaScript drains
    // its microtasks itself.
    isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
    {
      v8::HandleScope handle_scope(isolate);
      // Context::New on an isolate made from the snapshot gives a plain
      // context (what Worker::CompileModuleGraph uses).
      creator.SetDefaultContext(v8::Context::New(isolate));
      v8::Local<v8::Context> context = v8::Context::New(isolate);
      {
        v8::Context::Scope context_scope(context);
        // The natives the runtime's JavaScript calls while it loads need an
        // IsolateData; it goes before the heap is written, so none of its
        // handles are in the snapshot.
        IsolateData data(isolate, &loop, "snapshot", 0);
        data.set_natives(natives.table());
        StatusOr<RuntimeObjects> objects = MakeRuntimeObjects(context, natives);
        if (!objects.ok()) {
          status = objects.status();
        } else {
          data.SetContext(context, objects->internals);
          status = RunRuntimeJs(data, context, *objects);
          // The request path compiled into the snapshot (snapshot_warmup.h).
          if (status.ok()) status = WarmRequestPath(data, context, objects->internals);
          if (status.ok() &&
              (creator.AddData(context, objects->internals) != kSnapshotInternals ||
               creator.AddData(context, objects->native) != kSnapshotNative)) {
            status = Status(ErrorCode::kInternal, "unexpected snapshot data indexes");
          }
        }
      }
      if (status.ok() && creator.AddContext(context) != kSnapshotRuntimeContext) {
        status = Status(ErrorCode::kInternal, "unexpected snapshot context index");
      }
    }
    // Handles IsolateData closed go before the heap is written.
    uv_run(&loop, UV_RUN_DEFAULT);
    if (status.ok()) {
      // Bytecode is kept: the runtime's functions a request calls need not be
      // compiled again in each isolate.
      blob = creator.CreateBlob(v8::SnapshotCreator::FunctionCodeHandling::kKeep);
    }
  }
  uv_loop_close(&loop);
  if (!status.ok()) return status;
  if (blob.data == nullptr || blob.raw_size <= 0) {
    delete[] blob.data;
    return Status(ErrorCode::kInternal, "V8 made no snapshot");
  }
  std::string file = SnapshotHeader(natives);
  file.append(blob.data, static_cast<size_t>(blob.raw_size));
  delete[] blob.data;
  return file;
}

}  // namespace edge::runtime
