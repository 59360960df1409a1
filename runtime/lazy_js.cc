#include "runtime/lazy_js.h"

#include <fmt/core.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/errors.h"
#include "runtime/isolate_data.h"
#include "runtime/js_sources.h"
#include "runtime/static_source.h"

namespace edge::runtime {

namespace {

// The compiled code of each lazy file, made by the first isolate of the
// process that evaluated it (after running it, so the functions its top
// level called are in it) and read by every later one. Made in this
// process only, so its bytes are V8's own; V8 still checks the source, its
// version and its flags before using one.
class LazyCodeCache {
 public:
  std::shared_ptr<const std::string> Get(size_t index) {
    std::lock_guard lock(mutex_);
    return index < entries_.size() ? entries_[index] : nullptr;
  }
  void Put(size_t index, std::string bytes) {
    std::lock_guard lock(mutex_);
    if (entries_.size() <= index) entries_.resize(index + 1);
    entries_[index] = std::make_shared<const std::string>(std::move(bytes));
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<const std::string>> entries_;
};

LazyCodeCache& CodeCache() {
  static auto* cache = new LazyCodeCache();  // leaked: isolates may outlive exit
  return *cache;
}

size_t FindLazyFile(std::string_view name) {
  for (size_t i = 0; i < kLazyJsCount; ++i) {
    if (kLazyJs[i].name == name) return i;
  }
  return kLazyJsCount;
}

// lazyLoad(file, native, internals): evaluates the lazy file `file` (its
// path, as kLazyJs names it) with the runtime's two objects. Only
// runtime/js/lazy.js calls it, once per file and isolate.
NativeResult LazyLoad(NativeCall& call) {
  v8::Isolate* isolate = call.isolate();
  v8::Local<v8::Context> context = call.context();
  auto file = call.StringArg(0);
  if (!file.ok()) return file.status();
  size_t index = FindLazyFile(*file);
  if (index == kLazyJsCount || !call.arg(1)->IsObject() || !call.arg(2)->IsObject()) {
    return Status(ErrorCode::kInternal, fmt::format("internal error: no lazy file {}", *file));
  }
  const StaticSource& text = *LazyJsSources()[index];
  v8::Local<v8::String> source;
  if (!text.NewString(isolate).ToLocal(&source)) return PendingException();
  v8::ScriptOrigin origin(isolate, Utf8String(isolate, fmt::format("edge:internal/{}", *file)), -1);
  std::shared_ptr<const std::string> cached = CodeCache().Get(index);
  v8::ScriptCompiler::CachedData* cached_data = nullptr;
  if (cached) {
    cached_data = new v8::ScriptCompiler::CachedData(
        reinterpret_cast<const uint8_t*>(cached->data()), static_cast<int>(cached->size()),
        v8::ScriptCompiler::CachedData::BufferNotOwned);
  }
  // Owns cached_data from here.
  v8::ScriptCompiler::Source compile_source(source, origin, cached_data);
  v8::Local<v8::Script> script;
  if (!v8::ScriptCompiler::Compile(context, &compile_source,
                                   cached ? v8::ScriptCompiler::kConsumeCodeCache
                                          : v8::ScriptCompiler::kNoCompileOptions)
           .ToLocal(&script)) {
    return PendingException();
  }
  const bool make_cache = !cached || compile_source.GetCachedData()->rejected;
  v8::Local<v8::Value> function;
  v8::Local<v8::Value> args[] = {call.arg(1), call.arg(2)};
  v8::Local<v8::Value> ignored;
  if (!script->Run(context).ToLocal(&function) || !function->IsFunction() ||
      !function.As<v8::Function>()->Call(context, v8::Undefined(isolate), 2, args).ToLocal(&ignored)) {
    return PendingException();
  }
  // The source is the process's, not this isolate's (static_source.h).
  call.data().add_shared_source_bytes(text.payload_bytes());
  if (make_cache) {
    std::unique_ptr<v8::ScriptCompiler::CachedData> made(
        v8::ScriptCompiler::CreateCodeCache(script->GetUnboundScript()));
    if (made != nullptr && made->length > 0) {
      CodeCache().Put(index, std::string(reinterpret_cast<const char*>(made->data),
                                         static_cast<size_t>(made->length)));
    }
  }
  return v8::Undefined(isolate).As<v8::Value>();
}

// lazyDefine(object, name, key): `object[name]`, a data property whose
// value is `internals[key]`, read the first time a worker reads it.
NativeResult LazyDefine(NativeCall& call) {
  v8::Isolate* isolate = call.isolate();
  if (!call.arg(0)->IsObject() || !call.arg(1)->IsString() || !call.arg(2)->IsString()) {
    return Status(ErrorCode::kInternal, "internal error: lazyDefine(object, name, key)");
  }
  bool defined = false;
  if (!call.arg(0)
           .As<v8::Object>()
           ->SetLazyDataProperty(call.context(), call.arg(1).As<v8::String>(), LazyPropertyGetter,
                                 call.arg(2), v8::DontEnum)
           .To(&defined)) {
    return PendingException();
  }
  if (!defined) return Status(ErrorCode::kInternal, "internal error: lazyDefine refused");
  return v8::Undefined(isolate).As<v8::Value>();
}

}  // namespace

void LazyPropertyGetter(v8::Local<v8::Name> name, const v8::PropertyCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  IsolateData* data = IsolateData::From(isolate);
  v8::Local<v8::Object> internals = data != nullptr ? data->internals() : v8::Local<v8::Object>();
  if (internals.IsEmpty() || !info.Data()->IsString()) {
    isolate->ThrowException(v8::Exception::Error(
        v8::String::NewFromUtf8Literal(isolate, "internal error: this API is not available here")));
    return;
  }
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Value> value;
  if (!internals->Get(context, info.Data()).ToLocal(&value)) return;  // its exception is pending
  // V8 replaces the property with a data property once this returns, and
  // requires it to be this accessor still: were it changed meanwhile (only
  // code the lazy file must never call could), fail the read instead.
  bool still_lazy = false;
  if (!info.Holder()->HasRealNamedCallbackProperty(context, name).To(&still_lazy)) return;
  if (!still_lazy) {
    isolate->ThrowException(v8::Exception::TypeError(v8::String::NewFromUtf8Literal(
        isolate, "internal error: a lazy property changed while it was made")));
    return;
  }
  info.GetReturnValue().Set(value);
}

void RegisterLazyJsNatives(NativeRegistry& registry) {
  registry.Add({{"lazyLoad", LazyLoad}, {"lazyDefine", LazyDefine}});
}

}  // namespace edge::runtime
