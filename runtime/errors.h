// Turning JavaScript exceptions into text for the server log.
#pragma once

#include <v8.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace edge::runtime {

// "file:line:column: Name: message" followed by the JS stack trace when there
// is one. Works for exceptions caught by a TryCatch and for rejection reasons.
std::string DescribeException(v8::Isolate* isolate, v8::Local<v8::Value> exception,
                              v8::Local<v8::Message> message = {});

// Converts any value to a std::string the way String(value) would, without
// throwing (an exception while converting yields a placeholder).
std::string ToStdString(v8::Isolate* isolate, v8::Local<v8::Value> value);

// The exception `try_catch` holds as an invalid-input Status ("what: ..."),
// or "what: execution terminated" when the watchdog or a limit stopped it.
Status ExceptionStatus(v8::Isolate* isolate, v8::TryCatch& try_catch, std::string_view what);

}  // namespace edge::runtime
