#pragma once
/// Every CAF atom minidns uses, in one place.

#include <caf/atom.hpp>

namespace minidns {

/// UDP thread -> request: an accepted reply to one attempt.
using answer_atom = caf::atom_constant<caf::atom("answer")>;
/// UDP thread -> request: one attempt failed (send error, ICMP).
using send_error_atom = caf::atom_constant<caf::atom("senderr")>;
/// UDP thread -> request: an attempt's timeout expired.
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
/// UDP thread -> request: the pause before the next attempt is over.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// ZeroMQ thread -> request: end now, the service is shutting down.
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// main -> bridge: SIGTERM or SIGINT; stop taking work and drain.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// main -> udp_io: the service is done; stop the UDP thread.
using stop_atom = caf::atom_constant<caf::atom("stop")>;
/// bridge -> itself: the drain timeout expired.
using force_atom = caf::atom_constant<caf::atom("force")>;
/// ZeroMQ thread -> bridge: every reply flushed, the socket closed.
using stopped_atom = caf::atom_constant<caf::atom("stopped")>;

} // namespace minidns
