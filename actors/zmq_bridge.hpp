#pragma once
/// The ZeroMQ bridge actor: owns the ZeroMQ thread (actors/zmq/loop.hpp),
/// which turns casts from pool managers into request actors and their ends
/// into replies, and leads its drain on SIGTERM: refuse new casts, wait up
/// to the drain timeout, then end the requests still running.

#include "actors/interfaces.hpp"
#include "actors/ports.hpp"
#include "actors/zmq/loop.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <functional>
#include <memory>

namespace minidns {

/// State of the bridge.
struct zmq_bridge_state {
  std::shared_ptr<zmq_bridge_loop> loop;
  caf::timespan drain_timeout{};
  std::function<void()> on_stopped; ///< called once the loop has closed
  bool draining = false;
  ~zmq_bridge_state();
  static inline const char* name = "zmq_bridge";
};

/// Starts the loop's thread, which turns casts into request actors (with
/// `udp` for their queries), and serves until drained.
zmq_bridge_actor::behavior_type
zmq_bridge(zmq_bridge_actor::stateful_pointer<zmq_bridge_state> self,
           std::shared_ptr<zmq_bridge_loop> loop,
           std::shared_ptr<query_port> udp, caf::timespan drain_timeout,
           std::function<void()> on_stopped);

} // namespace minidns
