// The lean clock (actors/scheduler.hpp) under CAF's real sharing scheduler:
// ending actors that never set a timeout costs the clock thread nothing,
// and every kind of timeout still works. Nothing here sleeps: each wait is
// a blocking receive that a CAF timer or an actor's end wakes.

#include "actors/scheduler.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

struct lean_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  lean_system() {
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", 2);
    minidns::use_lean_clock(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

TEST(LeanClock, ActorsWithoutTimeoutsAreNotSentToTheClockThread) {
  lean_system s;
  auto before = minidns::lean_clock_counts_of(*s.sys);
  ASSERT_TRUE(before.has_value()) << "the sharing scheduler kept CAF's clock";
  for (int i = 0; i < 1000; ++i)
    s.sys->spawn([](caf::event_based_actor* self) { self->quit(); });
  s.sys->await_all_actors_done();
  auto after = *minidns::lean_clock_counts_of(*s.sys);
  EXPECT_GE(after.skipped - before->skipped, 1000u);
  EXPECT_EQ(after.passed, before->passed);
}

TEST(LeanClock, RequestTimeoutsDelayedMessagesAndIdleTimeoutsStillFire) {
  lean_system s;
  caf::scoped_actor self{*s.sys};
  // A request timeout: the silent actor never answers.
  auto silent = s.sys->spawn([]() -> caf::behavior {
    return {[](int) -> caf::result<int> { return caf::delegated<int>{}; }};
  });
  bool timed_out = false;
  self->request(silent, std::chrono::milliseconds(20), 1)
      .receive([](int) { ADD_FAILURE() << "silent actor answered"; },
               [&](const caf::error& e) {
                 timed_out = e == caf::sec::request_timeout;
               });
  EXPECT_TRUE(timed_out);
  // A delayed message.
  self->delayed_send(self, std::chrono::milliseconds(5), tick_atom::value);
  bool ticked = false;
  self->receive([&](tick_atom) { ticked = true; });
  EXPECT_TRUE(ticked);
  // An idle timeout (after()): the actor reports it, then ends, and its end
  // is passed on to CAF's clock, because it had set a timeout.
  auto before = *minidns::lean_clock_counts_of(*s.sys);
  caf::actor reporter = self;
  auto idle = s.sys->spawn([reporter](caf::event_based_actor* a) {
    return caf::behavior{[](int) {},
                         caf::after(std::chrono::milliseconds(5)) >> [=] {
                           a->send(reporter, tick_atom::value);
                           a->quit();
                         }};
  });
  self->monitor(idle);
  int seen = 0;
  self->receive_for(seen, 2)([](tick_atom) {},
                             [](const caf::down_msg&) {});
  EXPECT_EQ(seen, 2);
  auto after = *minidns::lean_clock_counts_of(*s.sys);
  EXPECT_EQ(after.passed - before.passed, 1u);
  anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST(LeanClock, TheTestingSchedulerIsLeftAlone) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  minidns::use_lean_clock(cfg);
  caf::actor_system sys{cfg};
  EXPECT_FALSE(minidns::lean_clock_counts_of(sys).has_value());
  EXPECT_NE(dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler()),
            nullptr);
}

} // namespace
