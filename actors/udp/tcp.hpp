#pragma once
/// DNS over TCP for the UDP thread (RFC 7766): when a reply comes back
/// truncated (TC=1), or a cast asks for TCP, the attempt asks over TCP.
/// Connections are per destination, from the same source address as the
/// UDP queries, reused and pipelined (replies matched by ID, in any
/// order), at most `max_per_destination` of them, closed when idle. The
/// thread polls the sockets with its epoll and hands events here; what a
/// reply means is the caller's.
///
/// Failures: a refused connection fails the queries waiting on it. A
/// connection the server closes or resets with queries outstanding is
/// asked again once on a new connection (RFC 7766 section 6.2.1), then
/// fails them. A query whose attempt timed out or whose request ended is
/// cancelled; a connection that heard nothing since such a query left is
/// taken for dead: it gets no new queries and closes once empty.

#include "net/dns_message.hpp"
#include "net/endpoint.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace minidns {

/// Who waits for a TCP reply: a request's token and attempt.
struct tcp_waiter {
  uint64_t token = 0;
  uint32_t attempt = 0;
  net::query_kind kind = net::query_kind::soa;
};

class tcp_pool {
public:
  using time_point = std::chrono::steady_clock::time_point;

  struct options {
    std::string source_v4 = "0.0.0.0";
    std::string source_v6 = "::";
    uint32_t max_per_destination = 2; ///< connections to one destination
    std::chrono::nanoseconds idle{std::chrono::seconds(5)};
    /// Queries outstanding on one connection; past it on every connection
    /// to a destination, a query fails at once (ENOBUFS) rather than
    /// queue behind a server that does not read.
    uint32_t max_pipelined = 1024;
  };

  /// A message arrived with the ID of `w`'s query. True when it is `w`'s
  /// reply (the query is done); false leaves `w` waiting (a forged or
  /// malformed message must not take a real reply's place).
  using on_reply =
      std::function<bool(const tcp_waiter& w, uint16_t id, std::string_view)>;
  /// The connection `w` waited on failed (errno `err`).
  using on_failure = std::function<void(const tcp_waiter& w, int err)>;
  /// A fresh random 16-bit query ID.
  using id_source = std::function<uint16_t()>;
  /// Writes `w`'s query with ID `id` into `out` (room for `cap` bytes);
  /// returns its length, 0 when it cannot be built (its request ended).
  using query_builder = std::function<size_t(const tcp_waiter& w, uint16_t id,
                                             uint8_t* out, size_t cap)>;

  /// Registers its sockets with `epoll_fd`, tagged within `tag_base`
  /// (a multiple of 2^30; see owns()).
  tcp_pool(options opts, int epoll_fd, uint32_t tag_base, id_source ids,
           query_builder build, on_reply reply, on_failure failure);
  ~tcp_pool();
  tcp_pool(const tcp_pool&) = delete;
  tcp_pool& operator=(const tcp_pool&) = delete;

  /// Sends `w`'s query (made by the query_builder) to `dest`, with a
  /// fresh random ID; it leaves at the next flush(). A
  /// query already waiting for the same token is cancelled. False with
  /// `err` set when no connection can be made, every connection is full,
  /// or the query cannot be built; later failures come through
  /// `on_failure`.
  bool send(const net::endpoint& dest, const tcp_waiter& w, time_point now,
            int& err);

  /// Stops waiting for request `token`'s query, if any: its attempt
  /// `attempt` timed out (`timed_out`; 0 for any attempt) or the request
  /// ended.
  void cancel(uint64_t token, uint32_t attempt, bool timed_out, time_point now);

  /// Writes the queries send() queued (once per turn of the loop: a burst
  /// of queries to one server leaves in few segments).
  void flush();

  /// Whether `tag` is one of the pool's.
  bool owns(uint32_t tag) const;

  /// Handles epoll events `events` on the socket tagged `tag`.
  void handle(uint32_t tag, uint32_t events, time_point now);

  /// When the next idle connection may be closed; nullopt: none open.
  std::optional<time_point> next_due() const;

  /// Closes the connections idle since before `now - idle`.
  void close_idle(time_point now);

  size_t connections() const; ///< open now
  size_t waiting() const;     ///< queries waiting for a reply

private:
  struct state;
  std::unique_ptr<state> st_;
};

} // namespace minidns
