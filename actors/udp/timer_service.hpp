#pragma once
/// Every per-request timer of minidns in one place: attempt timeouts and the
/// pauses before retries. Pure: no threads, no clock of its own (the caller
/// passes the time), so tests drive it with a fake clock. The UDP thread
/// owns one and sleeps until next_due(); a request ends its timers with
/// cancel(). It also keeps how late the timers fire, the figure that holds
/// cast intake back while the UDP thread is behind.

#include "net/dns_message.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

namespace minidns {

/// What a timer is for.
enum class timer_kind : uint8_t {
  attempt_timeout, ///< no reply settled the attempt in time
  retry_pause,     ///< the wait before the next attempt is over
};

/// One timer of one request.
struct request_timer {
  std::chrono::steady_clock::time_point due;
  uint64_t token = 0;   ///< the request
  uint32_t attempt = 0; ///< the attempt it is about
  timer_kind kind = timer_kind::attempt_timeout;
  net::query_kind query = net::query_kind::soa; ///< for the lateness metric
};

/// Timers ordered by due time, cancelled lazily: a cancelled timer stays in
/// the heap (24 bytes) until it falls due and is dropped unseen.
class timer_service {
public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::nanoseconds;

  /// Adds a timer.
  void schedule(const request_timer& t);

  /// Cancels every timer of request `token` (it ended).
  void cancel(uint64_t token);

  /// When the earliest timer in the heap is due (cancelled ones included:
  /// waking early for one costs a turn, never a deadline); nullopt if none.
  std::optional<time_point> next_due() const;

  /// Pops every request_timer due at `now`. Calls `fire(const timer&, duration
  /// late)` for each live one, oldest first. Afterwards lag() is how late
  /// the first live one fired (0 when none was due).
  template <class F>
  size_t fire_due(time_point now, F&& fire) {
    size_t fired = 0;
    int64_t lag = -1;
    while (!heap_.empty() && heap_.top().due <= now) {
      auto t = heap_.top();
      heap_.pop();
      if (!take(t))
        continue;
      auto late = now - t.due;
      if (lag < 0)
        lag = std::chrono::duration_cast<duration>(late).count();
      ++fired;
      fire(t, std::chrono::duration_cast<duration>(late));
    }
    lag_ns_ = lag < 0 ? 0 : lag;
    return fired;
  }

  /// How late (ns) the oldest live timer fired in the last fire_due(); 0
  /// when none was due then.
  int64_t lag_ns() const { return lag_ns_; }

  /// Live timers (scheduled, not yet fired or cancelled).
  size_t live() const { return live_; }

  /// Timers in the heap, cancelled ones included.
  size_t queued() const { return heap_.size(); }

  /// Drops everything.
  void clear();

private:
  /// Whether popped timer `t` is live; forgets it either way.
  bool take(const request_timer& t);

  struct later {
    bool operator()(const request_timer& a, const request_timer& b) const {
      return a.due > b.due;
    }
  };

  std::priority_queue<request_timer, std::vector<request_timer>, later> heap_;
  /// Timers in the heap per request that has any; a request that is not
  /// here has none live.
  std::unordered_map<uint64_t, uint32_t> pending_;
  size_t live_ = 0;
  int64_t lag_ns_ = 0;
};

} // namespace minidns
