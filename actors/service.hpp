#pragma once
/// Wires the daemon together: the UDP I/O actor and the ZeroMQ bridge.

#include <future>
#include <string>

#include "actors/config.hpp"
#include "actors/interfaces.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace minidns {

/// The running service.
struct service {
  udp_io_actor udp;
  bridge_actor bridge;
  std::string endpoint;       ///< the ZeroMQ endpoint actually bound
  std::future<void> stopped;  ///< ready once drained and flushed
};

/// Opens the sockets and spawns the actors. Throws std::runtime_error with a
/// message naming the setting at fault.
service start_service(caf::actor_system& sys, const settings& s);

/// Sets up spdlog for the daemon (stderr, the given level).
void setup_logging(const std::string& level);

} // namespace minidns
