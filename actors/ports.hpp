#pragma once
/// What a request actor talks to on its hot path, as plain thread-safe
/// interfaces rather than actor mailboxes: the UDP thread takes its queries
/// and keeps its timers, and the ZeroMQ thread takes its end. Each call is a
/// lock and a queue push on the other thread, not a mailbox message: measured,
/// the message hops were most of the CPU a poll cost (bench/RESULTS.md). Tests
/// implement them with recording doubles.

#include "net/detail.hpp"
#include "net/dns_message.hpp"
#include "net/endpoint.hpp"

#include <caf/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace minidns {

/// One attempt of a request: what the UDP thread needs to send it and to
/// recognise its reply.
struct dns_query {
  uint64_t token = 0;   ///< the request, for release()
  uint32_t attempt = 0; ///< 1-based; echoed with the answer
  net::query_kind kind = net::query_kind::soa;
  net::transport transport = net::transport::udp;
  net::endpoint destination;
  std::string qname_wire; ///< the zone, uncompressed wire format
  std::string soa_hint;   ///< NOTIFY: messages::cast::soa_hint, or empty
  uint16_t tsig = 0;      ///< TSIG key (index + 1 in the keyring); 0: none
  /// When no reply settled the attempt this long after it was handed over
  /// (it leaves at the end of the UDP thread's turn), the UDP
  /// thread sends timeout_atom with the attempt to the querying actor
  /// (unless the request was released). 0: no timer.
  int64_t timeout_ns = 0;
};

/// The UDP side as a request sees it. Thread-safe; never blocks.
class query_port {
public:
  virtual ~query_port() = default;
  /// Sends one attempt. Replies to it (answer_atom) and its failure
  /// (send_error_atom) go to `owner`, a request_actor.
  virtual void query(caf::strong_actor_ptr owner, dns_query q) = 0;
  /// After `delay_ns`, sends `owner` retry_atom with `attempt` (the pause
  /// before the next attempt), unless request `token` was released.
  virtual void pause(caf::strong_actor_ptr owner, uint64_t token,
                     uint32_t attempt, int64_t delay_ns) = 0;
  /// Forgets every attempt and timer of request `token`: later replies are
  /// dropped.
  virtual void release(uint64_t token) = 0;
  /// How late the UDP side is with attempt timers that are due, in
  /// nanoseconds (0 when it keeps up). Whoever starts requests holds new
  /// ones back while it is high: deadlines of accepted requests come
  /// before taking more.
  virtual int64_t timer_lag_ns() const { return 0; }
};

/// How a request ended: what NOTIFY casts merged into it are told, and
/// what a pool poll counts.
struct request_end {
  bool success = false;
  net::detail detail = net::detail::other;
  /// Polls: the last serial seen.
  std::optional<uint32_t> serial;
  /// Why its last attempt failed (pending: none did), for a request ended
  /// from outside (cancel).
  net::detail last = net::detail::pending;
};

/// Where a request reports its end. Thread-safe; never blocks.
class status_port {
public:
  virtual ~status_port() = default;
  /// Request `token` ended as `end` says; `frame` is its reply, empty for
  /// none.
  virtual void done(uint64_t token, std::string frame, request_end end) = 0;
};

} // namespace minidns
