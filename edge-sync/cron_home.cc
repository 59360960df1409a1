#include "edge-sync/cron_home.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <charconv>

#include "base/json_text.h"
#include "base/log.h"

namespace edge::sync {
namespace {

// Metadata keys in the origin's sync log.
constexpr std::string_view kHomeMetaKey = "cron-home";  // "<term> <pop_id>"
constexpr std::string_view kClaimMetaPrefix = "cron-claim/";  // + worker '\n' cron -> minute ms

constexpr size_t kMaxWorkerBytes = 128;
constexpr size_t kMaxCronBytes = 256;
constexpr int64_t kMinuteMs = 60'000;

std::string ClaimKey(const std::string& worker, const std::string& cron) {
  return fmt::format("{}{}\n{}", kClaimMetaPrefix, worker, cron);
}

bool ParseUint(std::string_view text, uint64_t* out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

StatusOr<CronHome> CronHome::Open(SyncLog& log, std::string pinned, uint64_t grace_ms) {
  CronHome home(log, std::move(pinned), grace_ms);
  auto kept = log.GetMeta(std::string(kHomeMetaKey));
  if (!kept.ok()) return kept.status();
  if (kept->has_value()) {
    std::string_view text = **kept;
    size_t space = text.find(' ');
    uint64_t term = 0;
    if (space == std::string_view::npos || !ParseUint(text.substr(0, space), &term)) {
      return Status(ErrorCode::kInternal, "the sync log's record of the cron home is damaged");
    }
    home.current_ = {std::string(text.substr(space + 1)), term};
  }
  return home;
}

Status CronHome::Keep(const CronHomeState& state) {
  return log_->PutMeta(std::string(kHomeMetaKey), fmt::format("{} {}", state.term, state.pop_id));
}

StatusOr<CronHomeState> CronHome::Choose(const std::vector<PopStatus>& pops, uint64_t now_ms) {
  auto fresh = [&](const PopStatus& pop) {
    return pop.via.empty() && pop.cron_candidate && pop.reported_ms + grace_ms_ >= now_ms;
  };
  std::string chosen;
  if (!pinned_.empty()) {
    chosen = pinned_;
  } else {
    bool current_fresh = false;
    for (const PopStatus& pop : pops) {
      if (pop.pop_id == current_.pop_id && fresh(pop)) current_fresh = true;
    }
    if (current_fresh) {
      // A home that keeps checking in stays, even when a lower pop_id
      // appears: every change is a window with no fires.
      chosen = current_.pop_id;
    } else {
      for (const PopStatus& pop : pops) {  // sorted by pop_id
        if (fresh(pop)) {
          chosen = pop.pop_id;
          break;
        }
      }
    }
  }
  if (chosen == current_.pop_id) return current_;
  CronHomeState next{chosen, current_.term + 1};
  EDGE_RETURN_IF_ERROR(Keep(next));
  if (chosen.empty()) {
    Log(LogLevel::kWarn, "cron home: no PoP offers to run crons now (term {}): no cron fires",
        next.term);
  } else {
    Log(LogLevel::kInfo, "cron home: {} (term {}{})", chosen, next.term,
        current_.pop_id.empty() ? "" : fmt::format(", was {}", current_.pop_id));
  }
  current_ = std::move(next);
  return current_;
}

StatusOr<ClaimOutcome> CronHome::Claim(const std::string& pop_id, uint64_t term, const std::string& worker,
                       const std::string& cron, int64_t minute_ms) {
  if (worker.empty() || worker.size() > kMaxWorkerBytes || cron.empty() ||
      cron.size() > kMaxCronBytes || minute_ms <= 0 || minute_ms % kMinuteMs != 0) {
    return Status(ErrorCode::kInvalidInput,
                  "a cron claim needs a worker, an expression and a whole minute");
  }
  if (current_.pop_id.empty() || pop_id != current_.pop_id) {
    return ClaimOutcome::Refused(fmt::format("{} is not the cron home (the home is {})", pop_id,
                              current_.pop_id.empty() ? "nobody" : current_.pop_id));
  }
  if (term != current_.term) {
    return ClaimOutcome::Refused(
        fmt::format("term {} is over (the term is {})", term, current_.term));
  }
  std::string key = ClaimKey(worker, cron);
  auto last = log_->GetMeta(key);
  if (!last.ok()) return last.status();
  uint64_t last_minute = 0;
  if (last->has_value() && !ParseUint(**last, &last_minute)) {
    return Status(ErrorCode::kInternal, "the sync log's record of a cron claim is damaged");
  }
  if (static_cast<uint64_t>(minute_ms) <= last_minute) {
    return ClaimOutcome::Refused(fmt::format(
        "the minute {} was granted already (the last granted is {})", minute_ms, last_minute));
  }
  EDGE_RETURN_IF_ERROR(log_->PutMeta(key, std::to_string(minute_ms)));
  return ClaimOutcome{true, ""};
}

std::string CronHomeJsonMembers(const CronHomeState& state) {
  return fmt::format("\"cron_home\":{},\"cron_term\":{}", base::JsonString(state.pop_id),
                     state.term);
}

std::optional<CronHomeState> ParseCronHome(std::string_view checkin_answer) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(checkin_answer.data(), checkin_answer.size()).get(root) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::string_view home;
  uint64_t term = 0;
  if (root["cron_home"].get_string().get(home) != simdjson::SUCCESS ||
      root["cron_term"].get_uint64().get(term) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return CronHomeState{std::string(home), term};
}

std::string EncodeCronClaim(const CronClaim& claim) {
  return fmt::format("{{\"pop_id\":{},\"term\":{},\"worker\":{},\"cron\":{},\"minute_ms\":{}}}",
                     base::JsonString(claim.pop_id), claim.term, base::JsonString(claim.worker),
                     base::JsonString(claim.cron), claim.minute_ms);
}

StatusOr<CronClaim> DecodeCronClaim(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (json.size() > 4096 || parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "a cron claim must be a JSON object of at most 4 KiB");
  }
  CronClaim claim;
  std::string_view text;
  auto string = [&](const char* key, std::string* out) {
    if (root[key].get_string().get(text) != simdjson::SUCCESS) return false;
    *out = std::string(text);
    return true;
  };
  if (!string("pop_id", &claim.pop_id)) {
    return Status(ErrorCode::kInvalidInput, "a cron claim needs pop_id");
  }
  if (!string("worker", &claim.worker)) {
    return Status(ErrorCode::kInvalidInput, "a cron claim needs worker");
  }
  if (!string("cron", &claim.cron)) return Status(ErrorCode::kInvalidInput, "a cron claim needs cron");
  if (root["term"].get_uint64().get(claim.term) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "a cron claim needs term");
  }
  if (root["minute_ms"].get_int64().get(claim.minute_ms) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "a cron claim needs minute_ms");
  }
  return claim;
}

}  // namespace edge::sync
