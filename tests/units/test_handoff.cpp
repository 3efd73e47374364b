/// The hand-over queue of the loop threads: order, the wake-up rule and
/// the fd's readability.

#include "actors/handoff.hpp"

#include <gtest/gtest.h>
#include <poll.h>

using namespace minidns;

namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

} // namespace

TEST(Handoff, OnlyThePushOntoAnEmptyQueueAsksForAWakeUp) {
  handoff<int> q;
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.push(1));
  EXPECT_FALSE(q.push(2));
  EXPECT_FALSE(q.empty());
  std::vector<int> out;
  q.take(out);
  EXPECT_EQ(out, (std::vector<int>{1, 2}));
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.push(3)); // empty again: the loop may be asleep
}

TEST(Handoff, TheFdIsReadableFromWakeUntilClear) {
  handoff<int> q;
  EXPECT_FALSE(readable(q.fd()));
  q.wake();
  q.wake(); // twice: one clear() is enough
  EXPECT_TRUE(readable(q.fd()));
  q.clear();
  EXPECT_FALSE(readable(q.fd()));
  q.clear(); // clearing a quiet fd does not block
  EXPECT_FALSE(readable(q.fd()));
}
