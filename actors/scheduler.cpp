#include "actors/scheduler.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace minidns {

namespace {

std::atomic<uint64_t> passed{0};
std::atomic<uint64_t> skipped{0};

/// CAF's thread-safe clock, minus the cancellation of actors that never set
/// an ordinary, request or multi timeout (delayed messages are not
/// cancelled by actor anyway).
class lean_clock : public caf::detail::thread_safe_actor_clock {
public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                            caf::atom_value type, uint64_t id) override {
    note(self);
    super::set_ordinary_timeout(t, self, type, id);
  }

  void set_request_timeout(time_point t, caf::abstract_actor* self,
                           caf::message_id id) override {
    note(self);
    super::set_request_timeout(t, self, id);
  }

  void set_multi_timeout(time_point t, caf::abstract_actor* self,
                         caf::atom_value type, uint64_t id) override {
    note(self);
    super::set_multi_timeout(t, self, type, id);
  }

  void cancel_timeouts(caf::abstract_actor* self) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (with_timeouts_.erase(self->id()) == 0) {
        skipped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    passed.fetch_add(1, std::memory_order_relaxed);
    super::cancel_timeouts(self);
  }

private:
  void note(caf::abstract_actor* self) {
    std::lock_guard<std::mutex> guard{mtx_};
    with_timeouts_.insert(self->id());
  }

  std::mutex mtx_;
  /// Actors that set a timeout and have not ended yet.
  std::unordered_set<caf::actor_id> with_timeouts_;
};

/// CAF's coordinator for `Policy`, with the lean clock on a thread of its
/// own. (The base class's clock thread stays idle.)
template <class Policy>
class lean_coordinator : public caf::scheduler::coordinator<Policy> {
public:
  using super = caf::scheduler::coordinator<Policy>;

  explicit lean_coordinator(caf::actor_system& sys) : super(sys) {}

  caf::detail::thread_safe_actor_clock& clock() noexcept override {
    return clock_;
  }

protected:
  void start() override {
    thread_ = std::thread{[this] {
      caf::detail::set_thread_name("minidns-clock");
      clock_.run_dispatch_loop();
    }};
    super::start();
  }

  void stop() override {
    // Workers first: they may still set timeouts while they wind down.
    super::stop();
    clock_.cancel_dispatch_loop();
    thread_.join();
  }

private:
  lean_clock clock_;
  std::thread thread_;
};

} // namespace

lean_clock_counts lean_clock_totals() {
  return {passed.load(std::memory_order_relaxed),
          skipped.load(std::memory_order_relaxed)};
}

bool uses_lean_clock(caf::actor_system& sys) {
  return dynamic_cast<lean_clock*>(&sys.clock()) != nullptr;
}

void use_lean_clock(caf::actor_system_config& cfg) {
  auto policy = caf::get_or(cfg, "scheduler.policy", caf::atom("sharing"));
  if (policy == caf::atom("sharing"))
    cfg.module_factories.push_back(
        [](caf::actor_system& sys) -> caf::actor_system::module* {
          return new lean_coordinator<caf::policy::work_sharing>(sys);
        });
  else if (policy == caf::atom("stealing"))
    cfg.module_factories.push_back(
        [](caf::actor_system& sys) -> caf::actor_system::module* {
          return new lean_coordinator<caf::policy::work_stealing>(sys);
        });
}

} // namespace minidns
