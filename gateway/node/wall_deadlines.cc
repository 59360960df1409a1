#include "gateway/node/wall_deadlines.h"

#include <algorithm>
#include <iterator>

namespace edge::gateway {
namespace {

// Lists of durations no request uses any more are dropped when there are
// more than this (a node whose workers have many different limits).
constexpr size_t kKeptLists = 16;

}  // namespace

WallDeadlines::WallDeadlines(uv_loop_t* loop) : loop_(loop), timer_(new uv_timer_t) {
  uv_timer_init(loop_, timer_);
  timer_->data = this;
}

WallDeadlines::~WallDeadlines() {
  Close();
  for (auto& [duration, list] : lists_) {
    for (WallDeadline* deadline = list.head; deadline != nullptr;) {
      WallDeadline* next = deadline->next_;
      deadline->owner_ = nullptr;
      deadline->list_ = nullptr;
      deadline->prev_ = deadline->next_ = nullptr;
      deadline = next;
    }
  }
}

void WallDeadlines::Close() {
  if (closed_) return;
  closed_ = true;
  armed_ = false;
  uv_timer_stop(timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
  timer_ = nullptr;
}

void WallDeadlines::Start(WallDeadline* deadline, uint64_t timeout_ms, WallDeadline::Fire fire,
                          void* data) {
  deadline->Cancel();
  if (!firing_ && lists_.size() >= kKeptLists && lists_.find(timeout_ms) == lists_.end()) Prune();
  WallDeadline::List& list = lists_[timeout_ms];
  deadline->owner_ = this;
  deadline->list_ = &list;
  deadline->due_ms_ = uv_now(loop_) + timeout_ms;
  deadline->fire_ = fire;
  deadline->data_ = data;
  // The loop's clock never goes back, so the list stays in deadline order.
  deadline->prev_ = list.tail;
  deadline->next_ = nullptr;
  if (list.tail != nullptr) {
    list.tail->next_ = deadline;
  } else {
    list.head = deadline;
  }
  list.tail = deadline;
  ++pending_;
  ArmFor(deadline->due_ms_);
}

void WallDeadlines::Remove(WallDeadline* deadline) {
  WallDeadline::List& list = *deadline->list_;
  if (deadline->prev_ != nullptr) {
    deadline->prev_->next_ = deadline->next_;
  } else {
    list.head = deadline->next_;
  }
  if (deadline->next_ != nullptr) {
    deadline->next_->prev_ = deadline->prev_;
  } else {
    list.tail = deadline->prev_;
  }
  deadline->owner_ = nullptr;
  deadline->list_ = nullptr;
  deadline->prev_ = deadline->next_ = nullptr;
  --pending_;
  // With deadlines left the timer stays as it is: should it wake for the
  // one just taken out, FireDue finds nothing due and arms it again. With
  // none, it stops, so that an idle loop can end.
  if (pending_ == 0 && armed_ && !firing_) {
    armed_ = false;
    uv_timer_stop(timer_);
  }
}

void WallDeadlines::ArmFor(uint64_t due_ms) {
  if (closed_ || firing_ || (armed_ && armed_for_ <= due_ms)) return;
  uint64_t now = uv_now(loop_);
  armed_ = true;
  armed_for_ = due_ms;
  uv_timer_start(timer_, OnTimer, due_ms > now ? due_ms - now : 0, 0);
}

void WallDeadlines::OnTimer(uv_timer_t* timer) {
  static_cast<WallDeadlines*>(timer->data)->FireDue();
}

void WallDeadlines::FireDue() {
  armed_ = false;
  firing_ = true;
  uint64_t now = uv_now(loop_);
  // In deadline order across the lists, as a timer per deadline would fire;
  // the walk starts again after each callback, which may start or cancel
  // any deadline (map nodes are not erased while firing).
  while (!closed_) {
    WallDeadline* due = Earliest();
    if (due == nullptr || due->due_ms_ > now) break;
    WallDeadline::Fire fire = due->fire_;
    Remove(due);
    fire(due);
  }
  firing_ = false;
  if (closed_) return;
  if (WallDeadline* next = Earliest()) ArmFor(next->due_ms_);
  if (lists_.size() > kKeptLists) Prune();
}

WallDeadline* WallDeadlines::Earliest() const {
  WallDeadline* earliest = nullptr;
  for (const auto& [duration, list] : lists_) {
    if (list.head != nullptr && (earliest == nullptr || list.head->due_ms_ < earliest->due_ms_)) {
      earliest = list.head;
    }
  }
  return earliest;
}

void WallDeadlines::Prune() {
  for (auto it = lists_.begin(); it != lists_.end();) {
    it = it->second.head == nullptr ? lists_.erase(it) : std::next(it);
  }
}

}  // namespace edge::gateway
