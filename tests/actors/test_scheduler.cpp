// The lean clock (actors/scheduler.hpp) under CAF's real sharing scheduler:
// ending actors that never set a timeout costs the clock thread nothing,
// and every kind of timeout still works. Nothing here sleeps: each wait is
// a blocking receive that a CAF timer or an actor's end wakes, and counts
// are read once the actor system is gone (every actor's end is counted).

#include "actors/scheduler.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

struct lean_config : caf::actor_system_config {
  lean_config() {
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
    minidns::use_lean_clock(*this);
  }
};

TEST(LeanClock, ActorsWithoutTimeoutsAreNotSentToTheClockThread) {
  auto before = minidns::lean_clock_totals();
  {
    lean_config cfg;
    caf::actor_system sys{cfg};
    ASSERT_TRUE(minidns::uses_lean_clock(sys));
    // (Every function-based actor here takes an argument: CAF 0.17.6's init
    // function for none dereferences a null shared_ptr, which UBSan
    // reports.)
    for (int i = 0; i < 1000; ++i)
      sys.spawn([](caf::event_based_actor* self, int) { self->quit(); }, i);
  }
  auto after = minidns::lean_clock_totals();
  // CAF's own utility actors end with the system too.
  EXPECT_GE(after.skipped - before.skipped, 1000u);
  EXPECT_EQ(after.passed, before.passed);
}

TEST(LeanClock, RequestTimeoutsDelayedMessagesAndIdleTimeoutsStillFire) {
  auto before = minidns::lean_clock_totals();
  {
    lean_config cfg;
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    // A request timeout: the silent actor never answers.
    auto silent = sys.spawn(
        [](int) -> caf::behavior {
          return {
              [](int) -> caf::result<int> { return caf::delegated<int>{}; }};
        },
        0);
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
    // An idle timeout (after()): the actor reports it, then ends.
    caf::actor reporter = self;
    auto idle = sys.spawn(
        [](caf::event_based_actor* a, caf::actor reporter) {
          return caf::behavior{[](int) {},
                               caf::after(std::chrono::milliseconds(5)) >>
                                   [=] {
                                     a->send(reporter, tick_atom::value);
                                     a->quit();
                                   }};
        },
        reporter);
    self->monitor(idle);
    int seen = 0;
    self->receive_for(seen, 2)([](tick_atom) {}, [](const caf::down_msg&) {});
    EXPECT_EQ(seen, 2);
    anon_send_exit(silent, caf::exit_reason::user_shutdown);
  }
  // The actors that set a timeout (the scoped actor, by its request, and
  // the idle one) went to CAF's clock; the silent one did not.
  auto after = minidns::lean_clock_totals();
  EXPECT_EQ(after.passed - before.passed, 2u);
  EXPECT_GE(after.skipped - before.skipped, 1u);
}

TEST(LeanClock, TheTestingSchedulerIsLeftAlone) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  minidns::use_lean_clock(cfg);
  caf::actor_system sys{cfg};
  EXPECT_FALSE(minidns::uses_lean_clock(sys));
  EXPECT_NE(dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler()),
            nullptr);
}

} // namespace
