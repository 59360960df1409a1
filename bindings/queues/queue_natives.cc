// The natives behind the producer side of Workers Queues
// (bindings/queues/queue.js holds the API). queueSend serializes each
// message on the loop (a "v8" body with V8's serializer, as structuredClone
// does), checks Workers' limits, and stores the batch on the thread pool in
// one LMDB transaction: the promise resolves once it is committed.
#include <fmt/core.h>

#include <memory>

#include "bindings/binding_services.h"
#include "bindings/queues/queue_store.h"
#include "runtime/errors.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/native.h"
#include "runtime/thread_pool_job.h"
#include "runtime/html/structured_clone.h"

namespace edge::bindings {
namespace {
using runtime::IsolateData;
using runtime::NativeCall;
using runtime::NativeResult;

// Where serializing a "v8" body stops: what is past Workers' 128 KiB is
// refused after, but a huge value must not be written whole first.
constexpr size_t kQueueMaxSerializedBytes = 32u << 20;

// A message's body as stored: UTF-8 for a string, the bytes of a view, or
// the structured serialization of any value ("v8").
StatusOr<std::string> BodyOf(NativeCall& call, v8::Local<v8::Value> body,
                             const std::string& type) {
  v8::Isolate* isolate = call.isolate();
  // Bounded while it is written (a huge value stops early); the caller
  // refuses what is over Workers' message limit with its own error.
  if (type == "v8") {
    return runtime::SerializeValue(isolate, call.context(), body, kQueueMaxSerializedBytes,
                                   "Queue messages");
  }
  if (body->IsString()) {
    auto text = body.As<v8::String>();
    size_t length = static_cast<size_t>(text->Utf8Length(isolate));
    // Checked before the copy: a huge string is refused without one.
    if (length > kQueueMaxMessageBytes) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Queue send failed: message length of {} bytes exceeds limit of {} bytes",
                                length, kQueueMaxMessageBytes));
    }
    std::string out(length, '\0');
    text->WriteUtf8(isolate, out.data(), static_cast<int>(length), nullptr,
                    v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
    return out;
  }
  if (body->IsArrayBufferView()) {
    auto view = body.As<v8::ArrayBufferView>();
    if (view->ByteLength() > kQueueMaxMessageBytes) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Queue send failed: message length of {} bytes exceeds limit of {} bytes",
                                view->ByteLength(), kQueueMaxMessageBytes));
    }
    std::string out(view->ByteLength(), '\0');
    view->CopyContents(out.data(), out.size());
    return out;
  }
  return runtime::TypeError("a queue message body must be a string or bytes");
}

// queueSend(handle, [[body, contentType, delaySeconds], ...], method) ->
// Promise<undefined>, settled once the batch is on disk.
NativeResult QueueSend(NativeCall& call) {
  EDGE_RETURN_IF_ERROR(runtime::CheckNotGlobalScope(call.data()));
  const runtime::EnvBinding* binding = call.data().FindBinding(call.arg(0), "queue");
  if (binding == nullptr) return runtime::TypeError("not a queue binding of this worker");
  BindingServices* services = ServicesOf(call.data().services());
  if (services == nullptr || services->queues == nullptr) {
    return runtime::TypeError("Queues are not available: this host was started without a queue store");
  }
  if (!call.arg(1)->IsArray()) return runtime::TypeError("messages must be an array");
  auto method = call.StringArg(2);
  if (!method.ok()) return method.status();
  auto items = call.arg(1).As<v8::Array>();
  // queue.js checks the count too; this holds whatever the worker did to
  // the built-ins it runs on.
  if (items->Length() > kQueueMaxBatchMessages) {
    return Status(ErrorCode::kRangeError,
                  fmt::format("Queue sendBatch failed: batch of {} messages exceeds the limit of {} messages",
                              items->Length(), kQueueMaxBatchMessages));
  }
  std::vector<QueueSendMessage> messages;
  size_t total = 0;
  for (uint32_t i = 0; i < items->Length(); ++i) {
    v8::Local<v8::Value> item;
    if (!items->Get(call.context(), i).ToLocal(&item)) return runtime::PendingException();
    if (!item->IsArray() || item.As<v8::Array>()->Length() != 3) {
      return runtime::TypeError("a queue message must be [body, contentType, delaySeconds]");
    }
    auto fields = item.As<v8::Array>();
    v8::Local<v8::Value> body, type, delay;
    if (!fields->Get(call.context(), 0).ToLocal(&body) ||
        !fields->Get(call.context(), 1).ToLocal(&type) ||
        !fields->Get(call.context(), 2).ToLocal(&delay)) {
      return runtime::PendingException();
    }
    if (!type->IsString() || !delay->IsNumber()) {
      return runtime::TypeError("a queue message must be [body, contentType, delaySeconds]");
    }
    QueueSendMessage message;
    message.content_type = runtime::ToStdString(call.isolate(), type.As<v8::String>());
    double seconds = delay.As<v8::Number>()->Value();
    if (!(seconds >= 0 && seconds <= kQueueMaxDelaySeconds)) {
      return Status(ErrorCode::kRangeError,
                    fmt::format("delaySeconds must be a number from 0 to {}", kQueueMaxDelaySeconds));
    }
    message.delay_seconds = static_cast<int64_t>(seconds);
    auto serialized = BodyOf(call, body, message.content_type);
    if (!serialized.ok()) return serialized.status();
    message.body = std::move(serialized).value();
    if (message.body.size() > kQueueMaxMessageBytes) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Queue {} failed: message length of {} bytes exceeds limit of {} bytes",
                                *method, message.body.size(), kQueueMaxMessageBytes));
    }
    total += message.body.size();
    if (total > kQueueMaxBatchBytes) {
      return Status(ErrorCode::kInvalidInput,
                    fmt::format("Queue sendBatch failed: batch of more than {} bytes exceeds the limit "
                                "of {} bytes",
                                kQueueMaxBatchBytes, kQueueMaxBatchBytes));
    }
    messages.push_back(std::move(message));
  }
  // A send counts as a subrequest of the calling invocation, as on
  // Workers, and none is made for an invocation that ended.
  double key = call.data().CurrentInvocationKey(call.context());
  if (call.data().InvocationEnded(key)) {
    return runtime::TypeError(
        "A queue send was made by an invocation that has ended (its response was sent and its "
        "waitUntil work settled)");
  }
  if (IsolateData::Invocation* invocation = call.data().FindInvocation(key)) {
    EDGE_RETURN_IF_ERROR(runtime::CountInvocationSubrequest(*invocation));
  }
  std::shared_ptr<QueueStore> store = services->queues;
  std::string account = binding->Option("account");
  std::string queue = binding->Option("queue", binding->name);
  return runtime::RunJobForPromise(
      call,
      [store, account = std::move(account), queue = std::move(queue),
       messages = std::move(messages)]() mutable {
        Status sent = store->Send(account, queue, messages);
        std::vector<QueueSendMessage>().swap(messages);  // freed on the pool
        return sent;
      },
      [](const Status& status) { return status; },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, const Status&) {
        return v8::Undefined(isolate).As<v8::Value>();
      });
}

}  // namespace

void RegisterQueueNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"queueSend", QueueSend}});
  registry.AddConstant("queueMaxBatchMessages", kQueueMaxBatchMessages);
  registry.AddConstant("queueMaxDelaySeconds", static_cast<double>(kQueueMaxDelaySeconds));
}

}  // namespace edge::bindings
