// Errors as values, for C++ code that can fail on input (files, network,
// worker code). A Status carries a code that maps to a JavaScript error name
// when it crosses into V8, and a message meant for a person.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace edge {

enum class ErrorCode {
  kOk = 0,
  kTypeError,     // JS TypeError
  kRangeError,    // JS RangeError
  kSyntaxError,   // JS SyntaxError
  kDomException,  // JS DOMException; Status::name() holds the DOMException name
  kNotFound,      // a file or a key that is not there
  kInvalidInput,  // bad configuration, bad request, bad data from a peer
  kIo,            // the operating system said no
  kInternal,      // a broken invariant that was caught instead of crashing
  kJsException,   // a JS exception is already pending in the isolate: rethrow it as is
};

// Which of a worker's limits stopped it, when that is why something failed
// (a load refused, a response failed). Code that counts kills or quarantines
// a worker branches on this, never on the wording of a message.
enum class LimitKind {
  kNone = 0,
  kCpu,         // one entry into its JavaScript used up its CPU time limit
  kStartupCpu,  // the top-level code of its modules used up the startup CPU limit
  kMemory,      // its isolate reached its heap limit
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message, std::string name = {})
      : code_(code), message_(std::move(message)), name_(std::move(name)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The DOMException name (e.g. "DataCloneError") for kDomException.
  const std::string& name() const { return name_; }
  // The limit that caused the failure, if one did.
  LimitKind limit() const { return limit_; }
  // This status, marked as caused by `limit`.
  Status WithLimit(LimitKind limit) && {
    limit_ = limit;
    return std::move(*this);
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string name_;
  LimitKind limit_ = LimitKind::kNone;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace edge

// Returns early from a function returning Status or StatusOr when `expr`
// yields a non-ok Status.
#define EDGE_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::edge::Status _edge_status = (expr);        \
    if (!_edge_status.ok()) return _edge_status; \
  } while (0)
