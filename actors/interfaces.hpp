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
    caf::reacts_to<shutdown_atom>>;

/// The UDP I/O actor: owns every DNS socket, matches replies to attempts.
using udp_io_actor = caf::typed_actor<
    // Send one attempt; its replies go to the sender as answer_atom.
    caf::reacts_to<query_atom, dns_query>,
    // The request with this token ended: forget all its attempts.
    caf::reacts_to<release_atom, uint64_t>>;

/// The ZeroMQ bridge actor: owns the ZeroMQ link's thread (which turns
/// casts into request actors and their ends into replies) and its
/// shutdown.
using bridge_actor = caf::typed_actor<
    // SIGTERM or SIGINT: refuse new casts, drain the ones in flight.
    caf::reacts_to<drain_atom>,
    // The drain timeout expired: end every request still running.
    caf::reacts_to<force_atom>,
    // The ZeroMQ thread flushed every reply and closed its socket.
    caf::reacts_to<stopped_atom>>;

} // namespace minidns
