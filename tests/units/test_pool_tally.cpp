#include "actors/zmq/pool_tally.hpp"

#include <gtest/gtest.h>

namespace {

using minidns::pool_tally;
using minidns::net::detail;
using state = pool_tally::state;

TEST(PoolTally, NeededIsTheCeilingOfTheThresholdShare) {
  EXPECT_EQ(pool_tally(3, 66).needed(), 2u); // 1.98
  EXPECT_EQ(pool_tally(3, 67).needed(), 3u); // 2.01
  EXPECT_EQ(pool_tally(3, 100).needed(), 3u);
  EXPECT_EQ(pool_tally(3, 1).needed(), 1u);
  EXPECT_EQ(pool_tally(1, 1).needed(), 1u);
  EXPECT_EQ(pool_tally(1000, 50).needed(), 500u);
  EXPECT_EQ(pool_tally(1000, 100).needed(), 1000u);
  EXPECT_EQ(pool_tally(7, 50).needed(), 4u); // 3.5
}

TEST(PoolTally, SuccessOnceEnoughReachedWithTheLowestOfThem) {
  pool_tally t(4, 50);
  EXPECT_FALSE(t.record(0, false, 3, detail::lower_serial));
  EXPECT_FALSE(t.decided());
  EXPECT_FALSE(t.record(1, true, 10, detail::newer));
  EXPECT_TRUE(t.record(2, true, 8, detail::matched));
  EXPECT_EQ(t.outcome(), true);
  EXPECT_EQ(t.detail(), detail::threshold_met);
  // The lowest of those that reached it; the failed one's 3 does not count.
  EXPECT_EQ(t.serial(), 8u);
  EXPECT_TRUE(t.pending_at_decision(3));
  EXPECT_FALSE(t.pending_at_decision(0));
  // The one still running ends later: its line is updated, the outcome and
  // the consensus are not.
  EXPECT_FALSE(t.record(3, true, 2, detail::matched));
  EXPECT_EQ(t.entries()[3].serial, 2u);
  EXPECT_EQ(t.serial(), 8u);
  EXPECT_EQ(t.outcome(), true);
}

TEST(PoolTally, ErrorAsSoonAsTheThresholdIsOutOfReach) {
  pool_tally t(3, 100);
  EXPECT_FALSE(t.record(0, true, 5, detail::matched));
  EXPECT_TRUE(t.record(2, false, 4, detail::lower_serial));
  EXPECT_EQ(t.outcome(), false);
  EXPECT_EQ(t.detail(), detail::threshold_missed);
  // On ERROR, the lowest serial seen anywhere.
  EXPECT_EQ(t.serial(), 4u);
  EXPECT_TRUE(t.pending_at_decision(1));
  EXPECT_EQ(t.entries()[1].st, state::pending);
  EXPECT_EQ(t.entries()[1].detail, detail::pending);
}

TEST(PoolTally, SerialsAreComparedByRfc1982) {
  pool_tally t(2, 100);
  t.record(0, true, 0xFFFFFFF0u, detail::matched);
  t.record(1, true, 5, detail::newer); // 5 follows 0xFFFFFFF0
  EXPECT_EQ(t.serial(), 0xFFFFFFF0u);
}

TEST(PoolTally, NoSerialSeenIsNil) {
  pool_tally t(2, 50);
  t.record(0, false, std::nullopt, detail::timeout);
  t.record(1, false, std::nullopt, detail::timeout);
  EXPECT_EQ(t.outcome(), false);
  EXPECT_EQ(t.serial(), std::nullopt);
  // Absence: reached without a serial; SUCCESS carries none.
  pool_tally a(2, 50);
  EXPECT_TRUE(a.record(0, true, std::nullopt, detail::rcode_refused));
  EXPECT_EQ(a.serial(), std::nullopt);
}

TEST(PoolTally, AbandonDecidesOnceAsError) {
  pool_tally t(3, 100);
  t.record(0, true, 5, detail::matched);
  EXPECT_TRUE(t.abandon(detail::cancelled));
  EXPECT_FALSE(t.abandon(detail::shutdown));
  EXPECT_EQ(t.outcome(), false);
  EXPECT_EQ(t.detail(), detail::cancelled);
  EXPECT_FALSE(t.pending_at_decision(0));
  EXPECT_TRUE(t.pending_at_decision(1));
  EXPECT_FALSE(t.record(1, true, 6, detail::matched)) << "decided already";
}

TEST(PoolTally, EachDestinationEndsOnce) {
  pool_tally t(2, 100);
  EXPECT_FALSE(t.record(0, true, 5, detail::matched));
  EXPECT_FALSE(t.record(0, true, 5, detail::matched));
  EXPECT_EQ(t.reached(), 1u);
  EXPECT_FALSE(t.decided());
}

} // namespace
