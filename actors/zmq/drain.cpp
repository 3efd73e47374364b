#include "actors/zmq/drain.hpp"

namespace minidns {

bool drain_machine::begin() {
  if (phase_ != drain_phase::serving)
    return false;
  phase_ = drain_phase::waiting;
  return true;
}

bool drain_machine::force() {
  if (forced_)
    return false;
  forced_ = true;
  return true;
}

drain_action drain_machine::after_turn(clock::time_point now, uint64_t running,
                                       uint64_t queued, uint64_t held) {
  if (phase_ == drain_phase::serving)
    return drain_action::go_on;
  if (phase_ == drain_phase::stopped)
    return drain_action::stop;
  if (running == 0 && queued == 0 && held == 0) {
    phase_ = drain_phase::stopped;
    return drain_action::stop;
  }
  if (running != 0)
    return drain_action::go_on;
  // Only replies that pool managers do not take are left: they get the
  // linger time, then they are dropped.
  if (phase_ == drain_phase::waiting) {
    phase_ = drain_phase::flushing;
    give_up_ = now + linger_;
  }
  if (now < give_up_)
    return drain_action::go_on;
  phase_ = drain_phase::stopped;
  return drain_action::drop_and_stop;
}

std::optional<std::chrono::milliseconds> drain_machine::next_wakeup() const {
  if (phase_ == drain_phase::flushing)
    return std::chrono::milliseconds(5);
  return std::nullopt;
}

} // namespace minidns
