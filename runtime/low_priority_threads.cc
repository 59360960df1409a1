#include "runtime/low_priority_threads.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "base/log.h"

namespace edge::runtime {
namespace {

class LowPriorityThreads {
 public:
  LowPriorityThreads() {
    unsigned cores = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
    for (unsigned i = 0; i < cores; ++i) std::thread([this] { Loop(); }).detach();
  }

  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

 private:
  void Loop() {
    // Lowering one's own priority needs no privilege.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19) != 0) {
      Log(LogLevel::kWarn, "low-priority thread: could not lower its priority");
    }
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace

void RunAtLowPriority(std::function<void()> task) {
  static LowPriorityThreads* threads = new LowPriorityThreads();  // lives until exit, like its threads
  threads->Post(std::move(task));
}

}  // namespace edge::runtime
