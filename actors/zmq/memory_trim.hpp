#pragma once
/// When to hand freed heap memory back to the system. glibc keeps what a
/// burst freed (requests, casts queued in ZeroMQ) in its arenas, so RSS
/// stays at the burst's peak for good; malloc_trim returns it. Pure: the
/// ZeroMQ loop says when it worked and what the heap looks like; this says
/// when to look (at most once per interval, and only after work) and
/// whether trimming is worth it (much of the heap is free).

#include <chrono>
#include <cstdint>
#include <optional>

namespace minidns {

/// The heap as malloc reports it (mallinfo2).
struct heap_figures {
  uint64_t in_use = 0; ///< bytes allocated
  uint64_t free = 0;   ///< bytes freed and kept by malloc
};

/// Decides when to look at the heap and when to trim it.
class memory_trim {
public:
  using clock = std::chrono::steady_clock;

  struct options {
    /// Least time between two looks at the heap.
    std::chrono::milliseconds interval{1000};
    /// Least free memory worth returning.
    uint64_t min_free = uint64_t{32} << 20;
  };

  memory_trim() = default;
  explicit memory_trim(options o) : opts_(o) {}

  /// The loop did work at `now` (casts read, replies sent): memory may have
  /// been freed, so the heap is worth a look within the interval.
  void worked(clock::time_point now) {
    if (!pending_ && now - last_look_ >= opts_.interval)
      last_look_ = now; // idle till now: the first look one interval on
    pending_ = true;
  }

  /// Whether to look at the heap now.
  bool due(clock::time_point now) const {
    return pending_ && now >= last_look_ + opts_.interval;
  }

  /// How long the loop may sleep before due() turns true; nullopt when no
  /// work was done since the last look (an idle minidns never wakes for it).
  std::optional<std::chrono::milliseconds>
  next_wakeup(clock::time_point now) const {
    if (!pending_)
      return std::nullopt;
    auto at = last_look_ + opts_.interval;
    if (at <= now)
      return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(at - now);
  }

  /// Looked at the heap at `now`: whether to trim it. Trims when at least
  /// min_free is free and no less than is in use, so a steady load (whose
  /// freed memory is soon used again) is left alone.
  bool look(clock::time_point now, heap_figures h) {
    last_look_ = now;
    pending_ = false;
    return h.free >= opts_.min_free && h.free >= h.in_use;
  }

private:
  options opts_;
  bool pending_ = false; ///< work done since the last look
  clock::time_point last_look_{};
};

} // namespace minidns
