#pragma once
/// DNS over TCP for the UDP thread (RFC 7766): when a reply comes back
/// truncated (TC=1), the same attempt asks again over TCP. Connections are
/// per destination, from the same source address as the UDP queries,
/// reused and pipelined (replies matched by ID, in any order), at most
/// `max_per_destination` of them, closed when idle. A reset, a refused
/// connection or a short read fails the attempts waiting on that
/// connection, never the process. The thread polls the sockets with its
/// epoll and hands events here; what a reply means is the caller's.

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
  };

  /// A reply arrived for `w` with `id`: the whole message.
  using on_reply =
      std::function<void(const tcp_waiter& w, uint16_t id, std::string_view)>;
  /// The connection `w` waited on failed (errno `err`).
  using on_failure = std::function<void(const tcp_waiter& w, int err)>;

  /// Registers its sockets with `epoll_fd`, tagged `tag_base + slot`.
  tcp_pool(options opts, int epoll_fd, uint32_t tag_base, on_reply reply,
           on_failure failure);
  ~tcp_pool();
  tcp_pool(const tcp_pool&) = delete;
  tcp_pool& operator=(const tcp_pool&) = delete;

  /// Sends a query of `w.kind` for the zone `qname` (wire format) to
  /// `dest`, with a fresh random ID (`id16` gives 16-bit numbers). False
  /// with `err` set when no connection can be made or the query not built.
  bool send(const net::endpoint& dest, const std::string& qname,
            const tcp_waiter& w, const std::function<uint16_t()>& id16,
            time_point now, int& err);

  /// Whether `tag` is one of the pool's.
  bool owns(uint32_t tag) const;

  /// Handles epoll events `events` on the socket tagged `tag`.
  void handle(uint32_t tag, uint32_t events, time_point now);

  /// When the next idle connection may be closed; nullopt: none open.
  std::optional<time_point> next_due() const;

  /// Closes the connections idle since before `now - idle`.
  void close_idle(time_point now);

  size_t connections() const; ///< open now

private:
  struct state;
  std::unique_ptr<state> st_;
};

} // namespace minidns
