/// When freed heap memory goes back to the system, on a fake clock: a look
/// at most once per interval and only after work, a trim only when much
/// more is resident than in use.

#include "actors/zmq/memory_trim.hpp"

#include <gtest/gtest.h>

using namespace minidns;
using namespace std::chrono_literals;

namespace {

using tp = std::chrono::steady_clock::time_point;
const tp t0{std::chrono::seconds(1000)};
constexpr uint64_t MiB = uint64_t{1} << 20;

TEST(MemoryTrim, AnIdleLoopNeverWakesForIt) {
  memory_trim m;
  EXPECT_FALSE(m.due(t0));
  EXPECT_FALSE(m.next_wakeup(t0));
  EXPECT_FALSE(m.due(t0 + 1h));
}

TEST(MemoryTrim, LooksOneIntervalAfterWorkBegins) {
  memory_trim m;
  m.worked(t0);
  EXPECT_FALSE(m.due(t0));
  EXPECT_EQ(m.next_wakeup(t0), 1000ms);
  m.worked(t0 + 400ms);
  EXPECT_EQ(m.next_wakeup(t0 + 400ms), 600ms) << "more work: same look";
  EXPECT_FALSE(m.due(t0 + 999ms));
  EXPECT_TRUE(m.due(t0 + 1s));
  EXPECT_EQ(m.next_wakeup(t0 + 1500ms), 0ms) << "overdue: look now";
}

TEST(MemoryTrim, LooksOncePerIntervalUnderSteadyWork) {
  memory_trim m;
  int looks = 0;
  for (auto t = t0; t < t0 + 10s; t += 10ms) {
    m.worked(t);
    if (m.due(t)) {
      ++looks;
      EXPECT_FALSE(m.look(t, {100 * MiB, 110 * MiB}));
    }
  }
  EXPECT_EQ(looks, 9);
}

TEST(MemoryTrim, NoWorkSinceTheLastLookNoLook) {
  memory_trim m;
  m.worked(t0);
  ASSERT_TRUE(m.due(t0 + 1s));
  m.look(t0 + 1s, {});
  EXPECT_FALSE(m.due(t0 + 5s));
  EXPECT_FALSE(m.next_wakeup(t0 + 5s));
}

TEST(MemoryTrim, WorkSoonAfterALookWaitsForTheInterval) {
  memory_trim m;
  m.worked(t0);
  m.look(t0 + 1s, {});
  m.worked(t0 + 1200ms);
  EXPECT_EQ(m.next_wakeup(t0 + 1200ms), 800ms);
  EXPECT_TRUE(m.due(t0 + 2s));
}

TEST(MemoryTrim, WorkLongAfterALookStartsAFreshInterval) {
  memory_trim m;
  m.worked(t0);
  m.look(t0 + 1s, {});
  m.worked(t0 + 60s);
  EXPECT_FALSE(m.due(t0 + 60s)) << "nothing freed yet at the first work";
  EXPECT_TRUE(m.due(t0 + 61s));
}

TEST(MemoryTrim, TrimsWhenMuchMoreIsResidentThanInUse) {
  memory_trim m;
  EXPECT_TRUE(m.look(t0, {20 * MiB, 220 * MiB})) << "after a burst";
  EXPECT_TRUE(m.look(t0, {40 * MiB, 80 * MiB})) << "half idle";
  EXPECT_FALSE(m.look(t0, {100 * MiB, 160 * MiB}))
      << "a steady load reuses what it frees";
  EXPECT_FALSE(m.look(t0, {1 * MiB, 12 * MiB})) << "too little to matter";
}

TEST(MemoryTrim, WhatATrimCannotReturnDoesNotMakeEveryLookTrim) {
  memory_trim m;
  ASSERT_TRUE(m.look(t0, {20 * MiB, 220 * MiB}));
  m.trimmed({20 * MiB, 60 * MiB}); // 40 MiB stay: code, stacks, fragments
  EXPECT_FALSE(m.look(t0 + 1s, {20 * MiB, 60 * MiB}));
  EXPECT_FALSE(m.look(t0 + 2s, {20 * MiB, 70 * MiB})) << "10 MiB more";
  EXPECT_TRUE(m.look(t0 + 3s, {20 * MiB, 80 * MiB})) << "16 MiB more";
}

TEST(MemoryTrim, AFloorReusedSinceIsLowered) {
  memory_trim m;
  ASSERT_TRUE(m.look(t0, {20 * MiB, 220 * MiB}));
  m.trimmed({20 * MiB, 60 * MiB});
  EXPECT_FALSE(m.look(t0 + 1s, {50 * MiB, 60 * MiB})) << "idle 10 MiB now";
  EXPECT_TRUE(m.look(t0 + 2s, {20 * MiB, 50 * MiB}))
      << "30 MiB freed again, 16 MiB above the lowered floor";
}

TEST(MemoryTrim, WaitsForAWaveOfEndingRequestsToBeOver) {
  memory_trim m;
  for (auto t = t0; t < t0 + 3s; t += 10ms)
    m.worked(t, 300000); // a wave of requests
  EXPECT_FALSE(m.look(t0 + 3s, {300 * MiB, 700 * MiB}, 150000))
      << "half of the wave still in flight";
  m.worked(t0 + 3500ms, 100000);
  EXPECT_FALSE(m.look(t0 + 4s, {60 * MiB, 700 * MiB}, 3000)) << "its tail";
  EXPECT_TRUE(m.due(t0 + 5s)) << "still falling: another look, work or not";
  EXPECT_FALSE(m.look(t0 + 5s, {20 * MiB, 700 * MiB}, 0));
  EXPECT_TRUE(m.due(t0 + 6s));
  EXPECT_TRUE(m.look(t0 + 6s, {20 * MiB, 700 * MiB}, 0)) << "it is over";
  EXPECT_FALSE(m.next_wakeup(t0 + 6s)) << "settled and idle: no more looks";
}

TEST(MemoryTrim, ALoadThatKeepsFallingIsNotSettled) {
  memory_trim m;
  uint64_t load = 100000;
  m.worked(t0, load);
  // Requests end at a fifth of what is left per second: more than an
  // eighth between two looks.
  for (int i = 1; i < 10; ++i) {
    load = load * 4 / 5;
    m.worked(t0 + std::chrono::seconds(i) - 500ms, load * 9 / 8);
    EXPECT_FALSE(
        m.look(t0 + std::chrono::seconds(i), {20 * MiB, 300 * MiB}, load))
        << "load " << load;
  }
  m.worked(t0 + 9500ms, load);
  EXPECT_TRUE(m.look(t0 + 10s, {20 * MiB, 300 * MiB}, load * 15 / 16))
      << "fell by less than an eighth: settled";
}

TEST(MemoryTrim, APeakBetweenLooksCounts) {
  memory_trim m;
  m.worked(t0, 1000);
  m.worked(t0 + 500ms, 200000);
  EXPECT_FALSE(m.look(t0 + 1s, {20 * MiB, 220 * MiB}, 30000));
}

TEST(MemoryTrim, ASteadyLoadAfterABurstHasSettled) {
  memory_trim m;
  for (auto t = t0; t < t0 + 1s; t += 10ms)
    m.worked(t, 300000); // the burst
  EXPECT_FALSE(m.look(t0 + 1s, {300 * MiB, 700 * MiB}, 45000))
      << "still draining";
  m.worked(t0 + 1500ms, 40500); // a steady load goes on
  EXPECT_TRUE(m.look(t0 + 2s, {50 * MiB, 700 * MiB}, 40000))
      << "no longer falling: what the burst freed goes back";
  m.trimmed({50 * MiB, 80 * MiB});
  m.worked(t0 + 2500ms, 41000);
  EXPECT_FALSE(m.look(t0 + 3s, {50 * MiB, 80 * MiB}, 40000))
      << "nothing more to return";
}

TEST(MemoryTrim, ThresholdsAreOptions) {
  memory_trim m({100ms, 1 * MiB, 4});
  m.worked(t0);
  EXPECT_TRUE(m.due(t0 + 100ms));
  EXPECT_TRUE(m.look(t0 + 100ms, {1 * MiB, 3 * MiB}));
  m.worked(t0 + 150ms, 100);
  EXPECT_FALSE(m.look(t0 + 200ms, {1 * MiB, 3 * MiB}, 60))
      << "fell by more than a quarter";
  EXPECT_TRUE(m.look(t0 + 300ms, {1 * MiB, 3 * MiB}, 45)) << "by a quarter";
}

} // namespace
