#pragma once
/// Wires the daemon together: the UDP I/O actor and the ZeroMQ bridge.

#include "actors/interfaces.hpp"
#include "config/settings.hpp"

#include <future>
#include <memory>
#include <string>

namespace caf {
class actor_system;
} // namespace caf

namespace minidns {

class udp_io_loop;
class zmq_bridge_loop;

namespace metrics {
class http_server;
} // namespace metrics

/// The running service.
struct service {
  std::shared_ptr<udp_io_loop> udp_loop;     ///< for its counters
  std::shared_ptr<zmq_bridge_loop> zmq_loop; ///< for its counters
  udp_io_actor udp;
  zmq_bridge_actor bridge;
  std::string endpoint;      ///< the ZeroMQ endpoint actually bound
  std::future<void> stopped; ///< ready once drained and flushed
  /// The /metrics endpoint, when minidns.metrics-endpoint is set.
  std::shared_ptr<metrics::http_server> metrics;
  std::string metrics_url; ///< http://HOST:PORT/metrics, or empty
};

/// Opens the sockets and spawns the actors. Throws std::runtime_error with a
/// message naming the setting at fault.
service start_service(caf::actor_system& sys, const settings& s);

/// One line of counters: casts, invalid frames, replies, queries sent,
/// replies accepted and dropped.
std::string summary(const service& svc);

/// Sets up spdlog for the daemon: stderr, the given level, as text lines or
/// (format "json") one JSON object per line: {"time","level","msg"}.
void setup_logging(const std::string& level, const std::string& format);

} // namespace minidns
