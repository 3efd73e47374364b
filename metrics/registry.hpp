#pragma once
/// The counters and histograms minidns exports to Prometheus that do not
/// belong to one thread's own stats (udp_io_stats, zmq_bridge_stats): casts
/// by method, requests by outcome, queries by kind, replies by RCODE,
/// timeouts, invalid casts by field, request and round-trip durations.
/// Lock-free: request actors on any scheduler thread update them. No CAF,
/// no sockets.

#include "messages/invalid_field.hpp"
#include "net/detail.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace minidns::metrics {

/// A histogram with fixed bucket bounds, in seconds.
class histogram {
public:
  /// Upper bounds of the buckets (the last bucket, +Inf, is implicit).
  static constexpr std::array<double, 16> bounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   10,   60};

  void observe(double seconds) noexcept;

  /// A consistent-enough copy: per-bucket counts (not cumulative), the
  /// +Inf bucket last, and the sum.
  struct snapshot {
    std::array<uint64_t, bounds.size() + 1> buckets{};
    double sum = 0;
  };
  snapshot read() const noexcept;

private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

/// The two methods and the two query kinds, as label values.
enum class method_label : uint8_t { notify = 0, poll = 1 };
constexpr std::array<std::string_view, 2> method_names = {
    "notify_zone_changed", "poll_for_serial_number"};
constexpr std::array<std::string_view, 2> kind_names = {"notify", "soa"};

/// The `detail` label values: net::detail, in enum order.
using net::detail_count;
using net::detail_names;

/// The `reason` label values of invalid casts: messages::invalid_field, in
/// enum order.
inline constexpr auto& invalid_reasons = messages::invalid_field_names;
inline constexpr size_t invalid_reason_count = messages::invalid_field_count;

/// Everything counted outside the UDP and ZeroMQ threads' own stats.
struct registry {
  std::array<std::atomic<uint64_t>, 2> casts{}; ///< by method
  /// Requests ended, by method, status (0 SUCCESS, 1 ERROR) and detail.
  std::array<std::array<std::array<std::atomic<uint64_t>, detail_count>, 2>, 2>
      ended{};
  std::array<std::atomic<uint64_t>, 2> queries{};  ///< sent, by kind
  std::array<std::atomic<uint64_t>, 16> rcodes{};  ///< accepted replies
  std::array<std::atomic<uint64_t>, 2> timeouts{}; ///< attempts, by kind
  std::array<std::atomic<uint64_t>, invalid_reason_count> invalid{};
  std::array<histogram, 2> duration; ///< request duration, by method
  std::array<histogram, 2> rtt;      ///< server round trip, by kind
  /// Attempt timers: time fired minus time due, by kind. The UDP thread's
  /// own lateness, before the request and the reply's way out.
  std::array<histogram, 2> timer_lateness;

  /// Counts a request's end.
  void request_ended(method_label m, bool success, net::detail detail) noexcept;

  /// Counts an invalid cast.
  void cast_refused(messages::invalid_field f) noexcept;
};

/// The process's registry.
registry& global() noexcept;

inline void add(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
  c.fetch_add(n, std::memory_order_relaxed);
}

} // namespace minidns::metrics
