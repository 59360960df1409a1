// One debuggable worker as DevTools sees it (`edge dev --inspect`): where
// the inspector server's thread, which holds DevTools' WebSocket sessions,
// meets the worker's thread, which runs its isolate. A target outlives the
// worker's isolates: a reload binds the new isolate (a WorkerInspector) to
// the same target, and the sessions carry on in it.
//
// Messages from DevTools wait in the target's queue until the worker's
// thread takes them: from its loop (an async handle) when it is idle, from
// an isolate interrupt when JavaScript is running (so "pause" works in a
// busy loop), and from the paused loop while stopped at a breakpoint (the
// worker's loop is blocked then, as in every single-threaded debugger).
#pragma once

#include <uv.h>
#include <v8.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace edge::runtime {

class WorkerInspector;

// Where the protocol messages of one session go (DevTools' end). Called on
// the worker's thread; an implementation hands them to its own thread.
class InspectorFrontend {
 public:
  virtual ~InspectorFrontend() = default;
  virtual void SendToFrontend(std::string message) = 0;
};

class InspectorTarget {
 public:
  // Ids of messages the target sends itself (the replayed ones, below):
  // their answers are not DevTools' to see.
  static constexpr int kReplayIdBase = 2000000000;

  // `loop` is the worker's; the target must be closed there (Close).
  InspectorTarget(uv_loop_t* loop, std::string id, std::string title, std::string url);
  ~InspectorTarget();
  InspectorTarget(const InspectorTarget&) = delete;
  InspectorTarget& operator=(const InspectorTarget&) = delete;

  const std::string& id() const { return id_; }
  const std::string& title() const { return title_; }
  const std::string& url() const { return url_; }

  // From the inspector server's thread.
  int Connect(std::shared_ptr<InspectorFrontend> frontend);
  void Dispatch(int session, std::string message);
  void Disconnect(int session);
  size_t session_count() const;

  // From the worker's thread.
  // A new isolate of the worker (the first, or a reload's): its sessions
  // are the target's, and what DevTools asked to be kept (domains enabled,
  // breakpoints by URL, pause settings) is asked of it again.
  void Bind(WorkerInspector* agent, v8::Isolate* isolate);
  // The isolate goes away (a no-op unless `agent` is the bound one).
  void Unbind(WorkerInspector* agent);
  // Handles what is queued (from the loop, an interrupt or the paused loop).
  void ProcessEvents();
  // While paused: waits for DevTools' next message and handles it; false
  // when no session is left (nobody can resume: the caller should).
  bool WaitAndProcess();
  // Ends the async handle (on the worker's loop, before the loop closes).
  void Close();

 private:
  struct Event {
    enum Kind { kConnect, kMessage, kDisconnect } kind;
    int session;
    std::string message;
    std::shared_ptr<InspectorFrontend> frontend;
  };
  struct Session {
    std::shared_ptr<InspectorFrontend> frontend;
    // The messages that set state a new isolate must be told again, in
    // order (bounded: see kMaxReplay).
    std::vector<std::string> replay;
  };
  static constexpr size_t kMaxReplay = 10000;

  void Post(Event event);
  void Handle(Event& event);
  void Replay(int id, Session& session);
  static void OnAsync(uv_async_t* async);
  static void OnInterrupt(v8::Isolate* isolate, void* data);

  const std::string id_, title_, url_;
  uv_async_t* async_;

  // Guarded by mutex_ (shared with the server's thread).
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Event> events_;
  v8::Isolate* isolate_ = nullptr;
  bool closed_ = false;
  int next_session_ = 1;
  size_t session_count_ = 0;

  // The worker's thread only.
  WorkerInspector* agent_ = nullptr;
  std::map<int, Session> sessions_;
  int next_replay_id_ = kReplayIdBase;
};

// Whether a protocol message sets state a new isolate must be told again
// (Runtime.enable, Debugger.setBreakpointByUrl, ...), by its method.
bool IsReplayedMethod(std::string_view method);

}  // namespace edge::runtime
