#pragma once
/// What a request actor talks to on its hot path, as plain thread-safe
/// interfaces rather than actor mailboxes: the UDP engine takes its queries
/// and the ZeroMQ link takes its end. Each call is a lock and a queue push
/// on the other thread, not a mailbox message: measured, the message hops
/// were most of the CPU a poll cost (bench/RESULTS.md). Tests implement
/// them with recording doubles.

#include "messages/dns.hpp"

#include <caf/fwd.hpp>
#include <cstdint>
#include <string>

namespace minidns {

/// The UDP side as a request sees it. Thread-safe; never blocks.
class query_port {
public:
  virtual ~query_port() = default;
  /// Sends one attempt. Replies to it (answer_atom) and its failure
  /// (send_error_atom) go to `owner`, a request_actor.
  virtual void query(caf::strong_actor_ptr owner, dns_query q) = 0;
  /// Forgets every attempt of request `token`: later replies are dropped.
  virtual void release(uint64_t token) = 0;
  /// How late the UDP side is with attempt timers that are due, in
  /// nanoseconds (0 when it keeps up). Whoever starts requests holds new
  /// ones back while it is high: deadlines of accepted requests come
  /// before taking more.
  virtual int64_t timer_lag_ns() const { return 0; }
};

/// Where a request reports its end. Thread-safe; never blocks.
class status_port {
public:
  virtual ~status_port() = default;
  /// Request `token` ended; `frame` is its reply, empty for none.
  virtual void done(uint64_t token, std::string frame) = 0;
};

} // namespace minidns
