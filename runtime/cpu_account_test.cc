#include "runtime/cpu_account.h"

#include <gtest/gtest.h>

namespace edge::runtime {
namespace {

TEST(CpuAccountTest, OneRequestIsChargedEveryEntry) {
  CpuAccount account;
  double mark = account.Open();
  account.Charge(10);
  account.Charge(5);
  EXPECT_EQ(account.Close(mark), 15u);
  EXPECT_EQ(account.total_ns(), 15u);
}

TEST(CpuAccountTest, OverlappingRequestsShareEntriesAndAddUp) {
  CpuAccount account;
  double a = account.Open();
  account.Charge(100);  // a alone
  double b = account.Open();
  account.Charge(100);  // a and b
  EXPECT_EQ(account.Close(a), 150u);
  account.Charge(30);  // b alone
  EXPECT_EQ(account.Close(b), 80u);
  account.Charge(7);  // nobody open: the worker still pays
  EXPECT_EQ(account.total_ns(), 237u);
}

TEST(CpuAccountTest, EntryBudgetLeavesTheMostChargedRequestItsRest) {
  CpuAccount account;
  EXPECT_EQ(account.EntryBudget(50), 50u);  // no request: the whole limit
  double a = account.Open();
  account.Charge(30);
  EXPECT_EQ(account.EntryBudget(50), 20u);
  double b = account.Open();
  // Two open: the next entry is split, a reaches 50 after 2 * 20.
  EXPECT_EQ(account.EntryBudget(50), 40u);
  account.Charge(40);
  EXPECT_EQ(account.EntryBudget(50), 1u);  // a is at its limit
  account.Close(a);
  EXPECT_EQ(account.EntryBudget(50), 30u);  // b was charged 20
  account.Close(b);
}

TEST(CpuAccountTest, ChainsAreChargedTheirRequestsShares) {
  CpuAccount account;
  auto chain = RequestChain::TopLevel(1);  // 1 ms = 1,000,000 ns
  auto other = RequestChain::TopLevel(1);
  EXPECT_EQ(account.ChainEntryBudget().entry_ns, CpuAccount::kNoChainBudget);
  double a = account.Open(chain);
  account.Charge(400000);
  EXPECT_EQ(chain->cpu_used_ns.load(), 400000u);
  EXPECT_EQ(account.ChainEntryBudget().entry_ns, 600000u);
  EXPECT_EQ(account.ChainEntryBudget().chain, chain);
  // Two requests of the same chain and one of another: the chain gets two
  // thirds of each entry, so it runs out after 1.5 times what it has left.
  double b = account.Open(chain);
  double c = account.Open(other);
  EXPECT_EQ(account.ChainEntryBudget().entry_ns, 900000u);
  account.Charge(300000);
  EXPECT_EQ(chain->cpu_used_ns.load(), 600000u);
  EXPECT_EQ(other->cpu_used_ns.load(), 100000u);
  // CPU the chain's invocations used elsewhere counts too.
  chain->ChargeCpu(400000);
  EXPECT_EQ(account.ChainEntryBudget().entry_ns, 0u);
  account.Close(a, chain.get());
  account.Close(b, chain.get());
  EXPECT_EQ(account.ChainEntryBudget().chain, other);
  EXPECT_EQ(account.ChainEntryBudget().entry_ns, 900000u);
  account.Close(c, other.get());
  EXPECT_EQ(account.ChainEntryBudget().entry_ns, CpuAccount::kNoChainBudget);
  // A chain with no budget (a top-level request of a worker with no
  // limit) bounds nothing.
  double d = account.Open(RequestChain::TopLevel(0));
  EXPECT_EQ(account.ChainEntryBudget().entry_ns, CpuAccount::kNoChainBudget);
  account.Close(d);
}

TEST(RequestChainTest, InvocationsStopAt32AndASpentChainHasNothingLeft) {
  RequestChain chain;
  for (uint32_t i = 1; i < kMaxChainInvocations; ++i) EXPECT_TRUE(chain.AddInvocation());
  EXPECT_FALSE(chain.AddInvocation());
  EXPECT_EQ(chain.invocations.load(), kMaxChainInvocations);
  auto budgeted = RequestChain::TopLevel(5);
  budgeted->ChargeCpu(1000);
  EXPECT_EQ(budgeted->CpuLeftNs(), 4999000u);
  budgeted->MarkSpent();
  EXPECT_EQ(budgeted->CpuLeftNs(), 0u);
}

}  // namespace
}  // namespace edge::runtime
