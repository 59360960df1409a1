// console.* output: the formatting is runtime/console/console.js; the line goes
// to the server log tagged with the worker's name.
#include "runtime/web_apis.h"
#include "runtime/isolate_data.h"
#include "runtime/source_map_registry.h"
#include "base/log.h"

namespace edge::runtime {
namespace {

// log(level, message, responseId): responseId names the invocation that
// wrote it (0: none, e.g. top-level code or a timer after the response).
NativeResult ConsoleLog(NativeCall& call) {
  auto level_name = call.StringArg(0);
  if (!level_name.ok()) return level_name.status();
  auto message = call.StringArg(1);
  if (!message.ok()) return message.status();
  // A logged stack (console.error(error)) is shown source-mapped, as the
  // stack of an uncaught exception is.
  if (call.data().source_maps() != nullptr && message->find("\n    at ") != std::string::npos) {
    *message = call.data().source_maps()->MapStack(*message);
  }
  auto response_id = call.NumberArg(2);
  IsolateData& data = call.data();
  if (response_id.ok() && *response_id >= 1 && *response_id <= UINT32_MAX) {
    ResponseSink* sink = data.FindResponse(static_cast<uint32_t>(*response_id));
    if (sink != nullptr && sink->OnConsole(*level_name, *message)) {
      return v8::Undefined(call.isolate()).As<v8::Value>();
    }
  }
  if (data.console_hook()) {
    data.console_hook()(*level_name, *message);
  } else {
    LogLevel level = LogLevel::kInfo;
    if (*level_name != "log") ParseLogLevel(*level_name, &level);
    Log(level, "[{}] {}", data.worker_name(), *message);
  }
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

}  // namespace

void RegisterConsoleNatives(NativeRegistry& registry) {
  registry.Add("log", ConsoleLog);
}

}  // namespace edge::runtime
