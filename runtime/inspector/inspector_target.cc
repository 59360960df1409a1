#include "runtime/inspector/inspector_target.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>

#include "base/json_text.h"
#include "base/log.h"
#include "base/uv_handle.h"
#include "runtime/inspector/worker_inspector.h"

namespace edge::runtime {
namespace {

// The method and id of a protocol message; an empty method when it is not
// one (the session answers that itself).
struct Call {
  std::string method;
  int64_t id = -1;
  bool ok = false;
};

Call ParseCall(std::string_view message) {
  Call call;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(message.data(), message.size()).get(doc) != simdjson::SUCCESS) return call;
  std::string_view method;
  if (doc["method"].get(method) == simdjson::SUCCESS) call.method = std::string(method);
  int64_t id;
  if (doc["id"].get(id) == simdjson::SUCCESS) call.id = id;
  call.ok = true;
  return call;
}

// `message` with its id replaced (the ids of replayed messages are the
// target's own).
std::string WithId(std::string_view message, int id) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(message.data(), message.size()).get(doc) != simdjson::SUCCESS) return "";
  std::string out = fmt::format("{{\"id\":{}", id);
  simdjson::dom::object object;
  if (doc.get(object) != simdjson::SUCCESS) return "";
  for (auto [key, value] : object) {
    if (key == "id") continue;
    out += ",";
    base::AppendJsonString(out, key);
    out += ":";
    out += simdjson::minify(value);
  }
  out += "}";
  return out;
}

}  // namespace

bool IsReplayedMethod(std::string_view method) {
  // Domains and settings a session turned on, and breakpoints set by URL
  // (which find their scripts again in a new isolate); not breakpoints by
  // script id, whose scripts are gone.
  static constexpr std::array<std::string_view, 21> kMethods = {
      "Runtime.enable",
      "Runtime.disable",
      "Runtime.setAsyncCallStackDepth",
      "Debugger.enable",
      "Debugger.disable",
      "Debugger.setBreakpointByUrl",
      "Debugger.removeBreakpoint",
      "Debugger.setPauseOnExceptions",
      "Debugger.setAsyncCallStackDepth",
      "Debugger.setBlackboxPatterns",
      "Debugger.setBreakpointsActive",
      "Debugger.setSkipAllPauses",
      "Debugger.setInstrumentationBreakpoint",
      "Debugger.removeInstrumentationBreakpoint",
      "Profiler.enable",
      "Profiler.disable",
      "Profiler.setSamplingInterval",
      "HeapProfiler.enable",
      "HeapProfiler.disable",
      "Console.enable",
      "Console.disable",
  };
  return std::find(kMethods.begin(), kMethods.end(), method) != kMethods.end();
}

InspectorTarget::InspectorTarget(uv_loop_t* loop, std::string id, std::string title,
                                 std::string url)
    : id_(std::move(id)), title_(std::move(title)), url_(std::move(url)), async_(new uv_async_t) {
  uv_async_init(loop, async_, OnAsync);
  async_->data = this;
  // The handle must not keep `edge dev`'s loop running by itself.
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
}

InspectorTarget::~InspectorTarget() { Close(); }

void InspectorTarget::Close() {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  closed_ = true;
  isolate_ = nullptr;
  base::CloseAndDelete(async_);
  async_ = nullptr;
  wake_.notify_all();
}

int InspectorTarget::Connect(std::shared_ptr<InspectorFrontend> frontend) {
  int session;
  {
    std::lock_guard lock(mutex_);
    session = next_session_++;
    ++session_count_;
  }
  Post({Event::kConnect, session, {}, std::move(frontend)});
  return session;
}

void InspectorTarget::Dispatch(int session, std::string message) {
  Post({Event::kMessage, session, std::move(message), nullptr});
}

void InspectorTarget::Disconnect(int session) {
  {
    std::lock_guard lock(mutex_);
    if (session_count_ > 0) --session_count_;
  }
  Post({Event::kDisconnect, session, {}, nullptr});
}

size_t InspectorTarget::session_count() const {
  std::lock_guard lock(mutex_);
  return session_count_;
}

void InspectorTarget::Post(Event event) {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  events_.push_back(std::move(event));
  wake_.notify_all();
  uv_async_send(async_);
  // Running JavaScript takes the message at its next interrupt check.
  if (isolate_ != nullptr) isolate_->RequestInterrupt(OnInterrupt, this);
}

void InspectorTarget::OnAsync(uv_async_t* async) {
  static_cast<InspectorTarget*>(async->data)->ProcessEvents();
}

void InspectorTarget::OnInterrupt(v8::Isolate*, void* data) {
  static_cast<InspectorTarget*>(data)->ProcessEvents();
}

void InspectorTarget::ProcessEvents() {
  // Handling a message may run JavaScript (Runtime.evaluate), whose
  // interrupt checks come back here: the messages that arrive meanwhile
  // (Debugger.pause) are handled then, nested, in order. The agent keeps
  // a session whose message is being handled until that handling ends.
  for (;;) {
    Event event;
    {
      std::lock_guard lock(mutex_);
      if (events_.empty()) return;
      event = std::move(events_.front());
      events_.pop_front();
    }
    Handle(event);
  }
}

bool InspectorTarget::WaitAndProcess() {
  {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return closed_ || !events_.empty(); });
    if (closed_) return false;
  }
  ProcessEvents();
  return !sessions_.empty();
}

void InspectorTarget::Handle(Event& event) {
  switch (event.kind) {
    case Event::kConnect: {
      Session& session = sessions_[event.session];
      session.frontend = event.frontend;
      if (agent_ != nullptr) agent_->Connect(event.session, session.frontend);
      return;
    }
    case Event::kDisconnect:
      sessions_.erase(event.session);
      if (agent_ != nullptr) agent_->Disconnect(event.session);
      return;
    case Event::kMessage: {
      auto it = sessions_.find(event.session);
      if (it == sessions_.end()) return;
      Call call = ParseCall(event.message);
      if (call.ok && IsReplayedMethod(call.method) && it->second.replay.size() < kMaxReplay) {
        it->second.replay.push_back(event.message);
      }
      if (agent_ != nullptr) {
        agent_->Dispatch(event.session, event.message);
      } else if (call.ok && call.id >= 0) {
        it->second.frontend->SendToFrontend(fmt::format(
            "{{\"id\":{},\"error\":{{\"code\":-32000,\"message\":\"the worker is not loaded: "
            "see edge dev's log\"}}}}",
            call.id));
      }
      return;
    }
  }
}

void InspectorTarget::Bind(WorkerInspector* agent, v8::Isolate* isolate) {
  WorkerInspector* previous = agent_;
  agent_ = agent;
  {
    std::lock_guard lock(mutex_);
    isolate_ = isolate;
  }
  for (auto& [id, session] : sessions_) {
    if (previous != nullptr) previous->Disconnect(id);
    // DevTools drops what it knew of the old isolate's scripts and
    // contexts, then hears of the new ones as the replayed enables run.
    session.frontend->SendToFrontend(
        "{\"method\":\"Runtime.executionContextsCleared\",\"params\":{}}");
    agent_->Connect(id, session.frontend);
    Replay(id, session);
  }
}

void InspectorTarget::Replay(int id, Session& session) {
  for (const std::string& message : session.replay) {
    std::string renumbered = WithId(message, next_replay_id_);
    if (next_replay_id_ == INT32_MAX) {
      next_replay_id_ = kReplayIdBase;
    } else {
      ++next_replay_id_;
    }
    if (!renumbered.empty()) agent_->Dispatch(id, renumbered);
  }
}

void InspectorTarget::Unbind(WorkerInspector* agent) {
  if (agent_ != agent) return;
  agent_ = nullptr;
  std::lock_guard lock(mutex_);
  isolate_ = nullptr;
}

}  // namespace edge::runtime
