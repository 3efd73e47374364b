#pragma once
/// The counters the UDP and ZeroMQ threads keep of their own, as plain
/// structs: read by the daemon's summary line and by the Prometheus
/// renderer, which need no CAF.

#include <atomic>
#include <cstdint>

namespace minidns {

/// Counters of the UDP thread, readable from any thread.
struct udp_io_stats {
  uint64_t sent = 0;           ///< queries handed to the kernel
  uint64_t send_errors = 0;    ///< queries the kernel refused
  uint64_t received = 0;       ///< datagrams read
  uint64_t accepted = 0;       ///< replies matched to an attempt
  uint64_t unmatched = 0;      ///< no attempt with that socket, source, ID
  uint64_t mismatched = 0;     ///< matched ID but failed the reply check
  uint64_t icmp = 0;           ///< ICMP errors that ended an attempt early
  uint64_t icmp_unmatched = 0; ///< ICMP errors about no attempt of ours
  uint64_t send_waits = 0;     ///< times a full socket buffer made sends wait
};

/// The UDP thread's counters as it keeps them: relaxed atomics that any
/// thread may read.
struct udp_io_counters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> send_errors{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> unmatched{0};
  std::atomic<uint64_t> mismatched{0};
  std::atomic<uint64_t> icmp{0};
  std::atomic<uint64_t> icmp_unmatched{0};
  std::atomic<uint64_t> send_waits{0};

  /// Adds `n` to `c`.
  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }

  /// A copy of the counters now.
  udp_io_stats read() const {
    auto get = [](const std::atomic<uint64_t>& c) {
      return c.load(std::memory_order_relaxed);
    };
    return {get(sent),     get(send_errors),    get(received),
            get(accepted), get(unmatched),      get(mismatched),
            get(icmp),     get(icmp_unmatched), get(send_waits)};
  }
};

/// Counters of the ZeroMQ thread, readable from any thread.
struct zmq_bridge_stats {
  uint64_t casts = 0;          ///< valid casts accepted
  uint64_t invalid = 0;        ///< frames answered with an error
  uint64_t replies = 0;        ///< replies handed to ZeroMQ
  uint64_t undeliverable = 0;  ///< replies dropped: pool manager gone
  uint64_t held = 0;           ///< replies waiting for a pool manager now
  uint64_t held_delivered = 0; ///< held replies delivered on reconnection
  uint64_t refused = 0;        ///< connections refused: handshake or CURVE key
  uint64_t connected = 0;      ///< pool manager connections now
  uint64_t in_flight = 0;      ///< requests running plus replies queued
  uint64_t max_in_flight = 0;  ///< the limit (minidns.max-in-flight)
  /// Times casts were left in ZeroMQ because attempt timers ran late.
  uint64_t intake_pauses = 0;
};

} // namespace minidns
