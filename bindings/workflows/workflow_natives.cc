// The natives behind Cloudflare Workflows (bindings/workflows/workflow.js
// holds the API): workflowSerialize (a step's result, an output, params,
// an event payload in V8's serialization, at most 1 MiB, stopped early
// when larger), and the binding's calls on the WorkflowStore, each run on
// the thread pool, its promise settled once the change is committed.
// The workflow a binding reaches comes from the isolate's binding table
// (the host wrote it), never from JavaScript.
#include <fmt/core.h>

#include <memory>

#include "bindings/binding_services.h"
#include "bindings/workflows/workflow_admin.h"
#include "bindings/workflows/workflow_fleet.h"
#include "bindings/workflows/workflow_store.h"
#include "runtime/buffer_allocator.h"
#include "runtime/errors.h"
#include "runtime/html/structured_clone.h"
#include "runtime/isolate_data.h"
#include "runtime/native.h"
#include "runtime/thread_pool_job.h"

namespace edge::bindings {
namespace {
using runtime::IsolateData;
using runtime::NativeCall;
using runtime::NativeResult;

struct Target {
  std::shared_ptr<WorkflowStore> store;
  std::string account, workflow, worker, class_name, version;
  // On a PoP of a fleet: the home's side (null on a standalone node).
  std::shared_ptr<WorkflowFleet> fleet;
  bool remote = false;  // this node is not the home: every call goes to the fleet
};

// A call on an existing instance: to the home when this node is not it;
// on the home, to the local store, and to the fleet when the store does
// not hold the instance (created at another PoP, not applied here yet).
inline const Status& StatusOf(const Status& status) { return status; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& result) {
  return result.status();
}

template <typename Result, typename Local, typename Remote>
Result Routed(const Target& target, Local local, Remote remote) {
  if (target.fleet != nullptr && target.remote) return remote(*target.fleet);
  Result result = local(*target.store);
  if (StatusOf(result).code() == ErrorCode::kNotFound && target.fleet != nullptr) {
    return remote(*target.fleet);
  }
  return result;
}

StatusOr<Target> TargetOf(NativeCall& call) {
  const runtime::EnvBinding* binding = call.data().FindBinding(call.arg(0), "workflow");
  if (binding == nullptr) return runtime::TypeError("not a workflow binding of this worker");
  BindingServices* services = ServicesOf(call.data().services());
  if (services == nullptr || services->workflows == nullptr) {
    return runtime::TypeError("Workflows are not available: this host was started without a workflow store");
  }
  Target target{services->workflows, binding->Option("account"), binding->Option("workflow"),
                binding->Option("worker"), binding->Option("class_name"), binding->Option("version")};
  target.fleet = std::atomic_load(&services->workflow_fleet);
  target.remote = target.fleet != nullptr && target.fleet->Remote();
  return target;
}

// Each call counts as a subrequest of the calling invocation, as on
// Workers; none is made once the invocation has ended.
Status CountCall(NativeCall& call) {
  double key = call.data().CurrentInvocationKey(call.context());
  if (call.data().InvocationEnded(key)) {
    return runtime::TypeError(
        "A workflow call was made by an invocation that has ended (its response was sent and its "
        "waitUntil work settled)");
  }
  if (IsolateData::Invocation* invocation = call.data().FindInvocation(key)) {
    EDGE_RETURN_IF_ERROR(runtime::CountInvocationSubrequest(*invocation));
  }
  return Status::Ok();
}

StatusOr<std::string> IdArg(NativeCall& call, int index) {
  auto id = call.StringArg(index);
  if (!id.ok()) return id.status();
  if (id->size() > kWorkflowMaxIdBytes * 4) return ValidateWorkflowId(id->substr(0, 120), "The instance id");
  EDGE_RETURN_IF_ERROR(ValidateWorkflowId(*id, "The instance id"));
  return std::move(id).value();
}

// workflowSerialize(value, what) -> Uint8Array, at most 1 MiB.
NativeResult WorkflowSerialize(NativeCall& call) {
  auto what = call.StringArg(1);
  if (!what.ok()) return what.status();
  StatusOr<std::string> bytes = runtime::SerializeValue(call.isolate(), call.context(), call.arg(0),
                                                        kWorkflowMaxStepResultBytes, *what);
  if (!bytes.ok()) return bytes.status();
  size_t length = bytes->size();
  StatusOr<v8::Local<v8::ArrayBuffer>> buffer = runtime::AdoptBytes(call.isolate(), std::move(bytes).value());
  if (!buffer.ok()) return buffer.status();
  return v8::Uint8Array::New(*buffer, 0, length).As<v8::Value>();
}

// workflowCreate(handle, [[id, params bytes | undefined], ...], batch) ->
// Promise<string[]> (the ids created; a batch skips ids already taken).
NativeResult WorkflowCreate(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  if (!call.arg(1)->IsArray()) return runtime::TypeError("workflowCreate takes an array");
  auto items = call.arg(1).As<v8::Array>();
  if (items->Length() == 0 || items->Length() > kWorkflowMaxBatch) {
    return runtime::RangeError(fmt::format("createBatch takes 1 to {} instances", kWorkflowMaxBatch));
  }
  bool batch = call.arg(2)->IsTrue();
  int64_t now = target->store->clock()();
  std::vector<WorkflowInstance> instances;
  for (uint32_t i = 0; i < items->Length(); ++i) {
    v8::Local<v8::Value> item, id, params;
    if (!items->Get(call.context(), i).ToLocal(&item)) return runtime::PendingException();
    if (!item->IsArray() || item.As<v8::Array>()->Length() != 2) {
      return runtime::TypeError("a workflow instance to create must be [id, params]");
    }
    auto fields = item.As<v8::Array>();
    if (!fields->Get(call.context(), 0).ToLocal(&id) || !fields->Get(call.context(), 1).ToLocal(&params)) {
      return runtime::PendingException();
    }
    if (!id->IsString()) return runtime::TypeError("a workflow instance id must be a string");
    WorkflowInstance instance;
    instance.id = runtime::ToStdString(call.isolate(), id.As<v8::String>());
    if (instance.id.empty()) {
      auto made = NewWorkflowInstanceId();
      if (!made.ok()) return made.status();
      instance.id = std::move(made).value();
    } else {
      EDGE_RETURN_IF_ERROR(ValidateWorkflowId(instance.id.substr(0, 4 * kWorkflowMaxIdBytes), "The instance id"));
    }
    if (params->IsUint8Array()) {
      auto view = params.As<v8::Uint8Array>();
      if (view->ByteLength() > kWorkflowMaxParamsBytes) {
        return runtime::RangeError(fmt::format("Workflow instance params are limited to {} bytes once serialized",
                                               kWorkflowMaxParamsBytes));
      }
      instance.params.resize(view->ByteLength());
      view->CopyContents(instance.params.data(), instance.params.size());
    } else if (!params->IsUndefined()) {
      return runtime::TypeError("workflow params must be serialized bytes");
    }
    instance.account = target->account;
    instance.workflow = target->workflow;
    instance.worker = target->worker;
    instance.class_name = target->class_name;
    instance.version = target->version;
    instance.created_ms = now;
    instances.push_back(std::move(instance));
  }
  EDGE_RETURN_IF_ERROR(CountCall(call));
  std::shared_ptr<WorkflowStore> store = target->store;
  std::shared_ptr<WorkflowFleet> fleet = target->remote ? target->fleet : nullptr;
  return runtime::RunJobForPromise(
      call,
      [store, fleet, batch, instances = std::move(instances)]() -> StatusOr<std::vector<std::string>> {
        if (fleet != nullptr) return fleet->Create(instances, batch);
        if (batch) return store->CreateBatch(instances);
        EDGE_RETURN_IF_ERROR(store->Create(instances.front()));
        return std::vector<std::string>{instances.front().id};
      },
      [](const Status& status) { return status; },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double,
         const StatusOr<std::vector<std::string>>& ids) {
        std::vector<v8::Local<v8::Value>> out;
        for (const std::string& id : ids.value()) out.push_back(runtime::Utf8String(isolate, id));
        return runtime::NewArray(isolate, out).As<v8::Value>();
      });
}

// workflowGet(handle, id) -> Promise<undefined>, rejected when there is no
// such instance.
NativeResult WorkflowGet(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto id = IdArg(call, 1);
  if (!id.ok()) return id.status();
  EDGE_RETURN_IF_ERROR(CountCall(call));
  return runtime::RunJobForPromise(
      call,
      [target = *target, id = *id]() -> Status {
        auto found = Routed<StatusOr<WorkflowInstance>>(
            target, [&](WorkflowStore& store) { return store.Get(target.account, target.workflow, id); },
            [&](WorkflowFleet& fleet) { return fleet.Get(target.account, target.workflow, id); });
        return found.ok() ? Status::Ok() : found.status();
      },
      [](const Status& status) { return status; },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, const Status&) {
        return v8::Undefined(isolate).As<v8::Value>();
      });
}

// workflowStatus(handle, id) -> Promise<[status, output bytes | undefined,
// error name, error message]>.
NativeResult WorkflowStatusCall(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto id = IdArg(call, 1);
  if (!id.ok()) return id.status();
  EDGE_RETURN_IF_ERROR(CountCall(call));
  return runtime::RunJobForPromise(
      call,
      [target = *target, id = *id]() {
        return Routed<StatusOr<WorkflowInstance>>(
            target, [&](WorkflowStore& store) { return store.Get(target.account, target.workflow, id); },
            [&](WorkflowFleet& fleet) { return fleet.Get(target.account, target.workflow, id); });
      },
      [](const Status& status) { return status; },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, const StatusOr<WorkflowInstance>& found) {
        const WorkflowInstance& instance = found.value();
        v8::Local<v8::Value> output = v8::Undefined(isolate);
        if (instance.status == WorkflowStatus::kComplete && !instance.output.empty()) {
          auto bytes = runtime::NewUint8Array(isolate, instance.output);
          if (bytes.ok()) output = *bytes;
        }
        std::vector<v8::Local<v8::Value>> fields = {
            runtime::Utf8String(isolate, WorkflowStatusName(instance.status)), output,
            runtime::Utf8String(isolate, instance.error_name),
            runtime::Utf8String(isolate, instance.error_message)};
        return runtime::NewArray(isolate, fields).As<v8::Value>();
      });
}

// workflowControl(handle, id, "pause" | "resume" | "terminate" | "restart").
NativeResult WorkflowControl(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto id = IdArg(call, 1);
  if (!id.ok()) return id.status();
  auto op = call.StringArg(2);
  if (!op.ok()) return op.status();
  if (*op != "pause" && *op != "resume" && *op != "terminate" && *op != "restart") {
    return runtime::TypeError("unknown workflow instance operation");
  }
  EDGE_RETURN_IF_ERROR(CountCall(call));
  return runtime::RunJobForPromise(
      call,
      [target = *target, id = *id, op = *op]() -> Status {
        return Routed<Status>(
            target,
            [&](WorkflowStore& store) { return ControlInstance(store, target.account, target.workflow, id, op); },
            [&](WorkflowFleet& fleet) { return fleet.Control(target.account, target.workflow, id, op); });
      },
      [](const Status& status) { return status; },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, const Status&) {
        return v8::Undefined(isolate).As<v8::Value>();
      });
}

// workflowSendEvent(handle, id, type, payload bytes).
NativeResult WorkflowSendEvent(NativeCall& call) {
  auto target = TargetOf(call);
  if (!target.ok()) return target.status();
  auto id = IdArg(call, 1);
  if (!id.ok()) return id.status();
  auto type = call.StringArg(2);
  if (!type.ok()) return type.status();
  EDGE_RETURN_IF_ERROR(ValidateWorkflowId(type->substr(0, 4 * kWorkflowMaxIdBytes), "The event type"));
  auto payload = call.BytesArg(3);
  if (!payload.ok()) return payload.status();
  if (payload->size() > kWorkflowMaxEventPayloadBytes) {
    return runtime::RangeError(fmt::format("Event payloads are limited to {} bytes once serialized",
                                           kWorkflowMaxEventPayloadBytes));
  }
  EDGE_RETURN_IF_ERROR(CountCall(call));
  WorkflowEventRecord event{*type, std::string(*payload), target->store->clock()()};
  return runtime::RunJobForPromise(
      call,
      [target = *target, id = *id, event = std::move(event)]() {
        return Routed<Status>(
            target,
            [&](WorkflowStore& store) { return store.SendEvent(target.account, target.workflow, id, event); },
            [&](WorkflowFleet& fleet) { return fleet.SendEvent(target.account, target.workflow, id, event); });
      },
      [](const Status& status) { return status; },
      [](v8::Isolate* isolate, v8::Local<v8::Context>, double, const Status&) {
        return v8::Undefined(isolate).As<v8::Value>();
      });
}

}  // namespace

void RegisterWorkflowNatives(runtime::NativeRegistry& registry) {
  registry.Add({{"workflowSerialize", WorkflowSerialize},
                {"workflowCreate", WorkflowCreate},
                {"workflowGet", WorkflowGet},
                {"workflowStatus", WorkflowStatusCall},
                {"workflowControl", WorkflowControl},
                {"workflowSendEvent", WorkflowSendEvent}});
  registry.AddConstant("workflowMaxSteps", kWorkflowMaxSteps);
  registry.AddConstant("workflowMaxStepNameBytes", kWorkflowMaxStepNameBytes);
  registry.AddConstant("workflowMaxRetries", kWorkflowMaxRetries);
  registry.AddConstant("workflowMaxSleepMs", static_cast<double>(kWorkflowMaxSleepMs));
  registry.AddConstant("workflowMaxBatch", kWorkflowMaxBatch);
}

}  // namespace edge::bindings
