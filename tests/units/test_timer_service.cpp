/// The timer service on a fake clock: order, cancel, lazy drops, and the
/// lateness figure that cast intake reads.

#include "actors/udp/timer_service.hpp"

#include <gtest/gtest.h>
#include <set>
#include <vector>

using namespace minidns;
using namespace std::chrono_literals;

namespace {

using tp = std::chrono::steady_clock::time_point;
const tp t0{std::chrono::seconds(1000)}; // the fake clock's start

request_timer timeout(tp due, uint64_t token, uint32_t attempt) {
  return {due, token, attempt, timer_kind::attempt_timeout,
          net::query_kind::soa};
}

request_timer pause(tp due, uint64_t token, uint32_t attempt) {
  return {due, token, attempt, timer_kind::retry_pause, net::query_kind::soa};
}

struct fired {
  uint64_t token;
  uint32_t attempt;
  timer_kind kind;
  std::chrono::nanoseconds late;
};

/// The requests that still run, as the UDP thread's attempt table knows
/// them: a timer of any other request is cancelled.
struct owner {
  std::set<uint64_t> running;
  void end(uint64_t token) { running.erase(token); }
};

std::vector<fired> fire(timer_service& s, tp now, const owner& o) {
  std::vector<fired> out;
  s.fire_due(now, [&](const request_timer& t, std::chrono::nanoseconds late) {
    if (o.running.count(t.token) == 0)
      return false;
    out.push_back({t.token, t.attempt, t.kind, late});
    return true;
  });
  return out;
}

TEST(TimerService, NothingFiresBeforeItIsDue) {
  timer_service s;
  owner o{{1}};
  s.schedule(timeout(t0 + 100ms, 1, 1));
  EXPECT_TRUE(fire(s, t0 + 99ms, o).empty());
  EXPECT_EQ(s.queued(), 1u);
  auto f = fire(s, t0 + 100ms, o);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].late, 0ns);
  EXPECT_EQ(s.queued(), 0u);
  EXPECT_FALSE(s.next_due());
}

TEST(TimerService, FiresInDueOrderWhateverTheOrderOfScheduling) {
  timer_service s;
  owner o{{1, 2, 3}};
  s.schedule(timeout(t0 + 30ms, 3, 1));
  s.schedule(pause(t0 + 10ms, 1, 1));
  s.schedule(timeout(t0 + 20ms, 2, 1));
  ASSERT_TRUE(s.next_due());
  EXPECT_EQ(*s.next_due(), t0 + 10ms);
  auto f = fire(s, t0 + 1s, o);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].token, 1u);
  EXPECT_EQ(f[0].kind, timer_kind::retry_pause);
  EXPECT_EQ(f[1].token, 2u);
  EXPECT_EQ(f[2].token, 3u);
  EXPECT_EQ(f[0].late, 990ms);
}

TEST(TimerService, BothTimersOfARequestLiveInOnePlaceAndEndWithIt) {
  timer_service s;
  owner o{{1, 2}};
  s.schedule(timeout(t0 + 10ms, 1, 1));
  s.schedule(pause(t0 + 20ms, 1, 1));
  s.schedule(timeout(t0 + 15ms, 2, 1));
  o.end(1); // request 1 ends: both its timers are cancelled
  EXPECT_EQ(s.queued(), 3u) << "cancelled timers wait in the heap";
  auto f = fire(s, t0 + 1s, o);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].token, 2u);
  EXPECT_EQ(s.queued(), 0u) << "and are dropped when they fall due";
}

TEST(TimerService, ARequestEndedAfterOneTimerFiredHearsOfNoOther) {
  timer_service s;
  owner o{{1}};
  s.schedule(timeout(t0 + 10ms, 1, 1));
  s.schedule(pause(t0 + 50ms, 1, 1));
  EXPECT_EQ(fire(s, t0 + 10ms, o).size(), 1u);
  o.end(1);
  EXPECT_TRUE(fire(s, t0 + 60ms, o).empty());
}

TEST(TimerService, LagIsHowLateTheOldestLiveTimerFired) {
  timer_service s;
  owner o{{1, 2}};
  s.schedule(timeout(t0 + 10ms, 1, 1));
  s.schedule(timeout(t0 + 12ms, 2, 1));
  EXPECT_EQ(s.fire_due(t0 + 15ms, [](auto&, auto) { return true; }), 2u);
  EXPECT_EQ(s.lag_ns(), 5'000'000);
  // A pass with nothing due clears it.
  fire(s, t0 + 16ms, o);
  EXPECT_EQ(s.lag_ns(), 0);
}

TEST(TimerService, CancelledTimersAddNoLag) {
  timer_service s;
  owner o{{2}};
  s.schedule(timeout(t0 + 10ms, 1, 1)); // its request has ended
  s.schedule(timeout(t0 + 90ms, 2, 1));
  fire(s, t0 + 91ms, o);
  EXPECT_EQ(s.lag_ns(), 1'000'000) << "only the live timer counts";
  s.schedule(timeout(t0 + 100ms, 3, 1)); // never running
  fire(s, t0 + 200ms, o);
  EXPECT_EQ(s.lag_ns(), 0) << "a pass that drops only dead timers";
}

TEST(TimerService, ClearForgetsEverything) {
  timer_service s;
  owner o{{1}};
  s.schedule(timeout(t0 + 10ms, 1, 1));
  s.clear();
  EXPECT_EQ(s.queued(), 0u);
  EXPECT_TRUE(fire(s, t0 + 1s, o).empty());
}

} // namespace
