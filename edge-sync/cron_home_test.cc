#include "edge-sync/cron_home.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "base/testing/temp_dir.h"

namespace edge::sync {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kGrace = 10'000;
constexpr int64_t kMinute = 60'000;

PopStatus Pop(const std::string& id, uint64_t reported_ms, bool candidate = true,
              std::string via = "") {
  PopStatus pop;
  pop.pop_id = id;
  pop.reported_ms = reported_ms;
  pop.cron_candidate = candidate;
  pop.via = std::move(via);
  return pop;
}

class CronHomeTest : public ::testing::Test {
 protected:
  CronHomeTest() { Reopen(); }

  void Reopen(std::string pinned = "") {
    home_.reset();
    log_.reset();
    auto log = SyncLog::Open(dir_.path());
    ASSERT_TRUE(log.ok()) << log.status().message();
    log_ = std::move(log).value();
    auto home = CronHome::Open(*log_, std::move(pinned), kGrace);
    ASSERT_TRUE(home.ok()) << home.status().message();
    home_ = std::make_unique<CronHome>(std::move(home).value());
  }

  CronHomeState Choose(const std::vector<PopStatus>& pops, uint64_t now) {
    auto state = home_->Choose(pops, now);
    EXPECT_TRUE(state.ok()) << state.status().message();
    return state.ok() ? *state : CronHomeState{};
  }

  ClaimOutcome Claim(const std::string& pop, uint64_t term, int64_t minute,
                     const std::string& worker = "ticker", const std::string& cron = "* * * * *") {
    auto outcome = home_->Claim(pop, term, worker, cron, minute);
    EXPECT_TRUE(outcome.ok()) << outcome.status().message();
    return outcome.ok() ? *outcome : ClaimOutcome{};
  }

  base::testing::TempDir dir_{"edge-cron-home"};
  std::unique_ptr<SyncLog> log_;
  std::unique_ptr<CronHome> home_;
};

TEST_F(CronHomeTest, NamesTheLowestFreshCandidateThatChecksInDirectly) {
  uint64_t now = 1'000'000;
  CronHomeState state = Choose({Pop("a", now - kGrace - 1),           // not heard from lately
                                Pop("b", now, /*candidate=*/false),  // run_crons set
                                Pop("c", now, true, "relay-1"),      // below a relay
                                Pop("d", now), Pop("e", now)},
                               now);
  EXPECT_EQ(state.pop_id, "d");
  EXPECT_EQ(state.term, 1u);
  // Asked again with the same view: same home, same term.
  EXPECT_EQ(Choose({Pop("d", now), Pop("e", now)}, now + 1).term, 1u);
}

TEST_F(CronHomeTest, AHomeThatKeepsCheckingInStaysAndOneThatStopsIsReplaced) {
  uint64_t now = 1'000'000;
  EXPECT_EQ(Choose({Pop("m", now)}, now).pop_id, "m");
  // A lower pop_id appears: the home stays (no needless handover).
  CronHomeState state = Choose({Pop("a", now + 1000), Pop("m", now + 1000)}, now + 1000);
  EXPECT_EQ(state.pop_id, "m");
  EXPECT_EQ(state.term, 1u);
  // m stops checking in: after the grace time, a takes over in a new term.
  state = Choose({Pop("a", now + kGrace + 5000), Pop("m", now + 1000)}, now + kGrace + 5000);
  EXPECT_EQ(state.pop_id, "a");
  EXPECT_EQ(state.term, 2u);
  // Nobody left: no home, a new term (no PoP may fire).
  state = Choose({}, now + 10 * kGrace);
  EXPECT_EQ(state.pop_id, "");
  EXPECT_EQ(state.term, 3u);
}

TEST_F(CronHomeTest, APinnedHomeIsTheHomeWhateverTheView) {
  Reopen("pinned-pop");
  CronHomeState state = Choose({Pop("a", 1000)}, 1000);
  EXPECT_EQ(state.pop_id, "pinned-pop");
  EXPECT_TRUE(Claim("pinned-pop", state.term, kMinute).granted);
  EXPECT_FALSE(Claim("a", state.term, 2 * kMinute).granted);
}

TEST_F(CronHomeTest, EachMinuteIsGrantedOnceToTheHomeInItsTerm) {
  uint64_t now = 1'000'000;
  CronHomeState state = Choose({Pop("a", now), Pop("b", now)}, now);
  ASSERT_EQ(state.pop_id, "a");
  EXPECT_TRUE(Claim("a", state.term, 10 * kMinute).granted);
  ClaimOutcome again = Claim("a", state.term, 10 * kMinute);
  EXPECT_FALSE(again.granted);
  EXPECT_THAT(again.refusal, HasSubstr("granted already"));
  EXPECT_FALSE(Claim("a", state.term, 9 * kMinute).granted);  // older than the last granted
  ClaimOutcome not_home = Claim("b", state.term, 11 * kMinute);
  EXPECT_FALSE(not_home.granted);
  EXPECT_THAT(not_home.refusal, HasSubstr("not the cron home"));
  ClaimOutcome old_term = Claim("a", state.term + 7, 11 * kMinute);
  EXPECT_FALSE(old_term.granted);
  EXPECT_THAT(old_term.refusal, HasSubstr("term"));
  // Another expression or worker has its own minutes.
  EXPECT_TRUE(Claim("a", state.term, 10 * kMinute, "ticker", "0 * * * *").granted);
  EXPECT_TRUE(Claim("a", state.term, 10 * kMinute, "other").granted);
  EXPECT_TRUE(Claim("a", state.term, 11 * kMinute).granted);
}

TEST_F(CronHomeTest, TheHandoverNeverGrantsAMinuteTwice) {
  uint64_t now = 1'000'000;
  CronHomeState first = Choose({Pop("a", now), Pop("b", now)}, now);
  EXPECT_TRUE(Claim("a", first.term, 5 * kMinute).granted);
  // a is cut off; b is named. a still believes it is home: refused. b may
  // not fire what a fired.
  CronHomeState second = Choose({Pop("a", now), Pop("b", now + 2 * kGrace)}, now + 2 * kGrace);
  ASSERT_EQ(second.pop_id, "b");
  EXPECT_FALSE(Claim("a", first.term, 6 * kMinute).granted);
  EXPECT_FALSE(Claim("b", second.term, 5 * kMinute).granted);
  EXPECT_TRUE(Claim("b", second.term, 6 * kMinute).granted);
}

TEST_F(CronHomeTest, TermHomeAndGrantedMinutesSurviveARestart) {
  uint64_t now = 1'000'000;
  CronHomeState state = Choose({Pop("a", now)}, now);
  EXPECT_TRUE(Claim("a", state.term, 3 * kMinute).granted);
  Reopen();
  EXPECT_EQ(home_->current().pop_id, "a");
  EXPECT_EQ(home_->current().term, state.term);
  EXPECT_FALSE(Claim("a", state.term, 3 * kMinute).granted);
  // After a restart the fleet view is empty until PoPs check in: another
  // PoP checking in first is named in a later term, never an earlier one.
  CronHomeState next = Choose({Pop("b", now + 5 * kGrace)}, now + 5 * kGrace);
  EXPECT_EQ(next.pop_id, "b");
  EXPECT_GT(next.term, state.term);
}

TEST_F(CronHomeTest, MalformedClaimsAreErrors) {
  CronHomeState state = Choose({Pop("a", 1000)}, 1000);
  EXPECT_FALSE(home_->Claim("a", state.term, "", "* * * * *", kMinute).ok());
  EXPECT_FALSE(home_->Claim("a", state.term, "w", "", kMinute).ok());
  EXPECT_FALSE(home_->Claim("a", state.term, "w", "* * * * *", kMinute + 1).ok());
  EXPECT_FALSE(home_->Claim("a", state.term, "w", "* * * * *", -kMinute).ok());
  EXPECT_FALSE(home_->Claim("a", state.term, std::string(200, 'w'), "* * * * *", kMinute).ok());
}

TEST(CronClaimJsonTest, RoundTripsAndRefusesWhatIsMissing) {
  CronClaim claim{"pop-a", 4, "ticker", "*/5 * * * *", 120'000};
  auto decoded = DecodeCronClaim(EncodeCronClaim(claim));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->pop_id, "pop-a");
  EXPECT_EQ(decoded->term, 4u);
  EXPECT_EQ(decoded->worker, "ticker");
  EXPECT_EQ(decoded->cron, "*/5 * * * *");
  EXPECT_EQ(decoded->minute_ms, 120'000);
  EXPECT_FALSE(DecodeCronClaim("{\"pop_id\":\"a\",\"term\":1,\"worker\":\"w\"}").ok());
  EXPECT_FALSE(DecodeCronClaim("not json").ok());
  EXPECT_FALSE(DecodeCronClaim(std::string(5000, ' ') + "{}").ok());
}

TEST(CronHomeJsonTest, ACheckInAnswerNamesTheHomeOrNothing) {
  auto named = ParseCronHome("{\"head\":3," + CronHomeJsonMembers({"pop-b", 7}) + "}");
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ(named->pop_id, "pop-b");
  EXPECT_EQ(named->term, 7u);
  EXPECT_FALSE(ParseCronHome("{\"head\":3}").has_value());  // a relay's answer
  EXPECT_FALSE(ParseCronHome("garbage").has_value());
}

}  // namespace
}  // namespace edge::sync
