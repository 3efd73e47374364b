#pragma once
/// Who may connect to the ROUTER, and what the connections do: the CURVE
/// server with its ZAP handler (auth.hpp decides), and the socket monitor
/// that counts connections and refusals and tells when a handshake
/// succeeded (a pool manager may be back for its held replies). Runs on
/// the ZeroMQ thread, beside the loop.

#include "actors/zmq/key_files.hpp"
#include "metrics/registry.hpp"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

namespace minidns {

/// Whether `n` is a power of two: the ZeroMQ thread logs repeated events
/// (drops, refusals, intake pauses) at counts 1, 2, 4, 8, ...
inline bool is_power_of_two(uint64_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

/// Receives one whole multipart message without waiting into `parts`
/// (cleared first; reused so that reading allocates no vector); empty
/// when none.
void receive_all(zmq::socket_t& s, std::vector<zmq::message_t>& parts);

/// The ROUTER's CURVE authentication and its socket monitor.
class connection_watch {
public:
  /// Makes `router` a CURVE server letting in `clients` (Z85 public keys)
  /// when `curve` is set, and starts monitoring it. Throws
  /// std::runtime_error naming the setting at fault.
  connection_watch(zmq::context_t& ctx, zmq::socket_t& router,
                   const std::optional<curve::key_pair>& curve,
                   const std::vector<std::string>& clients,
                   metrics::zmq_counters& counts);

  /// The monitor socket, to poll.
  zmq::socket_t& monitor() { return monitor_; }

  /// The ZAP handler's socket, to poll; null without CURVE.
  zmq::socket_t* zap() { return zap_ ? &*zap_ : nullptr; }

  /// Answers the ZAP requests waiting: 200 for a listed key, 400 else.
  void serve_zap();

  /// Reads the monitor's events; true when a handshake succeeded.
  bool read_monitor();

private:
  bool curve_ = false;
  zmq::socket_t monitor_;
  std::optional<zmq::socket_t> zap_;
  std::unordered_set<std::string> allowed_keys_; ///< binary public keys
  std::vector<zmq::message_t> scratch_;          ///< events, ZAP requests
  /// Counts refused connections (failed handshakes, unlisted keys) and
  /// sets the gauge of open ones.
  metrics::zmq_counters& counts_;
  uint64_t zap_denied_ = 0; ///< for the log's 1, 2, 4, ... rule
};

} // namespace minidns
