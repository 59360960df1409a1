// V8's inspector for one worker isolate (`edge dev --inspect`): the
// V8InspectorClient the debugger, profilers and console of DevTools run
// through, and one V8 session per DevTools session of its InspectorTarget.
// Lives on the isolate's thread and dies before the isolate does.
#pragma once

#include <v8-inspector.h>
#include <v8.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/inspector/inspector_target.h"

namespace edge::runtime {

class WorkerInspector final : public v8_inspector::V8InspectorClient {
 public:
  // `context` is the worker's, before any of its scripts is compiled (V8
  // ties a script to the inspector's context when it compiles it). `root_dir` turns the module names of stacks
  // (paths relative to it) into file: URLs, against which DevTools finds
  // a script's source map.
  WorkerInspector(v8::Isolate* isolate, v8::Local<v8::Context> context,
                  std::shared_ptr<InspectorTarget> target, std::string root_dir,
                  std::string name);
  ~WorkerInspector() override;
  WorkerInspector(const WorkerInspector&) = delete;
  WorkerInspector& operator=(const WorkerInspector&) = delete;

  // Hands the target's sessions to this isolate (once the worker loaded:
  // a reload that fails leaves them with the version still serving).
  void Attach();

  // An exception the worker did not catch (a handler that threw or
  // rejected): shown in DevTools' console as V8 shows uncaught ones, with
  // the stack captured when the error was made. `description` is the text
  // the log shows. Only while a session is attached; never throws.
  void ExceptionThrown(v8::Local<v8::Context> context, v8::Local<v8::Value> exception,
                       std::string_view description);

  // From the target, on the isolate's thread.
  void Connect(int session, std::shared_ptr<InspectorFrontend> frontend);
  void Dispatch(int session, std::string_view message);
  void Disconnect(int session);

  // v8_inspector::V8InspectorClient
  void runMessageLoopOnPause(int context_group_id) override;
  void quitMessageLoopOnPause() override { paused_ = false; }
  v8::Local<v8::Context> ensureDefaultContextInGroup(int context_group_id) override;
  double currentTimeMS() override;
  std::unique_ptr<v8_inspector::StringBuffer> resourceNameToUrl(
      const v8_inspector::StringView& resource_name) override;

 private:
  class Channel;
  static constexpr int kContextGroup = 1;

  v8::Isolate* isolate_;
  v8::Global<v8::Context> context_;
  std::shared_ptr<InspectorTarget> target_;
  std::string root_dir_;
  std::unique_ptr<v8_inspector::V8Inspector> inspector_;
  std::map<int, std::unique_ptr<Channel>> sessions_;
  // Sessions whose DevTools went away while a message of theirs was being
  // handled (a V8 session must not be destroyed inside its own dispatch):
  // resumed at once, destroyed once no dispatch is on the stack.
  std::vector<std::unique_ptr<Channel>> closing_;
  int dispatch_depth_ = 0;
  bool paused_ = false;
};

// The text of an inspector string as UTF-8 (the other way is
// base::Utf8ToUtf16).
std::string InspectorStringToUtf8(const v8_inspector::StringView& view);

}  // namespace edge::runtime
