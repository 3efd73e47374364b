#pragma once
/// The request actor: one per accepted cast. It owns its destination,
/// timeout and retry budget, and reports its end to a status port.
///
/// Which thread runs it: the ZeroMQ thread starts it (start_request: the
/// actor is created idle and its first query goes straight to the UDP
/// thread, with no trip through CAF's scheduler). After that it runs on the
/// UDP thread whenever the UDP thread wakes it (an answer, a send error, a
/// timer), right after the batch that woke it; only `shutdown` at the end
/// of a drain reaches it through CAF's scheduler. Each saves a thread hop
/// per poll (measured: bench/RESULTS.md).
///
/// Where its timers live: both of them (the attempt's timeout and the
/// pause before a retry) are in the UDP thread's timer service
/// (actors/udp/timer_service.hpp), set through query_port and cancelled
/// with release() when the request ends. CAF's clock is not on a request's
/// path: a timer there cost an allocation and kept ended actors alive.
///
/// What kind of actor: a light_actor (actors/light_actor.hpp), CAF's
/// address, typed handle and scheduling without scheduled_actor's
/// behaviours, streams and four-queue mailbox, which requests never use: a
/// million may wait at once, and that machinery was most of their memory.

#include "actors/interfaces.hpp"
#include "actors/ports.hpp"
#include "messages/cast.hpp"
#include "net/detail.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

namespace minidns {

/// The state of one request. Kept small: a million of them may wait at
/// once.
struct request_state {
  uint64_t token = 0;
  messages::cast cast;
  std::shared_ptr<query_port> udp;
  std::shared_ptr<status_port> sink;
  uint32_t attempt = 0;                ///< the current attempt, 1-based
  bool outstanding = false;            ///< the current attempt awaits its reply
  std::optional<uint32_t> last_serial; ///< polls: the last serial seen
  /// Why the last attempt failed (pending: none has yet).
  net::detail last_detail = net::detail::pending;
  /// Set by whoever started the request when its outcome no longer matters
  /// (its pool poll is decided): no query leaves after that. Null for
  /// most.
  std::shared_ptr<const std::atomic<bool>> stop;
  std::chrono::steady_clock::time_point started; ///< for the duration metric
  static inline const char* name = "request";
};

/// Starts a request from the calling thread: creates its actor (idle until
/// its first message), fills its state and hands attempt 1 to `udp` at once
/// (with a `delay`, a pause of that length before it), so the actor first runs
/// when that attempt is answered, fails or times out (starting a request costs
/// no trip through CAF's scheduler). Attempt k+1 goes out timeout +
/// retry_interval after attempt k when it got no answer, or retry_interval
/// after an answer that did not settle the request. Ends after the last attempt
/// times out or is answered. `stop`: see request_state::stop.
request_actor start_request(caf::actor_system& sys, uint64_t token,
                            messages::cast cast,
                            std::shared_ptr<query_port> udp,
                            std::shared_ptr<status_port> sink,
                            std::shared_ptr<const std::atomic<bool>> stop = {});

} // namespace minidns
