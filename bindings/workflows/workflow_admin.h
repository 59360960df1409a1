// What `edge workflows` and the node's admin API (/workflows) do with a
// WorkflowStore, written once: the JSON both show (`edge workflows` prints
// the same JSON whether it read the local state or a node), and the
// operations on instances. JSON params given from the outside (`edge
// workflows trigger NAME '{"a":1}'`) are stored as JSON text; the runtime
// tells them from V8's serialization (which starts with 0xFF) and parses
// them (bindings/workflows/workflow.js).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "bindings/workflows/workflow_store.h"

namespace edge::bindings {

// {"workflows":[{"name","instances","queued",...}]}
StatusOr<std::string> WorkflowsJson(WorkflowStore& store, std::string_view account);
// {"workflow","instances":[{"id","status","created_ms","ended_ms","wake_ms","version"}]},
// newest first, at most `limit`.
StatusOr<std::string> InstancesJson(WorkflowStore& store, std::string_view account,
                                    std::string_view workflow, size_t limit);
// One instance with its steps' timeline: {"id","status",...,"error",
// "steps":[{"name","count","type","state","attempts","start_ms","end_ms",
// "wake_ms","output_bytes","error","event_type","history":[...]}]}.
StatusOr<std::string> DescribeJson(WorkflowStore& store, std::string_view account,
                                   std::string_view workflow, std::string_view id);
// "pause", "resume", "terminate" or "restart".
Status ControlInstance(WorkflowStore& store, std::string_view account, std::string_view workflow,
                       std::string_view id, std::string_view op);
// Creates an instance of `definition` (id "" for a new UUID) with JSON
// `params_json` ("" for none). Returns its id.
StatusOr<std::string> TriggerInstance(WorkflowStore& store, const WorkflowInstance& definition,
                                      std::string_view params_json);
// A random id as Workers gives an instance created without one (a UUID).
StatusOr<std::string> NewWorkflowInstanceId();

}  // namespace edge::bindings
