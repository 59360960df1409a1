// A PoP's side of the fleet's cron home (edge-sync/cron_home.h): it learns
// from each check-in answer which PoP the origin names home and under which
// term, and before each fire of this PoP's cron triggers it asks the origin
// (POST /sync/cron-claim). Only the home asks; the others skip their fires
// without a word. A fire the origin refuses, or that cannot reach it, is
// not fired (logged): a missed fire rather than a double one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/http_client/http_client.h"
#include "edge-sync/cron_home.h"

namespace edge::sync {

class CronClaimer {
 public:
  // `post` runs a task on the node's control loop (the answers to Ask).
  CronClaimer(base::HttpTarget upstream, std::string pop_id,
              std::function<void(std::function<void()>)> post);
  ~CronClaimer();
  CronClaimer(const CronClaimer&) = delete;
  CronClaimer& operator=(const CronClaimer&) = delete;

  // A check-in answer from the upstream (any thread): the home it names.
  // An answer naming none (a relay's) leaves this PoP never the home.
  void Learn(std::string_view checkin_answer);
  CronHomeState home() const;

  // May this PoP fire `cron` of `worker` for `minute_ms`? `answer` is
  // called on the control loop (at once when this PoP is not the home).
  void Ask(const std::string& worker, const std::string& cron, int64_t minute_ms,
           std::function<void(bool fire)> answer);

  // Ends the claim thread; claims not sent yet are answered "no".
  void Stop();

  struct Counts {
    uint64_t granted = 0, refused = 0, failed = 0;
  };
  Counts counts() const;

 private:
  struct Pending {
    CronClaim claim;
    std::function<void(bool)> answer;
  };
  void Run();
  bool Send(const CronClaim& claim);

  base::HttpTarget upstream_;
  std::string pop_id_;
  std::function<void(std::function<void()>)> post_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  CronHomeState home_;
  std::deque<Pending> pending_;
  Counts counts_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace edge::sync
