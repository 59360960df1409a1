// Natives the runtime's own JavaScript needs from the event loop: timers, the
// channel a response travels through to the gateway, and the current
// invocation (runtime/js/invocation.js).
#include <fmt/core.h>

#include <cmath>

#include "runtime/errors.h"
#include "runtime/global_scope.h"
#include "runtime/inspector/worker_inspector.h"
#include "runtime/isolate_data.h"
#include "runtime/lazy_js.h"
#include "base/log.h"
#include "runtime/source_map_registry.h"
#include "runtime/worker.h"

namespace edge::runtime {
namespace {

// setTimer(callback, delayMs, repeat) -> id
NativeResult SetTimer(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(CheckNotGlobalScope(call.data()));
  auto callback = call.FunctionArg(0);
  if (!callback.ok()) return callback.status();
  auto delay = call.NumberArg(1);
  if (!delay.ok()) return delay.status();
  double ms = std::isfinite(*delay) && *delay > 0 ? std::floor(*delay) : 0;
  // Browsers clamp to a signed 32-bit millisecond count.
  if (ms > 2147483647.0) ms = 0;
  uint32_t id = call.data().timers().Start(call.isolate(), *callback, static_cast<uint64_t>(ms),
                                           call.BoolArg(2));
  return v8::Integer::NewFromUnsigned(call.isolate(), id).As<v8::Value>();
}

NativeResult ClearTimer(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(CheckNotGlobalScope(call.data()));  // as Workers, clearing too
  auto id = call.NumberArg(0);
  if (!id.ok()) return id.status();
  if (*id >= 1 && *id <= 4294967295.0) call.data().timers().Clear(static_cast<uint32_t>(*id));
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

StatusOr<uint32_t> ResponseId(NativeCall& call) {
  auto id = call.NumberArg(0);
  if (!id.ok()) return id.status();
  return static_cast<uint32_t>(*id);
}

// The status line and headers of a response: arguments 1 to 3 of
// responseStart and responseSend.
struct ResponseHead {
  int status;
  std::string status_text;
  HeaderList headers;
};

StatusOr<ResponseHead> HeadArgs(NativeCall& call) {
  auto status = call.NumberArg(1);
  if (!status.ok()) return status.status();
  auto text = call.StringArg(2);
  if (!text.ok()) return text.status();
  auto headers = call.HeaderListArg(3);
  if (!headers.ok()) return headers.status();
  return ResponseHead{static_cast<int>(*status), std::move(text).value(),
                      std::move(headers).value()};
}

// responseStart(id, status, statusText, headers, contentLength | -1)
NativeResult ResponseStart(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  auto head = HeadArgs(call);
  if (!head.ok()) return head.status();
  auto length = call.NumberArg(4);
  if (!length.ok()) return length.status();
  if (ResponseSink* sink = call.data().FindResponse(*id)) {
    std::optional<uint64_t> content_length;
    if (*length >= 0) content_length = static_cast<uint64_t>(*length);
    sink->Start(head->status, head->status_text, std::move(head->headers), content_length);
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// responseSend(id, status, statusText, headers, body): a whole response whose
// body is null, a string (sent as UTF-8) or a Uint8Array, in one call.
NativeResult ResponseSend(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  auto head = HeadArgs(call);
  if (!head.ok()) return head.status();
  ResponseSink* sink = call.data().FindResponse(*id);
  if (sink == nullptr) return v8::Undefined(call.isolate()).As<v8::Value>();

  v8::Local<v8::Value> body = call.arg(4);
  std::string_view bytes;
  // Reused per thread: a string body is encoded straight into it.
  thread_local std::string scratch;
  if (body->IsString()) {
    auto string = body.As<v8::String>();
    scratch.resize(string->Utf8Length(call.isolate()));
    string->WriteUtf8(call.isolate(), scratch.data(), static_cast<int>(scratch.size()), nullptr,
                      v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
    bytes = scratch;
  } else if (!body->IsNullOrUndefined()) {
    auto view = call.BytesArg(4);
    if (!view.ok()) return view.status();
    bytes = *view;
  }
  sink->Start(head->status, head->status_text, std::move(head->headers), bytes.size());
  if (!bytes.empty()) sink->Write(bytes);
  sink->Finish();
  call.data().RemoveResponse(*id);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// responseWrite(id, bytes) -> true when the caller should wait for drain.
NativeResult ResponseWrite(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  auto bytes = call.BytesArg(1);
  if (!bytes.ok()) return bytes.status();
  bool wait = false;
  if (ResponseSink* sink = call.data().FindResponse(*id)) {
    sink->Write(*bytes);
    wait = sink->NeedsDrain();
  }
  return v8::Boolean::New(call.isolate(), wait).As<v8::Value>();
}

// responseOnDrain(id, callback): calls back once the sink can take more.
NativeResult ResponseOnDrain(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  auto callback = call.FunctionArg(1);
  if (!callback.ok()) return callback.status();
  ResponseSink* sink = call.data().FindResponse(*id);
  if (sink == nullptr) return v8::Undefined(call.isolate()).As<v8::Value>();
  IsolateData* data = &call.data();
  auto global = std::make_shared<v8::Global<v8::Function>>(call.isolate(), *callback);
  sink->OnDrain([data, global] {
    // The drain is reported from the socket's write callback, outside any
    // JavaScript frame: enter the isolate properly.
    CallbackScope scope(data);
    v8::Local<v8::Value> ignored;
    v8::TryCatch try_catch(data->isolate());
    if (!global->Get(data->isolate())
             ->Call(scope.context(), v8::Undefined(data->isolate()), 0, nullptr)
             .ToLocal(&ignored)) {
      // The resolve function of a promise cannot throw; termination can.
      return;
    }
  });
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

NativeResult ResponseFinish(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  if (ResponseSink* sink = call.data().FindResponse(*id)) {
    sink->Finish();
    call.data().RemoveResponse(*id);
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// responseFail(id, description[, error]): logs the worker's error (with its
// stack, source-mapped), shows `error` in an attached DevTools console, and
// ends the response with a 500, or cuts it short if it already started.
NativeResult ResponseFail(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  auto description = call.StringArg(1);
  if (!description.ok()) return description.status();
  SourceMapRegistry* maps = call.data().source_maps();
  std::string shown = maps != nullptr ? maps->MapStack(*description) : *description;
  Log(LogLevel::kError, "[{}] {}", call.data().worker_name(), shown);
  if (WorkerInspector* inspector = call.data().inspector(); inspector != nullptr && call.length() > 2) {
    inspector->ExceptionThrown(call.context(), call.arg(2), *description);
  }
  if (ResponseSink* sink = call.data().FindResponse(*id)) {
    sink->OnUncaughtException(shown);
    sink->Fail("Worker threw exception", LimitKind::kNone);
    call.data().RemoveResponse(*id);
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

NativeResult ResponseAborted(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  ResponseSink* sink = call.data().FindResponse(*id);
  return v8::Boolean::New(call.isolate(), sink == nullptr || sink->Aborted()).As<v8::Value>();
}

// holdWorker(+1 | -1): waitUntil work that keeps this worker version loaded.
NativeResult HoldWorker(NativeCall& call) {
  auto delta = call.NumberArg(0);
  if (!delta.ok()) return delta.status();
  call.data().AddHolds(*delta > 0 ? 1 : -1);
  // The invocation that called waitUntil lasts until its promise settles
  // (the settling runs in the same invocation: V8 carries it there).
  call.data().HoldInvocation(call.data().CurrentInvocationKey(call.context()), *delta > 0 ? 1 : -1);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// uploadRead(id): starts delivering a streamed request body to
// internals.uploadEvent(id, "data" | "end" | "error", chunk | message), from
// the loop.
NativeResult UploadRead(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  RequestBodySource* source = call.data().FindUpload(*id);
  if (source == nullptr) return v8::Undefined(call.isolate()).As<v8::Value>();
  std::weak_ptr<IsolateData*> weak = call.data().weak();
  uint32_t upload = *id;
  // Each event is delivered from the loop, never from inside the gateway's
  // parser callbacks.
  auto send = [weak, upload](std::string event, std::string payload) {
    auto alive = weak.lock();
    if (!alive || *alive == nullptr) return;
    (*alive)->Defer([weak, upload, event = std::move(event), payload = std::move(payload)] {
      auto still = weak.lock();
      if (!still || *still == nullptr) return;
      IsolateData* data = *still;
      if (event != "data") data->RemoveUpload(upload);
      CallbackScope scope(data);
      v8::Isolate* isolate = data->isolate();
      v8::Local<v8::Value> handler;
      if (!data->internals()
               ->Get(scope.context(), v8::String::NewFromUtf8Literal(isolate, "uploadEvent"))
               .ToLocal(&handler) ||
          !handler->IsFunction()) {
        return;
      }
      v8::Local<v8::Value> value;
      std::string_view kind = event;
      if (event == "data") {
        // Over the memory budget the worker is stopped (buffer_allocator.h);
        // the upload ends with the error.
        StatusOr<v8::Local<v8::Uint8Array>> bytes = NewUint8Array(isolate, payload);
        if (bytes.ok()) {
          value = *bytes;
        } else {
          data->RemoveUpload(upload);
          kind = "error";
          value = Utf8String(isolate, bytes.status().message());
        }
      } else {
        value = Utf8String(isolate, payload);
      }
      v8::Local<v8::Value> args[] = {v8::Integer::NewFromUnsigned(isolate, upload),
                                     Utf8String(isolate, kind), value};
      // uploadEvent cannot throw but for termination: nothing to report then.
      v8::TryCatch try_catch(isolate);
      v8::Local<v8::Value> ignored;
      if (!handler.As<v8::Function>()
               ->Call(scope.context(), v8::Undefined(isolate), 3, args)
               .ToLocal(&ignored)) {
        return;
      }
    });
  };
  source->Read({[send](std::string_view chunk) { send("data", std::string(chunk)); },
                [send] { send("end", {}); },
                [send](std::string_view reason) { send("error", std::string(reason)); }});
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// uploadPause(id, paused): backpressure from the worker's stream.
NativeResult UploadPause(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  if (RequestBodySource* source = call.data().FindUpload(*id)) source->Pause(call.BoolArg(1));
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// uploadCancel(id): the worker does not want the rest of the body.
NativeResult UploadCancel(NativeCall& call) {
  auto id = ResponseId(call);
  if (!id.ok()) return id.status();
  if (RequestBodySource* source = call.data().FindUpload(*id)) {
    source->Pause(true);
    call.data().RemoveUpload(*id);
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// currentInvocation() / setCurrentInvocation(value): the invocation a piece
// of JavaScript runs for, carried along promise reactions by V8 (the
// context's continuation-preserved embedder data). Only the context is needed.
NativeResult CurrentInvocation(NativeCall& call) {
  return call.context()->GetContinuationPreservedEmbedderData();
}

NativeResult SetCurrentInvocation(NativeCall& call) {
  call.context()->SetContinuationPreservedEmbedderData(call.arg(0));
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// invocationBegin(responseId, limit) -> key: the C++ state of a new
// invocation (runtime/js/invocation.js).
NativeResult InvocationBegin(NativeCall& call) {
  auto response = call.NumberArg(0);
  if (!response.ok()) return response.status();
  auto limit = call.NumberArg(1);
  if (!limit.ok()) return limit.status();
  double clamped = *limit < 0 ? 0 : *limit > 4294967295.0 ? 4294967295.0 : *limit;
  double key = call.data().BeginInvocation(static_cast<uint32_t>(*response),
                                           static_cast<uint32_t>(clamped));
  return v8::Number::New(call.isolate(), key).As<v8::Value>();
}

// invocationCount(key): counts one subrequest; throws once the limit is
// reached. An invocation that ended counts nothing.
NativeResult InvocationCount(NativeCall& call) {
  auto key = call.NumberArg(0);
  if (!key.ok()) return key.status();
  if (IsolateData::Invocation* invocation = call.data().FindInvocation(*key)) {
    Status counted = CountInvocationSubrequest(*invocation);
    if (!counted.ok()) return counted;
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

// invocationInfo(key) -> [subrequests, limit, ended]
NativeResult InvocationInfo(NativeCall& call) {
  auto key = call.NumberArg(0);
  if (!key.ok()) return key.status();
  v8::Isolate* isolate = call.isolate();
  IsolateData::Invocation* invocation = call.data().FindInvocation(*key);
  v8::Local<v8::Value> items[] = {
      v8::Integer::NewFromUnsigned(isolate, invocation ? invocation->subrequests : 0),
      v8::Integer::NewFromUnsigned(isolate, invocation ? invocation->limit : 0),
      v8::Boolean::New(isolate, invocation == nullptr)};
  return v8::Array::New(isolate, items, 3).As<v8::Value>();
}

// invocationEnd(key): the invocation is over.
NativeResult InvocationEnd(NativeCall& call) {
  auto key = call.NumberArg(0);
  if (!key.ok()) return key.status();
  call.data().EndInvocation(*key);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

}  // namespace

Status CountInvocationSubrequest(IsolateData::Invocation& invocation) {
  if (invocation.subrequests >= invocation.limit) {
    return Status(ErrorCode::kInvalidInput,
                  fmt::format("Too many subrequests. This invocation may make {} subrequests "
                              "(each fetch(), each redirect it follows, each service-binding call "
                              "and each Cache API put, match or delete counts as one).",
                              invocation.limit));
  }
  ++invocation.subrequests;
  return Status::Ok();
}

void RegisterRuntimeNatives(NativeRegistry& registry) {
  registry.Add({{"uploadRead", UploadRead},
                {"uploadPause", UploadPause},
                {"uploadCancel", UploadCancel},
                {"holdWorker", HoldWorker},
                {"setTimer", SetTimer},
                {"clearTimer", ClearTimer},
                {"responseSend", ResponseSend},
                {"responseStart", ResponseStart},
                {"responseWrite", ResponseWrite},
                {"responseOnDrain", ResponseOnDrain},
                {"responseFinish", ResponseFinish},
                {"responseFail", ResponseFail},
                {"responseAborted", ResponseAborted},
                {"currentInvocation", CurrentInvocation},
                {"invocationBegin", InvocationBegin},
                {"invocationCount", InvocationCount},
                {"invocationInfo", InvocationInfo},
                {"invocationEnd", InvocationEnd},
                {"setCurrentInvocation", SetCurrentInvocation}});
  RegisterLazyJsNatives(registry);
}

}  // namespace edge::runtime
