#pragma once
/// The pacing of the latency and timeline modes: a timerfd ticking every
/// `tick_ns` from `start_ns` (now_ns()'s clock, CLOCK_MONOTONIC); each tick
/// the mode sends the casts that are due by then.

#include <cstdint>

namespace minidns::bench {

/// A periodic timerfd; poll fd() for input, then take().
class paced_timer {
public:
  /// Also sets this thread's timer slack to about 1 us (50 us by default),
  /// so that ticks come on time.
  paced_timer(int64_t start_ns, int64_t tick_ns);
  ~paced_timer();
  paced_timer(const paced_timer&) = delete;
  paced_timer& operator=(const paced_timer&) = delete;

  /// The descriptor to poll.
  int fd() const { return fd_; }

  /// Reads the ticks that have passed (clears the descriptor's input).
  void take();

  /// No more ticks.
  void stop();

private:
  int fd_ = -1;
};

} // namespace minidns::bench
