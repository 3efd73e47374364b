#pragma once
/// The UDP thread: the one place that owns DNS sockets. It multiplexes a
/// pool of IPv4 and IPv6 sockets with epoll and recvmmsg/sendmmsg, so that
/// blocking never touches CAF's scheduler. Requests reach it through
/// query_port (actors/ports.hpp); the logic it runs on is in pure units
/// beside it: attempt_table.hpp (IDs and matching), timer_service.hpp
/// (every per-request timer).

#include "actors/ports.hpp"
#include "net/tsig.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

struct mmsghdr;

namespace caf {
class actor_system;
} // namespace caf

namespace minidns::metrics {
struct registry;
} // namespace minidns::metrics

namespace minidns {

/// Socket settings of the UDP thread.
struct udp_io_options {
  size_t sockets_per_family = 4;     ///< random source ports spread the IDs
  int socket_buffer = 4 << 20;       ///< SO_RCVBUF and SO_SNDBUF, bytes
  std::string source_v4 = "0.0.0.0"; ///< local address for IPv4 queries
  std::string source_v6 = "::";      ///< local address for IPv6 queries
  bool ipv6 = true;                  ///< open IPv6 sockets
  /// Flow control per destination (address and port); 0 turns each off.
  uint32_t max_outstanding_per_destination = 0; ///< queries outstanding
  double notify_rate = 0;                       ///< NOTIFYs per second
  double poll_rate = 0;                         ///< SOA queries per second
  /// Identical SOA queries in flight share one (shared_queries.hpp).
  bool share_queries = true;
  /// DNS over TCP (after TC=1): connections per destination, idle close.
  uint32_t tcp_per_destination = 2;
  std::chrono::nanoseconds tcp_idle{std::chrono::seconds(5)};
  /// The TSIG keys queries are signed with (dns_query::tsig indexes it);
  /// null: none.
  std::shared_ptr<const net::tsig_keyring> tsig_keys;
  /// When set, the UDP thread runs the request actors that its answers,
  /// timers and send failures wake, instead of CAF's workers (one thread
  /// hop less per reply). Null: they go through CAF's scheduler.
  caf::actor_system* system = nullptr;
  /// Where the thread counts; null: the process's (metrics::global()).
  metrics::registry* metrics = nullptr;
  /// Stands in for sendmmsg(2) when set: tests make sends fail with it.
  std::function<int(int fd, mmsghdr* msgs, unsigned n)> sendmmsg_hook;
};

class udp_io_loop;

/// Opens the sockets and starts the UDP thread. Throws std::runtime_error
/// with a message naming the setting when a socket cannot be opened.
std::shared_ptr<udp_io_loop> start_udp_io_loop(const udp_io_options& opts);

/// Stops the UDP thread (idempotent); the sockets close with the loop.
void stop(udp_io_loop& loop);

/// The loop as request actors use it: queries, pauses and releases go
/// straight to the UDP thread's queue.
std::shared_ptr<query_port> as_query_port(std::shared_ptr<udp_io_loop> loop);

} // namespace minidns
