#include "runtime/thread_pool_queue.h"

#include <deque>
#include <utility>

namespace edge::runtime {

struct ThreadPoolQueue::State {
  struct Job {
    std::function<void()> work;
    std::function<void()> after;
  };
  // One job in libuv's pool; keeps the state alive until its `after` ran.
  struct Running {
    uv_work_t request;
    Job job;
    std::shared_ptr<State> state;
  };

  uv_loop_t* loop;
  size_t max_in_flight;
  size_t in_flight = 0;
  std::deque<Job> waiting;
  bool closed = false;

  static void Start(const std::shared_ptr<State>& state, Job job) {
    ++state->in_flight;
    auto* running = new Running{{}, std::move(job), state};
    running->request.data = running;
    uv_queue_work(
        state->loop, &running->request,
        [](uv_work_t* request) { static_cast<Running*>(request->data)->job.work(); },
        [](uv_work_t* request, int) {
          std::unique_ptr<Running> done(static_cast<Running*>(request->data));
          std::shared_ptr<State> state = std::move(done->state);
          --state->in_flight;
          done->job.after();
          Pump(state);
        });
  }

  static void Pump(const std::shared_ptr<State>& state) {
    while (!state->closed && state->in_flight < state->max_in_flight && !state->waiting.empty()) {
      Job next = std::move(state->waiting.front());
      state->waiting.pop_front();
      Start(state, std::move(next));
    }
  }
};

ThreadPoolQueue::ThreadPoolQueue(uv_loop_t* loop, size_t max_in_flight)
    : state_(std::make_shared<State>()) {
  state_->loop = loop;
  state_->max_in_flight = max_in_flight < 1 ? 1 : max_in_flight;
}

ThreadPoolQueue::~ThreadPoolQueue() {
  state_->closed = true;
  state_->waiting.clear();
}

void ThreadPoolQueue::Run(std::function<void()> work, std::function<void()> after) {
  state_->waiting.push_back({std::move(work), std::move(after)});
  State::Pump(state_);
}

size_t ThreadPoolQueue::in_flight() const { return state_->in_flight; }
size_t ThreadPoolQueue::waiting() const { return state_->waiting.size(); }

}  // namespace edge::runtime
