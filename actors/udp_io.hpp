#pragma once
/// The UDP I/O actor: the one place that owns DNS sockets. A dedicated
/// thread multiplexes a pool of IPv4 and IPv6 sockets with epoll and
/// recvmmsg/sendmmsg, so blocking never touches CAF's scheduler; the actor
/// is its typed front door.

#include "actors/interfaces.hpp"
#include "actors/ports.hpp"
#include "metrics/stats.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct mmsghdr;

namespace minidns {

/// Socket settings of the UDP I/O actor.
struct udp_io_options {
  size_t sockets_per_family = 4;     ///< random source ports spread the IDs
  int socket_buffer = 4 << 20;       ///< SO_RCVBUF and SO_SNDBUF, bytes
  std::string source_v4 = "0.0.0.0"; ///< local address for IPv4 queries
  std::string source_v6 = "::";      ///< local address for IPv6 queries
  bool ipv6 = true;                  ///< open IPv6 sockets
  /// When set, the UDP thread runs the request actors that its answers,
  /// timeouts and send failures wake, instead of CAF's workers (one thread
  /// hop less per reply). Null: they go through CAF's scheduler.
  caf::actor_system* system = nullptr;
  /// Stands in for sendmmsg(2) when set: tests make sends fail with it.
  std::function<int(int fd, mmsghdr* msgs, unsigned n)> sendmmsg_hook;
};

class udp_engine;

/// Opens the sockets and starts the UDP thread. Throws std::runtime_error
/// with a message naming the setting when a socket cannot be opened.
std::shared_ptr<udp_engine> start_udp_engine(const udp_io_options& opts);

/// Reads the engine's counters.
udp_io_stats stats(const udp_engine& engine);

/// The engine as request actors use it: queries and releases go straight
/// to the UDP thread's queue.
std::shared_ptr<query_port> as_query_port(std::shared_ptr<udp_engine> engine);

/// State of the UDP I/O actor; stops the UDP thread when the actor ends.
struct udp_io_state {
  std::shared_ptr<udp_engine> engine;
  ~udp_io_state();
  static inline const char* name = "udp_io";
};

/// Owns the engine (stopping its thread when the actor ends) and forwards
/// queries and releases sent as messages to it; the UDP thread answers the
/// querying actor directly. Request actors skip this mailbox and use
/// as_query_port().
udp_io_actor::behavior_type
udp_io(udp_io_actor::stateful_pointer<udp_io_state> self,
       std::shared_ptr<udp_engine> engine);

} // namespace minidns
