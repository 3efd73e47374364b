#pragma once
/// The ZeroMQ thread: owns the ROUTER socket that pool managers connect to
/// (ZeroMQ sockets belong to one thread, and its loop blocks). It turns
/// each valid cast into a request actor, sends each request's reply back
/// to the pool manager that asked, and carries out the drain. The logic it
/// runs on is in pure units beside it: reply_router.hpp (backlogs, held
/// replies), drain.hpp (the drain's phases); connections.hpp watches who
/// connects (CURVE with auth.hpp's decisions, the socket monitor).

#include "actors/interfaces.hpp"
#include "actors/ports.hpp"
#include "actors/zmq/key_files.hpp"
#include "net/prefix.hpp"
#include "net/tsig.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace caf {
class actor_system;
} // namespace caf

namespace minidns::metrics {
struct registry;
} // namespace minidns::metrics

namespace minidns {

/// Settings of the ZeroMQ side.
struct zmq_bridge_options {
  std::string endpoint = "tcp://127.0.0.1:5358";
  /// Requests one pool manager alone may have running; with N pool
  /// managers with work, each may have max_in_flight / N (so the total may
  /// reach up to twice this while an early one drains).
  uint64_t max_in_flight = 100000;
  /// Casts of one pool manager read and waiting to start; past it: busy.
  uint64_t max_queued_per_pool_manager = 10000;
  uint64_t hwm = 100000; ///< ZeroMQ high-water marks
  std::chrono::milliseconds linger{2000};
  net::prefix_list allowed; ///< destinations casts may aim at
  /// Destinations asked over TCP when a cast does not name a transport.
  net::prefix_list tcp_destinations;
  /// The TSIG keys casts may name (tsig_key); null: none.
  std::shared_ptr<const net::tsig_keyring> tsig_keys;
  /// The key (index + 1) for casts to a prefix that name none; the first
  /// matching entry wins.
  std::vector<std::pair<net::ip_prefix, uint16_t>> tsig_defaults;
  /// The server's CURVE key pair; nullopt: no CURVE (plain connections).
  std::optional<curve::key_pair> curve;
  /// With `curve`: public keys (Z85) of the pool managers allowed in.
  std::vector<std::string> curve_clients;
  /// How long replies for a disconnected pool manager wait for it to come
  /// back with the same routing id; zero: dropped at once.
  std::chrono::milliseconds reply_hold{60000};
  /// Most replies held at once; past it the oldest is dropped.
  uint64_t reply_hold_max = 100000;
  /// Where the thread counts; null: the process's (metrics::global()).
  metrics::registry* metrics = nullptr;
};

class zmq_bridge_loop;

/// Binds the ROUTER socket. Throws std::runtime_error naming
/// minidns.endpoint when it cannot. The thread starts with start().
std::shared_ptr<zmq_bridge_loop>
bind_zmq_bridge_loop(const zmq_bridge_options& opts);

/// Starts the thread: it spawns a request actor in `sys` for every cast,
/// with `udp` for its queries, and tells `bridge` once it has stopped.
void start(zmq_bridge_loop& loop, caf::actor_system& sys,
           zmq_bridge_actor bridge, std::shared_ptr<query_port> udp);

/// Refuse new casts; stop once every accepted one has its reply out.
void drain(zmq_bridge_loop& loop);

/// The drain timeout expired: end every request still running.
void force(zmq_bridge_loop& loop);

/// Stops the thread at once (idempotent).
void stop(zmq_bridge_loop& loop);

/// The endpoint actually bound (the port resolved when it was "*").
std::string bound_endpoint(const zmq_bridge_loop& loop);

} // namespace minidns
