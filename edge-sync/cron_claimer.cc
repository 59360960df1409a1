#include "edge-sync/cron_claimer.h"

#include "base/log.h"

namespace edge::sync {
namespace {

// Fires wait for their claim: a few hundred would mean the origin has not
// answered for minutes. Beyond this, a fire is refused at once.
constexpr size_t kMaxPendingClaims = 1000;

}  // namespace

CronClaimer::CronClaimer(base::HttpTarget upstream, std::string pop_id,
                         std::function<void(std::function<void()>)> post)
    : upstream_(std::move(upstream)), pop_id_(std::move(pop_id)), post_(std::move(post)) {
  // A fire is due at its minute: an origin that does not answer within a
  // few seconds loses it the fire.
  upstream_.connect_timeout_ms = 2000;
  upstream_.io_timeout_ms = 5000;
  upstream_.max_response_bytes = 64 << 10;
  thread_ = std::thread([this] { Run(); });
}

CronClaimer::~CronClaimer() { Stop(); }

void CronClaimer::Stop() {
  std::deque<Pending> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dropped.swap(pending_);
  }
  for (Pending& pending : dropped) post_([answer = std::move(pending.answer)] { answer(false); });
}

void CronClaimer::Learn(std::string_view checkin_answer) {
  std::optional<CronHomeState> named = ParseCronHome(checkin_answer);
  std::lock_guard<std::mutex> lock(mutex_);
  CronHomeState next = named.value_or(CronHomeState{});
  if (next.pop_id != home_.pop_id && (next.pop_id == pop_id_ || home_.pop_id == pop_id_)) {
    Log(LogLevel::kInfo, "cron home: {} (term {}): this PoP {} the fleet's crons",
        next.pop_id.empty() ? "nobody" : next.pop_id, next.term,
        next.pop_id == pop_id_ ? "fires" : "no longer fires");
  }
  home_ = std::move(next);
}

CronHomeState CronClaimer::home() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return home_;
}

void CronClaimer::Ask(const std::string& worker, const std::string& cron, int64_t minute_ms,
                      std::function<void(bool)> answer) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_ && home_.pop_id == pop_id_ && pending_.size() < kMaxPendingClaims) {
      pending_.push_back({CronClaim{pop_id_, home_.term, worker, cron, minute_ms}, std::move(answer)});
      wake_.notify_one();
      return;
    }
    if (home_.pop_id == pop_id_) ++counts_.failed;
  }
  answer(false);  // not the home: another PoP fires it
}

void CronClaimer::Run() {
  for (;;) {
    Pending next;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      next = std::move(pending_.front());
      pending_.pop_front();
    }
    bool fire = Send(next.claim);
    post_([answer = std::move(next.answer), fire] { answer(fire); });
  }
}

bool CronClaimer::Send(const CronClaim& claim) {
  auto response = base::Request(upstream_, "POST", "/sync/cron-claim", EncodeCronClaim(claim),
                                "application/json");
  std::lock_guard<std::mutex> lock(mutex_);
  if (response.ok() && response->status == 200) {
    ++counts_.granted;
    return true;
  }
  if (response.ok() && response->status == 409) {
    ++counts_.refused;
    Log(LogLevel::kInfo, "cron \"{}\" of {} for {} not fired here: {}", claim.cron, claim.worker,
        claim.minute_ms, base::ResponseError(*response).message());
    return false;
  }
  ++counts_.failed;
  Log(LogLevel::kWarn, "cron \"{}\" of {} for {} not fired: the origin did not allow it ({})",
      claim.cron, claim.worker, claim.minute_ms,
      response.ok() ? base::ResponseError(*response).message() : response.status().message());
  return false;
}

CronClaimer::Counts CronClaimer::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

}  // namespace edge::sync
