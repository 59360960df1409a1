// The fleet's cron home, kept by the origin: the one PoP that fires the
// fleet's cron triggers, so that each schedule fires once in the fleet and
// not once per PoP (docs/edge-sync.md, "Cron triggers in a fleet").
//
// The origin names the home from its fleet view: the operator's pin
// (origin.toml `cron_home`), or else the current home while it keeps
// checking in, or else the lowest pop_id among the PoPs that check in
// directly, offer to run crons, and were heard from within the grace time.
// Each change of home raises the term. A PoP learns the home and the term
// from the answer to its check-in, and asks the origin before each fire
// (Claim): the origin grants a (worker, expression) minute once, to the
// current home under the current term, and only a minute later than the
// last one it granted. So two PoPs that both believe they are home (one
// cut off, the other just named) never fire the same minute twice, and a
// home that cannot reach the origin does not fire: a missed fire rather
// than a double one.
//
// The term, the home and each (worker, expression)'s last granted minute
// are kept in the sync log's metadata, so a restarted origin neither
// re-grants a minute nor goes back to an older term. Not thread-safe: the
// origin uses it on its control loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "base/status.h"
#include "edge-sync/fleet.h"
#include "edge-sync/sync_log.h"

namespace edge::sync {

struct CronHomeState {
  std::string pop_id;  // "" = no PoP may fire now
  uint64_t term = 0;
};

struct ClaimOutcome {
  bool granted = false;
  std::string refusal;  // why not, when not granted
  static ClaimOutcome Refused(std::string why) { return {false, std::move(why)}; }
};

class CronHome {
 public:
  // A PoP whose last check-in is older than this is not a home any more: a
  // few of its check-ins (every 2 s by default) have been missed.
  static constexpr uint64_t kDefaultGraceMs = 10'000;

  // Reads the term, the home and the claims kept in `log` (an origin's).
  // `pinned` non-empty: that PoP is the home whatever the fleet view says.
  static StatusOr<CronHome> Open(SyncLog& log, std::string pinned, uint64_t grace_ms);

  // Looks at the fleet view (`pops`, as Fleet::Pops gives them) at `now_ms`
  // and names the home, raising the term when it changes (kept in the log
  // before it is returned). An error to keep it leaves the home as it was.
  StatusOr<CronHomeState> Choose(const std::vector<PopStatus>& pops, uint64_t now_ms);
  const CronHomeState& current() const { return current_; }

  // A PoP asks to fire `cron` of `worker` for the minute `minute_ms` (Unix
  // ms, a whole minute) under `term`: granted (the minute is kept in the
  // log first), or refused with the reason (not the home, an old term, a
  // minute granted already or older than the last one granted); an error
  // for malformed fields (kInvalidInput) or when it cannot be kept.
  StatusOr<ClaimOutcome> Claim(const std::string& pop_id, uint64_t term, const std::string& worker,
               const std::string& cron, int64_t minute_ms);

 private:
  CronHome(SyncLog& log, std::string pinned, uint64_t grace_ms)
      : log_(&log), pinned_(std::move(pinned)), grace_ms_(grace_ms) {}
  Status Keep(const CronHomeState& state);

  SyncLog* log_;
  std::string pinned_;
  uint64_t grace_ms_;
  CronHomeState current_;
};

// The check-in answer's members that name the home (`"cron_home":...,
// "cron_term":N`), and what a PoP reads back from an answer (nullopt when
// the answer names none: an older origin, or a relay).
std::string CronHomeJsonMembers(const CronHomeState& state);
std::optional<CronHomeState> ParseCronHome(std::string_view checkin_answer);

// The body of POST /sync/cron-claim, and its parser (kInvalidInput with
// the field that is wrong).
struct CronClaim {
  std::string pop_id;
  uint64_t term = 0;
  std::string worker;
  std::string cron;
  int64_t minute_ms = 0;
};
std::string EncodeCronClaim(const CronClaim& claim);
StatusOr<CronClaim> DecodeCronClaim(std::string_view json);

}  // namespace edge::sync
