#pragma once
/// Every typed actor interface of minidns, in one place.

#include "messages/atoms.hpp"
#include "messages/dns.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <cstdint>
#include <string>

namespace minidns {

/// One cast in flight: a NOTIFY or a poll with its own retry budget.
using request_actor = caf::typed_actor<
    // An accepted reply to attempt N (late replies to earlier attempts too).
    caf::reacts_to<answer_atom, uint32_t, net::reply_info>,
    // Attempt N failed (errno): not sent, or ICMP said unreachable.
    caf::reacts_to<send_error_atom, uint32_t, int>,
    // Attempt N's timeout expired.
    caf::reacts_to<timeout_atom, uint32_t>,
    // The pause after attempt N is over: send attempt N + 1.
    caf::reacts_to<retry_atom, uint32_t>,
    // End now with ERROR "shutdown" (the drain timeout expired).
    caf::reacts_to<shutdown_atom>,
    // End now with ERROR "cancelled" (a cancel, or its pool poll decided).
    caf::reacts_to<cancel_atom>>;

/// The UDP I/O actor: owns the UDP thread, which holds every DNS socket
/// and every request's timers (requests reach it through query_port).
using udp_io_actor = caf::typed_actor<
    // The service is done: stop the UDP thread and end.
    caf::reacts_to<stop_atom>>;

/// The ZeroMQ bridge actor: owns the ZeroMQ thread (which turns casts into
/// request actors and their ends into replies) and leads its drain.
using zmq_bridge_actor = caf::typed_actor<
    // SIGTERM or SIGINT: refuse new casts, drain the ones in flight.
    caf::reacts_to<drain_atom>,
    // The drain timeout expired: end every request still running.
    caf::reacts_to<force_atom>,
    // The ZeroMQ thread flushed every reply and closed its socket.
    caf::reacts_to<stopped_atom>>;

} // namespace minidns
