#pragma once
/// When to hand freed heap memory back to the system. glibc keeps what a
/// burst freed (requests, casts queued in ZeroMQ) in its arenas, so RSS
/// stays at the burst's peak for good; malloc_trim returns it. Pure: the
/// ZeroMQ loop says when it worked and what memory looks like; this says
/// when to look (at most once per interval, and only after work) and
/// whether trimming is worth it: much more is resident than in use, and
/// more than was left after the last trim (memory a trim cannot return,
/// such as code, stacks and fragments, must not make every look trim), and
/// the load has settled: it is no longer draining away. A trim of a large heap
/// takes tens of milliseconds (62 ms for 600 MB) and holds glibc's arena
/// locks, which the UDP thread waits on when it frees a request: in the
/// middle of a wave of timeouts it made the timers late (bench/RESULTS.md,
/// stop 21).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace minidns {

/// Memory as the process sees it.
struct heap_figures {
  uint64_t in_use = 0;   ///< bytes allocated (mallinfo2)
  uint64_t resident = 0; ///< resident bytes of the process (RSS)

  /// Resident but not in use: what a trim might return.
  uint64_t idle() const { return resident > in_use ? resident - in_use : 0; }
};

/// Decides when to look at the heap and when to trim it.
class memory_trim {
public:
  using clock = std::chrono::steady_clock;

  struct options {
    /// Least time between two looks at the heap.
    std::chrono::milliseconds interval{1000};
    /// Least memory worth returning.
    uint64_t min_gain = uint64_t{16} << 20;
    /// The load (requests running or waiting) has settled when it fell by
    /// at most 1/settle_share of its highest since the last look.
    uint64_t settle_share = 8;
  };

  memory_trim() = default;
  explicit memory_trim(options o) : opts_(o) {}

  /// The loop did work at `now` (casts read, replies sent) with `load`
  /// requests in flight or waiting: memory may have been freed, so the heap
  /// is worth a look within the interval.
  void worked(clock::time_point now, uint64_t load = 0) {
    recent_ = std::max(recent_, load);
    if (!pending_ && now - last_look_ >= opts_.interval)
      last_look_ = now; // idle till now: the first look one interval on
    pending_ = true;
  }

  /// Whether to look at the heap now.
  bool due(clock::time_point now) const {
    return pending_ && now >= last_look_ + opts_.interval;
  }

  /// How long the loop may sleep before due() turns true; nullopt when no
  /// work was done since the last look and the load was settled then (an
  /// idle minidns never wakes for it).
  std::optional<std::chrono::milliseconds>
  next_wakeup(clock::time_point now) const {
    if (!pending_)
      return std::nullopt;
    auto at = last_look_ + opts_.interval;
    if (at <= now)
      return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(at - now);
  }

  /// Looked at memory at `now`, with `load` requests running or waiting:
  /// whether to trim. Trims when resident memory not in use exceeds what
  /// the last trim left by min_gain and is no less than what is in use (a
  /// load that soon reuses what it frees is left alone), and the load has
  /// settled (a trim in the middle of a draining wave would stall the
  /// requests still in it). While the load falls, the next look comes one
  /// interval on, work or not: the trim comes once the wave is over.
  bool look(clock::time_point now, heap_figures h, uint64_t load = 0) {
    last_look_ = now;
    auto share = std::max<uint64_t>(opts_.settle_share, 1);
    recent_ = std::max(recent_, load);
    bool settled = load >= recent_ - recent_ / share;
    recent_ = load; // the highest load from now to the next look
    pending_ = !settled;
    floor_ = std::min(floor_, h.idle()); // reused since: a lower floor
    return h.idle() >= floor_ + opts_.min_gain && h.idle() >= h.in_use &&
           settled;
  }

  /// Trimmed: `after` is memory right after it. What stays idle then is
  /// the floor the next trim must beat.
  void trimmed(heap_figures after) { floor_ = after.idle(); }

private:
  options opts_;
  /// Work done, or the load still falling, since the last look.
  bool pending_ = false;
  uint64_t floor_ = 0;  ///< idle memory left by the last trim
  uint64_t recent_ = 0; ///< the highest load since the last look
  clock::time_point last_look_{};
};

} // namespace minidns
