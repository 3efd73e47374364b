#pragma once
/// The ZeroMQ bridge actor: owns the ROUTER socket (on a thread of its own,
/// since ZeroMQ sockets are not thread-safe and their loop blocks), turns
/// decoded casts into request actors and routes each reply to the DEALER
/// that sent the cast.

#include "actors/interfaces.hpp"
#include "actors/ports.hpp"
#include "metrics/stats.hpp"
#include "net/keys.hpp"
#include "net/prefix.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace minidns {

/// Settings of the ZeroMQ side.
struct zmq_link_options {
  std::string endpoint = "tcp://127.0.0.1:5358";
  uint64_t max_in_flight = 100000; ///< stop reading casts at this many
  uint64_t hwm = 100000;           ///< ZeroMQ high-water marks
  std::chrono::milliseconds linger{2000};
  net::prefix_list allowed; ///< destinations casts may aim at
  /// The server's CURVE key pair; nullopt: no CURVE (plain connections).
  std::optional<net::key_pair> curve;
  /// With `curve`: public keys (Z85) of the pool managers allowed in.
  std::vector<std::string> curve_clients;
  /// How long replies for a disconnected pool manager wait for it to come
  /// back with the same routing id; zero: dropped at once.
  std::chrono::milliseconds reply_hold{60000};
  /// Most replies held at once; past it the oldest is dropped.
  uint64_t reply_hold_max = 100000;
};

class zmq_link;

/// Binds the ROUTER socket. Throws std::runtime_error naming
/// minidns.endpoint when it cannot. The thread starts with the bridge.
std::shared_ptr<zmq_link> bind_zmq_link(const zmq_link_options& opts);

/// The endpoint actually bound (the port resolved when it was "*").
std::string bound_endpoint(const zmq_link& link);

/// Reads the link's counters.
zmq_link_stats stats(const zmq_link& link);

/// State of the bridge.
struct zmq_bridge_state {
  std::shared_ptr<zmq_link> link;
  caf::timespan drain_timeout{};
  std::function<void()> on_stopped; ///< called once the link has closed
  bool draining = false;
  ~zmq_bridge_state();
  static inline const char* name = "zmq_bridge";
};

/// Starts the link's thread, which turns casts into request actors (with
/// `udp` for their queries), and serves until drained.
bridge_actor::behavior_type
zmq_bridge(bridge_actor::stateful_pointer<zmq_bridge_state> self,
           std::shared_ptr<zmq_link> link, std::shared_ptr<query_port> udp,
           caf::timespan drain_timeout, std::function<void()> on_stopped);

} // namespace minidns
