#include "runtime/crypto/crypto_threads.h"

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

class CryptoThreads {
 public:
  CryptoThreads() {
    unsigned cores = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
    for (unsigned i = 0; i < cores; ++i) std::thread([this] { Run(); }).detach();
  }

  void Run(const std::function<void()>& work) {
    std::mutex done_mutex;
    std::condition_variable done_cv;
    bool done = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back([&] {
        work();
        std::lock_guard<std::mutex> done_lock(done_mutex);
        done = true;
        done_cv.notify_one();
      });
    }
    wake_.notify_one();
    std::unique_lock<std::mutex> lock(done_mutex);
    done_cv.wait(lock, [&] { return done; });
  }

 private:
  void Run() {
    // Lowering one's own priority needs no privilege.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19) != 0) {
      Log(LogLevel::kWarn, "crypto thread: could not lower its priority");
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

void RunOnCryptoThread(const std::function<void()>& work) {
  static CryptoThreads* threads = new CryptoThreads();  // lives until exit, like its threads
  threads->Run(work);
}

}  // namespace edge::runtime
