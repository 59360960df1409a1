// Where a node's workflow bindings send their calls when the instances live
// on another node: the fleet's home (docs/edge-sync.md, "Workflows in a
// fleet"). A PoP of a fleet sets one (edge-sync/workflow_forwarder.h); a
// standalone node and `edge dev` have none, and every call goes to their
// own WorkflowStore.
//
// Each method blocks (the natives call it on the thread pool) and answers
// as the store would: the same error codes and Workers' messages, so a
// tenant sees the same errors wherever its instance lives.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "bindings/workflows/workflow_store.h"

namespace edge::bindings {

class WorkflowFleet {
 public:
  virtual ~WorkflowFleet() = default;
  // True when this node is not the home: calls go to the home (through the
  // origin). On the home, calls go to the local store, and to the fleet
  // only for an instance the store does not hold (one created elsewhere
  // that has not reached it yet).
  virtual bool Remote() const = 0;
  // create() (`batch` false: one instance, an id taken is an error) or
  // createBatch() (ids taken are skipped). Returns the ids created once
  // they are durable at the origin.
  virtual StatusOr<std::vector<std::string>> Create(const std::vector<WorkflowInstance>& instances,
                                                    bool batch) = 0;
  // What status() shows: the status, the output and the error of the
  // instance as its home last reported it.
  virtual StatusOr<WorkflowInstance> Get(std::string_view account, std::string_view workflow,
                                         std::string_view id) = 0;
  // "pause", "resume", "terminate" or "restart".
  virtual Status Control(std::string_view account, std::string_view workflow, std::string_view id,
                         std::string_view op) = 0;
  virtual Status SendEvent(std::string_view account, std::string_view workflow, std::string_view id,
                           const WorkflowEventRecord& event) = 0;
};

}  // namespace edge::bindings
