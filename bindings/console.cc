// console.* output: the formatting is runtime/js/console.js; the line goes
// to the server log tagged with the worker's name.
#include "bindings/bindings.h"
#include "runtime/isolate_data.h"
#include "runtime/log.h"

namespace edge::bindings {
namespace {
using runtime::NativeCall;
using runtime::NativeResult;

// log(level, message)
NativeResult ConsoleLog(NativeCall& call) {
  auto level_name = call.StringArg(0);
  if (!level_name.ok()) return level_name.status();
  auto message = call.StringArg(1);
  if (!message.ok()) return message.status();
  LogLevel level = LogLevel::kInfo;
  if (*level_name != "log") ParseLogLevel(*level_name, &level);
  Log(level, "[{}] {}", call.data().worker_name(), *message);
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

}  // namespace

void RegisterConsoleNatives(runtime::NativeRegistry& registry) {
  registry.Add("log", ConsoleLog);
}

}  // namespace edge::bindings
