// The wall-time limits of the requests in flight on one serving thread, on
// one uv_timer_t armed for the earliest of them (as Node.js keeps its timers:
// one list per duration; a node's workers have few different limits). A request enters and leaves in O(1): its limit is
// appended to the list of its duration, which stays in deadline order
// because the loop's clock only moves forward, and taken out by unlinking.
// Nothing is made, started or closed per request, and the uv timer is moved
// only when a deadline earlier than the one it is armed for comes in.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>

namespace edge::gateway {

class WallDeadlines;

// One request's limit; lives in whatever it limits (a NodeSink), which
// must Cancel it (or let it fire) before it goes.
class WallDeadline {
 public:
  using Fire = void (*)(WallDeadline* deadline);

  WallDeadline() = default;
  ~WallDeadline() { Cancel(); }
  WallDeadline(const WallDeadline&) = delete;
  WallDeadline& operator=(const WallDeadline&) = delete;

  // Waiting for its time: entered and neither fired nor cancelled.
  bool pending() const { return owner_ != nullptr; }
  // Takes it out; nothing when not pending.
  void Cancel();
  // For the fire callback: set by Start.
  void* data() const { return data_; }

 private:
  friend class WallDeadlines;
  // The deadlines of one duration, earliest first.
  struct List {
    WallDeadline* head = nullptr;
    WallDeadline* tail = nullptr;
  };

  WallDeadlines* owner_ = nullptr;
  List* list_ = nullptr;
  WallDeadline* prev_ = nullptr;
  WallDeadline* next_ = nullptr;
  uint64_t due_ms_ = 0;  // on the loop's clock (uv_now)
  Fire fire_ = nullptr;
  void* data_ = nullptr;
};

// One per loop, used on that loop's thread only.
class WallDeadlines {
 public:
  explicit WallDeadlines(uv_loop_t* loop);
  // Closes the timer if Close() did not (its handle is freed when the loop
  // runs its close callback). Deadlines still pending are let go: they
  // never fire, and cancelling them later does nothing.
  ~WallDeadlines();
  WallDeadlines(const WallDeadlines&) = delete;
  WallDeadlines& operator=(const WallDeadlines&) = delete;

  // `fire(deadline)` runs `timeout_ms` after now on the loop's clock (as
  // uv_timer_start(timeout_ms) would call back), unless the deadline is
  // cancelled first. It is no longer pending when `fire` runs, and `fire`
  // may start, cancel or destroy any deadline, itself included. A pending
  // deadline is cancelled first. After Close(), nothing fires.
  void Start(WallDeadline* deadline, uint64_t timeout_ms, WallDeadline::Fire fire, void* data);

  // Stops the timer and closes its handle; pending deadlines never fire
  // (they can still be cancelled).
  void Close();

  // Deadlines waiting.
  size_t pending() const { return pending_; }
  // The lists kept (one per duration seen since they were last pruned).
  size_t lists() const { return lists_.size(); }

 private:
  friend class WallDeadline;

  void Remove(WallDeadline* deadline);
  // Arms the timer for `due_ms` if it is earlier than what it waits for.
  void ArmFor(uint64_t due_ms);
  static void OnTimer(uv_timer_t* timer);
  void FireDue();
  // The pending deadline due first, or null.
  WallDeadline* Earliest() const;
  // Drops the lists with no deadline (not while firing).
  void Prune();

  uv_loop_t* loop_;
  uv_timer_t* timer_;  // freed by its close callback
  bool closed_ = false;
  bool firing_ = false;
  bool armed_ = false;
  uint64_t armed_for_ = 0;  // the due time the timer waits for, when armed_
  size_t pending_ = 0;
  std::map<uint64_t, WallDeadline::List> lists_;  // by duration in ms
};

inline void WallDeadline::Cancel() {
  if (owner_ != nullptr) owner_->Remove(this);
}

}  // namespace edge::gateway
