// Tests of fair intake (actors/zmq/intake_queues.hpp): round-robin across
// pool managers, each up to its own limit, and `busy` past a queue's cap.

#include "actors/zmq/intake_queues.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using namespace minidns;

TEST(IntakeQueues, RoundRobinAcrossPoolManagers) {
  intake_queues<int> q(100);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(q.push("a", i));
  ASSERT_TRUE(q.push("b", 100));
  ASSERT_TRUE(q.push("b", 101));
  ASSERT_TRUE(q.push("c", 200));
  std::vector<std::pair<std::string, int>> order;
  while (auto x = q.pop([](const std::string&) { return true; }))
    order.push_back(*x);
  std::vector<std::pair<std::string, int>> expected{
      {"a", 0},   {"b", 100}, {"c", 200}, {"a", 1},
      {"b", 101}, {"a", 2},   {"a", 3},   {"a", 4}};
  EXPECT_EQ(order, expected) << "b and c wait no longer than one turn";
  EXPECT_EQ(q.size(), 0u);
}

TEST(IntakeQueues, APoolManagerAtItsLimitIsSkipped) {
  intake_queues<int> q(100);
  for (int i = 0; i < 3; ++i)
    q.push("a", i);
  q.push("b", 7);
  auto not_a = [](const std::string& p) { return p != "a"; };
  auto x = q.pop(not_a);
  ASSERT_TRUE(x);
  EXPECT_EQ(*x, std::make_pair(std::string("b"), 7));
  EXPECT_FALSE(q.pop(not_a)) << "only a's casts are left";
  EXPECT_EQ(q.size("a"), 3u);
  auto y = q.pop([](const std::string&) { return true; });
  ASSERT_TRUE(y);
  EXPECT_EQ(y->second, 0) << "first in, first out";
}

TEST(IntakeQueues, PastTheCapAPoolManagerIsBusyOthersAreNot) {
  intake_queues<int> q(2);
  EXPECT_TRUE(q.push("a", 1));
  EXPECT_TRUE(q.push("a", 2));
  EXPECT_FALSE(q.push("a", 3)) << "busy";
  EXPECT_TRUE(q.push("b", 4)) << "a's backlog is a's";
  EXPECT_EQ(q.size(), 3u);
  q.pop([](const std::string&) { return true; });
  EXPECT_TRUE(q.push("a", 5)) << "room again";
}

TEST(IntakeQueues, TakeAllEmptiesInQueueOrder) {
  intake_queues<int> q(10);
  q.push("a", 1);
  q.push("b", 2);
  q.push("a", 3);
  std::vector<std::pair<std::string, int>> got;
  q.take_all([&](const std::string& p, int x) { got.emplace_back(p, x); });
  std::vector<std::pair<std::string, int>> expected{
      {"a", 1}, {"a", 3}, {"b", 2}};
  EXPECT_EQ(got, expected);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.pop([](const std::string&) { return true; }));
  EXPECT_TRUE(q.push("a", 9));
}

TEST(IntakeQueues, TakeIfTakesThePeersMatchingCastsInOrder) {
  intake_queues<int> q(100);
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(q.push("a", i));
  ASSERT_TRUE(q.push("b", 2)); // another pool manager's: never taken
  std::vector<int> taken;
  auto n = q.take_if(
      "a", [](int x) { return x % 2 == 0; },
      [&](int x) { taken.push_back(x); });
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(taken, (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q.size("a"), 3u);
  // Taking all of a peer's casts takes it out of the round-robin.
  EXPECT_EQ(q.take_if(
                "a", [](int) { return true; }, [](int) {}),
            3u);
  EXPECT_EQ(q.size("a"), 0u);
  auto next = q.pop([](const std::string&) { return true; });
  ASSERT_TRUE(next);
  EXPECT_EQ(next->first, "b");
  EXPECT_FALSE(q.pop([](const std::string&) { return true; }));
  EXPECT_EQ(q.take_if(
                "nobody", [](int) { return true; }, [](int) {}),
            0u);
}

} // namespace
