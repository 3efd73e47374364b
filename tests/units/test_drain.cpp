/// The drain's state machine on a fake clock: refuse, wait, force, flush,
/// stop.

#include "actors/zmq/drain.hpp"

#include <gtest/gtest.h>

using namespace minidns;
using namespace std::chrono_literals;

namespace {

using tp = std::chrono::steady_clock::time_point;
const tp t0{std::chrono::seconds(1000)};

TEST(Drain, ServesUntilBegunWhateverIsInFlight) {
  drain_machine d{2000ms};
  EXPECT_FALSE(d.refusing());
  EXPECT_EQ(d.after_turn(t0, 0, 0, 0), drain_action::go_on);
  EXPECT_EQ(d.phase(), drain_phase::serving);
  EXPECT_FALSE(d.next_wakeup());
}

TEST(Drain, BeginRefusesCastsOnce) {
  drain_machine d{2000ms};
  EXPECT_TRUE(d.begin());
  EXPECT_TRUE(d.refusing());
  EXPECT_FALSE(d.begin()) << "a second signal does not begin again";
  EXPECT_EQ(d.phase(), drain_phase::waiting);
}

TEST(Drain, WaitsForRunningRequestsThenStopsWhenAllIsSent) {
  drain_machine d{2000ms};
  d.begin();
  EXPECT_EQ(d.after_turn(t0, 3, 0, 0), drain_action::go_on);
  EXPECT_EQ(d.after_turn(t0 + 10s, 1, 5, 0), drain_action::go_on)
      << "no linger deadline while requests run";
  EXPECT_EQ(d.after_turn(t0 + 11s, 0, 0, 0), drain_action::stop);
  EXPECT_EQ(d.phase(), drain_phase::stopped);
}

TEST(Drain, ForceHappensOnce) {
  drain_machine d{2000ms};
  d.begin();
  EXPECT_TRUE(d.force());
  EXPECT_FALSE(d.force());
}

TEST(Drain, RepliesNobodyTakesGetTheLingerTimeThenAreDropped) {
  drain_machine d{2000ms};
  d.begin();
  EXPECT_EQ(d.after_turn(t0, 0, 2, 1), drain_action::go_on);
  EXPECT_EQ(d.phase(), drain_phase::flushing);
  ASSERT_TRUE(d.next_wakeup());
  EXPECT_LE(*d.next_wakeup(), 5ms) << "it must look again for the deadline";
  EXPECT_EQ(d.after_turn(t0 + 1999ms, 0, 2, 1), drain_action::go_on);
  EXPECT_EQ(d.after_turn(t0 + 2000ms, 0, 2, 1), drain_action::drop_and_stop);
  EXPECT_EQ(d.phase(), drain_phase::stopped);
}

TEST(Drain, RepliesTakenWithinTheLingerTimeStopCleanly) {
  drain_machine d{2000ms};
  d.begin();
  EXPECT_EQ(d.after_turn(t0, 0, 1, 0), drain_action::go_on);
  EXPECT_EQ(d.after_turn(t0 + 500ms, 0, 0, 0), drain_action::stop);
}

TEST(Drain, HeldRepliesAloneAlsoGetTheLingerTime) {
  drain_machine d{100ms};
  d.begin();
  EXPECT_EQ(d.after_turn(t0, 0, 0, 4), drain_action::go_on);
  EXPECT_EQ(d.after_turn(t0 + 100ms, 0, 0, 4), drain_action::drop_and_stop);
}

TEST(Drain, TheLingerTimeStartsWhenTheLastRequestEnds) {
  drain_machine d{1000ms};
  d.begin();
  EXPECT_EQ(d.after_turn(t0, 1, 3, 0), drain_action::go_on);
  EXPECT_EQ(d.after_turn(t0 + 5s, 0, 3, 0), drain_action::go_on);
  EXPECT_EQ(d.after_turn(t0 + 5999ms, 0, 3, 0), drain_action::go_on);
  EXPECT_EQ(d.after_turn(t0 + 6s, 0, 3, 0), drain_action::drop_and_stop);
}

} // namespace
