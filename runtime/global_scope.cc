#include "runtime/global_scope.h"

#include "runtime/isolate_data.h"

namespace edge::runtime {

Status CheckNotGlobalScope(const IsolateData& data) {
  // kInvalidInput becomes a plain Error (ThrowStatus), as on Workers.
  if (data.in_global_scope()) return Status(ErrorCode::kInvalidInput, kGlobalScopeError);
  return Status::Ok();
}

GlobalScope::GlobalScope(IsolateData& data) : data_(data) { data_.set_in_global_scope(true); }

GlobalScope::~GlobalScope() { data_.set_in_global_scope(false); }

}  // namespace edge::runtime
