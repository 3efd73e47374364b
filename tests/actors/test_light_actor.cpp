// The light actor (actors/light_actor.hpp) that requests are made of, under
// CAF's test coordinator: nothing runs until the test says so, so each test
// sees exactly when the actor is scheduled, what it handled and how it
// ended. Its ends are observed as any CAF actor's are: monitors, the actor
// system's running count, refused messages.

#include "actors/light_actor.hpp"
#include "actors/udp/inline_unit.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using minidns::light_actor;

/// Records the ints it gets; -1 makes it quit, a string makes it throw.
class recorder final : public light_actor {
public:
  recorder(caf::actor_config& cfg, std::shared_ptr<std::vector<int>> seen)
      : light_actor(cfg), seen_(std::move(seen)) {}

protected:
  void handle(caf::type_erased_tuple& m) override {
    if (m.match_elements<int>()) {
      seen_->push_back(m.get_as<int>(0));
      if (m.get_as<int>(0) == -1)
        quit(caf::make_error(caf::exit_reason::normal));
    } else if (m.match_elements<std::string>()) {
      throw std::runtime_error(m.get_as<std::string>(0));
    }
  }

private:
  std::shared_ptr<std::vector<int>> seen_;
};

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.inline-output", true);
  }
};

class LightActor : public ::testing::Test {
protected:
  LightActor()
      : sys(cfg),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        watcher(sys), seen(std::make_shared<std::vector<int>>()),
        running_before(sys.registry().running()) {}

  ~LightActor() override {
    if (actor)
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Creates and launches a recorder, as start_request does a request;
  /// the watcher monitors it.
  caf::actor make() {
    caf::actor_config conf;
    auto h = caf::make_actor<recorder, caf::actor>(
        sys.next_actor_id(), sys.node(), &sys, conf, seen);
    static_cast<recorder*>(caf::actor_cast<caf::abstract_actor*>(h))->launch();
    watcher->monitor(h);
    return h;
  }

  /// The reason the actor ended with, as its monitor learns it; nullopt
  /// while it runs.
  std::optional<caf::error> down_reason() {
    std::optional<caf::error> reason;
    watcher->receive([&](caf::down_msg& d) { reason = d.reason; },
                     caf::after(std::chrono::seconds(0)) >> [] {});
    return reason;
  }

  test_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor
      watcher; ///< monitors each actor made (and counts as running)
  std::shared_ptr<std::vector<int>> seen;
  size_t running_before;
  caf::actor actor;
};

TEST_F(LightActor, IsIdleUntilItsFirstMessageAndCountsAsRunning) {
  actor = make();
  EXPECT_TRUE(sched.jobs.empty()) << "nothing to run before a message";
  EXPECT_EQ(sys.registry().running(), running_before + 1);
  caf::anon_send(actor, 1);
  EXPECT_EQ(sched.jobs.size(), 1u);
  sched.run();
  EXPECT_EQ(*seen, std::vector<int>{1});
}

TEST_F(LightActor, HandlesMessagesInTheOrderSentAfterOneScheduling) {
  actor = make();
  for (int i = 1; i <= 5; ++i)
    caf::anon_send(actor, i);
  EXPECT_EQ(sched.jobs.size(), 1u) << "scheduled once for all five";
  sched.run();
  EXPECT_EQ(*seen, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST_F(LightActor, YieldsAfterMaxThroughputMessages) {
  actor = make();
  for (int i = 1; i <= 3; ++i)
    caf::anon_send(actor, i);
  ASSERT_TRUE(sched.try_run_once()); // the test coordinator allows one
  EXPECT_EQ(*seen, std::vector<int>{1});
  EXPECT_EQ(sched.jobs.size(), 1u) << "back in the queue for the rest";
  sched.run();
  EXPECT_EQ(*seen, (std::vector<int>{1, 2, 3}));
}

TEST_F(LightActor, AMessageDuringItsTurnIsHandledInTheSameTurnOrTheNext) {
  actor = make();
  caf::anon_send(actor, 1);
  sched.run();
  caf::anon_send(actor, 2);
  EXPECT_EQ(sched.jobs.size(), 1u) << "idle again: scheduled again";
  sched.run();
  EXPECT_EQ(*seen, (std::vector<int>{1, 2}));
}

TEST_F(LightActor, QuitDropsQueuedMessagesAndRefusesLaterOnes) {
  actor = make();
  caf::anon_send(actor, 1);
  caf::anon_send(actor, -1);
  caf::anon_send(actor, 2);
  sched.run();
  EXPECT_EQ(*seen, (std::vector<int>{1, -1}));
  EXPECT_EQ(sys.registry().running(), running_before);
  caf::anon_send(actor, 3);
  EXPECT_TRUE(sched.jobs.empty()) << "an ended actor is not scheduled";
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, caf::exit_reason::normal);
}

TEST_F(LightActor, AnExitWithAnErrorEndsItAndANormalOneDoesNot) {
  actor = make();
  caf::anon_send_exit(actor, caf::exit_reason::normal);
  caf::anon_send(actor, 1);
  sched.run();
  EXPECT_EQ(*seen, std::vector<int>{1});
  EXPECT_FALSE(down_reason());
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  caf::anon_send(actor, 2);
  sched.run();
  EXPECT_EQ(*seen, std::vector<int>{1}) << "nothing after the exit";
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, caf::exit_reason::user_shutdown);
}

TEST_F(LightActor, AThrowingHandlerEndsItAsScheduledActorsDo) {
  actor = make();
  caf::anon_send(actor, std::string{"boom"});
  caf::anon_send(actor, 1);
  sched.run();
  EXPECT_TRUE(seen->empty());
  auto reason = down_reason();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, caf::exit_reason::unhandled_exception);
  EXPECT_EQ(sys.registry().running(), running_before);
}

TEST_F(LightActor, DroppedWithoutAMessageItStillEnds) {
  caf::actor_addr addr;
  {
    auto h = make();
    addr = h.address();
    EXPECT_EQ(sys.registry().running(), running_before + 1);
  }
  EXPECT_EQ(sys.registry().running(), running_before);
  EXPECT_FALSE(caf::actor_cast<caf::actor>(addr)) << "its memory is gone";
}

TEST_F(LightActor, RunsOnTheExecutionUnitItWasWokenWith) {
  actor = make();
  minidns::inline_unit unit{&sys};
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(actor);
  ptr->enqueue(
      caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, 7), &unit);
  ptr->enqueue(
      caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, 8), &unit);
  EXPECT_TRUE(sched.jobs.empty()) << "not handed to CAF's scheduler";
  EXPECT_TRUE(seen->empty());
  unit.run_all();
  EXPECT_EQ(*seen, (std::vector<int>{7, 8}));
}

} // namespace
