#include "runtime/runtime_js.h"

#include <fmt/core.h>

#include "runtime/errors.h"
#include "runtime/isolate_data.h"
#include "runtime/js_sources.h"
#include "runtime/static_source.h"

namespace edge::runtime {

StatusOr<RuntimeObjects> MakeRuntimeObjects(v8::Local<v8::Context> context,
                                            const NativeRegistry& natives) {
  v8::Isolate* isolate = context->GetIsolate();
  RuntimeObjects objects;
  objects.internals = NewNullProtoObject(isolate);
  if (!natives.Instantiate(isolate, context).ToLocal(&objects.native) ||
      !DefineData(context, objects.native, "userAgent", Utf8String(isolate, "Cloudflare-Workers"))) {
    return Status(ErrorCode::kInternal, "cannot create the runtime's natives");
  }
  return objects;
}

Status RunRuntimeJs(IsolateData& data, v8::Local<v8::Context> context,
                    const RuntimeObjects& objects) {
  v8::Isolate* isolate = context->GetIsolate();
  const auto& sources = RuntimeJsSources();
  for (size_t i = 0; i < kRuntimeJsCount; ++i) {
    const JsSource& file = kRuntimeJs[i];
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::String> source;
    v8::ScriptOrigin origin(isolate, Utf8String(isolate, std::string("edge:internal/") + file.name),
                            -1);
    v8::Local<v8::Script> script;
    v8::Local<v8::Value> function;
    v8::Local<v8::Value> args[] = {objects.native, objects.internals};
    v8::Local<v8::Value> ignored;
    if (!sources[i]->NewString(isolate).ToLocal(&source) ||
        !v8::Script::Compile(context, source, &origin).ToLocal(&script) ||
        !script->Run(context).ToLocal(&function) ||
        !function.As<v8::Function>()->Call(context, v8::Undefined(isolate), 2, args)
             .ToLocal(&ignored)) {
      return ExceptionStatus(isolate, try_catch, fmt::format("internal error in {}", file.name));
    }
  }
  data.DrainMicrotasks();
  return Status::Ok();
}

Status FinishRestoredRuntime(v8::Local<v8::Context> context, v8::Local<v8::Object> internals) {
  v8::Isolate* isolate = context->GetIsolate();
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> capture;
  v8::Local<v8::Value> ignored;
  if (!internals->Get(context, Utf8String(isolate, "captureLateBuiltins")).ToLocal(&capture) ||
      !capture->IsFunction() ||
      !capture.As<v8::Function>()->Call(context, v8::Undefined(isolate), 0, nullptr)
           .ToLocal(&ignored)) {
    return ExceptionStatus(isolate, try_catch, "internal error restoring the runtime");
  }
  return Status::Ok();
}

bool DefineIsolateNatives(v8::Local<v8::Context> context, v8::Local<v8::Object> native,
                          const IsolateData& data) {
  v8::Isolate* isolate = context->GetIsolate();
  return DefineData(context, native, "workerName", Utf8String(isolate, data.worker_name())) &&
         DefineData(context, native, "timeOrigin",
                    v8::Number::New(isolate, data.time_origin_epoch_ms()));
}

}  // namespace edge::runtime
