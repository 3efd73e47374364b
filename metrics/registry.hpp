#pragma once
/// Every counter, gauge and histogram minidns keeps: the one source of
/// both /metrics and the exit summary. Casts by method, requests by
/// outcome, queries by kind, replies by RCODE, timeouts, invalid casts by
/// field, durations, and what the UDP and ZeroMQ threads count of their
/// own. Lock-free relaxed atomics: request actors on any scheduler thread
/// update them. No CAF, no sockets.

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

/// What only the UDP thread counts: on cache lines of its own, so that
/// request actors counting elsewhere do not slow its loop.
struct alignas(64) udp_counters {
  std::atomic<uint64_t> send_errors{0};  ///< queries the kernel refused
  std::atomic<uint64_t> send_retries{0}; ///< refused once, tried again
  std::atomic<uint64_t> send_waits{0};   ///< full send buffer: waited
  std::atomic<uint64_t> received{0};     ///< datagrams read
  std::atomic<uint64_t> unmatched{0};    ///< no attempt: socket, source, ID
  std::atomic<uint64_t> mismatched{0};   ///< matched ID, failed the check
  std::atomic<uint64_t> tsig_dropped{0}; ///< signed query, reply not signed so
  std::atomic<uint64_t> icmp_matched{0}; ///< ICMP errors that ended attempts
  std::atomic<uint64_t> icmp_unmatched{0}; ///< ICMP errors about no attempt
  std::atomic<uint64_t> queued{0};      ///< queries that waited: flow control
  std::atomic<uint64_t> waiting{0};     ///< gauge: queries waiting now
  std::atomic<uint64_t> outstanding{0}; ///< gauge: counted outstanding now
  std::atomic<uint64_t> tcp_queries{0}; ///< asked again over TCP (TC=1)
  std::atomic<uint64_t> tcp_connections{0}; ///< gauge: TCP connections open
  std::atomic<uint64_t> shared_attempts{0}; ///< polls riding on a query
  std::atomic<uint64_t> shared_answers{0};  ///< answers handed to riders
};

/// What only the ZeroMQ thread counts or sets.
struct alignas(64) zmq_counters {
  std::atomic<uint64_t> replies{0};        ///< replies handed to ZeroMQ
  std::atomic<uint64_t> undeliverable{0};  ///< pool manager gone: dropped
  std::atomic<uint64_t> held_delivered{0}; ///< held, then delivered
  std::atomic<uint64_t> intake_pauses{0}; ///< casts left in ZeroMQ: late timers
  std::atomic<uint64_t> drain_refused{0}; ///< casts refused while draining
  std::atomic<uint64_t> notify_deferred{0}; ///< NOTIFYs waiting to follow one
  std::atomic<uint64_t> notify_merged{0};   ///< NOTIFYs merged, none sent
  std::atomic<uint64_t> busy{0};            ///< casts answered busy: queue full
  std::atomic<uint64_t> cancels{0};         ///< cancel casts
  std::atomic<uint64_t> cancelled{0};       ///< casts a cancel ended
  std::atomic<uint64_t> memory_trims{0};    ///< free heap handed back
  std::atomic<uint64_t> memory_look_ns{0};  ///< time in looks and trims
  std::array<std::atomic<uint64_t>, 2> pool_polls{}; ///< SUCCESS, ERROR
  std::atomic<uint64_t> queued{0};        ///< gauge: casts read, not started
  std::atomic<uint64_t> refused{0};       ///< connections refused
  std::atomic<int64_t> connected{0};      ///< gauge: connections open
  std::atomic<uint64_t> held{0};          ///< gauge: replies held now
  std::atomic<uint64_t> in_flight{0};     ///< gauge: requests plus replies
  std::atomic<uint64_t> max_in_flight{0}; ///< gauge: minidns.max-in-flight
};

/// Every metric of the process (see global()); tests make their own.
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
  udp_counters udp;
  zmq_counters zmq;

  /// Counts a request's end.
  void request_ended(method_label m, bool success, net::detail detail) noexcept;

  /// Counts an invalid cast.
  void cast_refused(messages::invalid_field f) noexcept;

  /// Sums for the exit summary.
  uint64_t casts_total() const noexcept;
  uint64_t invalid_total() const noexcept; ///< drain refusals included
  uint64_t queries_total() const noexcept;
  uint64_t accepted_total() const noexcept; ///< replies of every RCODE
};

/// The process's registry.
registry& global() noexcept;

inline void add(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
  c.fetch_add(n, std::memory_order_relaxed);
}

} // namespace minidns::metrics
