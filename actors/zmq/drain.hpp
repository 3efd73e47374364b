#pragma once
/// The drain of the ZeroMQ side, as a small state machine: on SIGTERM
/// minidns refuses new casts, waits for the requests in flight, ends them
/// when the drain timeout says so (force), gives replies that pool managers
/// have not taken yet the linger time (flush), then stops. Pure: the loop
/// tells it what it sees and the time; it says what to do.

#include <chrono>
#include <cstdint>
#include <optional>

namespace minidns {

/// Phases of the drain, in order.
enum class drain_phase {
  serving,  ///< taking casts
  waiting,  ///< refusing casts; requests still running
  flushing, ///< no request left; replies wait for their pool managers
  stopped,  ///< done: close the socket
};

/// What the loop must do after a turn.
enum class drain_action {
  go_on,         ///< keep serving or waiting
  stop,          ///< every reply is out: close the socket
  drop_and_stop, ///< the linger time is over: drop what is left, close
};

/// The drain's state machine.
class drain_machine {
public:
  using clock = std::chrono::steady_clock;

  /// `linger`: how long replies no pool manager takes may wait once no
  /// request runs.
  explicit drain_machine(std::chrono::milliseconds linger) : linger_(linger) {}

  /// SIGTERM or SIGINT: refuse new casts from now on. Returns true the
  /// first time (the caller logs the start).
  bool begin();

  /// Whether casts are refused.
  bool refusing() const { return phase_ != drain_phase::serving; }

  /// The drain timeout expired. True the first time only: the caller then
  /// ends every request still running.
  bool force();

  /// After a turn of the loop, with `running` requests still running,
  /// `queued` replies waiting for full pipes and `held` replies waiting for
  /// pool managers to come back.
  drain_action after_turn(clock::time_point now, uint64_t running,
                          uint64_t queued, uint64_t held);

  /// How long the loop may sleep before after_turn() must look again (the
  /// linger deadline); nullopt: no limit from the drain.
  std::optional<std::chrono::milliseconds> next_wakeup() const;

  /// The current phase.
  drain_phase phase() const { return phase_; }

private:
  std::chrono::milliseconds linger_;
  drain_phase phase_ = drain_phase::serving;
  bool forced_ = false;
  clock::time_point give_up_{}; ///< end of the linger time, once flushing
};

} // namespace minidns
