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

}  // namespace
}  // namespace edge::runtime
