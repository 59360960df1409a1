#include "runtime/thread_pool_queue.h"

#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace edge::runtime {

struct ThreadPoolQueue::State {
  struct Job {
    std::function<void()> work;
    std::function<void()> after;
    double owner = 0;
  };
  // One job in libuv's pool; keeps the state alive until its `after` ran.
  struct Running {
    uv_work_t request;
    Job job;
    std::shared_ptr<State> state;
  };

  uv_loop_t* loop;
  size_t max_in_flight;
  Executor executor;  // null: libuv's pool
  size_t in_flight = 0;
  std::deque<Job> waiting;
  bool closed = false;

  // With an executor: the `after`s of jobs done on its threads, handed to
  // the loop through `async` (ref'd only while jobs are out, so an idle
  // queue does not keep a loop alive).
  std::mutex done_mutex;
  std::vector<std::function<void()>> done;  // guarded by done_mutex
  uv_async_t* async = nullptr;              // null once closed; guarded by done_mutex

  static void Start(const std::shared_ptr<State>& state, Job job) {
    if (state->in_flight++ == 0 && state->async != nullptr) {
      uv_ref(reinterpret_cast<uv_handle_t*>(state->async));
    }
    if (state->executor) {
      std::weak_ptr<State> weak = state;
      state->executor([weak, job = std::move(job)]() mutable {
        job.work();
        std::shared_ptr<State> state = weak.lock();
        if (!state) return;
        std::lock_guard<std::mutex> lock(state->done_mutex);
        if (state->async == nullptr) return;  // the queue is gone: `after` is dropped
        state->done.push_back(std::move(job.after));
        uv_async_send(state->async);
      });
      return;
    }
    auto* running = new Running{{}, std::move(job), state};
    running->request.data = running;
    uv_queue_work(
        state->loop, &running->request,
        [](uv_work_t* request) { static_cast<Running*>(request->data)->job.work(); },
        [](uv_work_t* request, int) {
          std::unique_ptr<Running> done(static_cast<Running*>(request->data));
          std::shared_ptr<State> state = std::move(done->state);
          Finished(state, done->job.after);
        });
  }

  static void Finished(const std::shared_ptr<State>& state, const std::function<void()>& after) {
    if (--state->in_flight == 0 && state->async != nullptr) {
      uv_unref(reinterpret_cast<uv_handle_t*>(state->async));
    }
    after();
    Pump(state);
  }

  // On the loop: the executor's finished jobs.
  static void OnDone(uv_async_t* handle) {
    auto* owner = static_cast<std::weak_ptr<State>*>(handle->data);
    std::shared_ptr<State> state = owner->lock();
    if (!state) return;
    std::vector<std::function<void()>> finished;
    {
      std::lock_guard<std::mutex> lock(state->done_mutex);
      finished.swap(state->done);
    }
    for (auto& after : finished) Finished(state, after);
  }

  static void Pump(const std::shared_ptr<State>& state) {
    while (!state->closed && state->in_flight < state->max_in_flight && !state->waiting.empty()) {
      Job next = std::move(state->waiting.front());
      state->waiting.pop_front();
      Start(state, std::move(next));
    }
  }
};

ThreadPoolQueue::ThreadPoolQueue(uv_loop_t* loop, size_t max_in_flight, Executor executor)
    : state_(std::make_shared<State>()) {
  state_->loop = loop;
  state_->max_in_flight = max_in_flight < 1 ? 1 : max_in_flight;
  state_->executor = std::move(executor);
  if (state_->executor) {
    state_->async = new uv_async_t;
    uv_async_init(loop, state_->async, State::OnDone);
    state_->async->data = new std::weak_ptr<State>(state_);
    uv_unref(reinterpret_cast<uv_handle_t*>(state_->async));
  }
}

ThreadPoolQueue::~ThreadPoolQueue() {
  state_->closed = true;
  state_->waiting.clear();
  uv_async_t* async;
  {
    std::lock_guard<std::mutex> lock(state_->done_mutex);
    async = state_->async;
    state_->async = nullptr;
    state_->done.clear();
  }
  if (async != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(async), [](uv_handle_t* handle) {
      delete static_cast<std::weak_ptr<State>*>(handle->data);
      delete reinterpret_cast<uv_async_t*>(handle);
    });
  }
}

void ThreadPoolQueue::Run(std::function<void()> work, std::function<void()> after, double owner) {
  state_->waiting.push_back({std::move(work), std::move(after), owner});
  State::Pump(state_);
}

size_t ThreadPoolQueue::DropWaiting(double owner) {
  if (owner == 0) return 0;
  // Moved out first: a dropped job's captures may hold the last reference
  // to something whose destructor must not see the queue half-edited.
  std::deque<State::Job> dropped;
  std::deque<State::Job> kept;
  for (State::Job& job : state_->waiting) {
    (job.owner == owner ? dropped : kept).push_back(std::move(job));
  }
  state_->waiting.swap(kept);
  return dropped.size();
}

size_t ThreadPoolQueue::in_flight() const { return state_->in_flight; }
size_t ThreadPoolQueue::waiting() const { return state_->waiting.size(); }

}  // namespace edge::runtime
