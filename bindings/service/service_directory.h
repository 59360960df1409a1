// Service bindings (`[[services]] binding = "AUTH", service = "auth-worker"`):
// how a worker's `env.AUTH.fetch()` reaches another worker loaded in the same
// process, without a network hop. The gateway, which owns the loaded
// workers, implements it.
#pragma once

#include <memory>
#include <string>

#include "runtime/response_sink.h"
#include "base/status.h"

namespace edge::bindings {

class ServiceDirectory {
 public:
  virtual ~ServiceDirectory() = default;
  // Runs the fetch handler of the worker named `service` on the calling
  // thread for `request`; its response goes to `sink`. kNotFound when no
  // such worker is loaded (then `sink` is left alone).
  virtual Status Dispatch(const std::string& service, runtime::FetchRequest request,
                          std::shared_ptr<runtime::ResponseSink> sink) = 0;
};

}  // namespace edge::bindings
