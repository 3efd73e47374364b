#pragma once
/// Every CAF atom minidns uses, in one place.

#include <caf/atom.hpp>

namespace minidns {

/// request -> udp_io: send one attempt.
using query_atom = caf::atom_constant<caf::atom("query")>;
/// request -> udp_io: the request ended; forget all its attempts.
using release_atom = caf::atom_constant<caf::atom("release")>;
/// udp_io -> request: an accepted reply to one attempt.
using answer_atom = caf::atom_constant<caf::atom("answer")>;
/// udp_io -> request: one attempt could not be sent.
using send_error_atom = caf::atom_constant<caf::atom("senderr")>;
/// request -> itself: an attempt's timeout expired.
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
/// request -> itself: time to send the next attempt.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// bridge -> request: end now, the service is shutting down.
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
/// ZeroMQ thread -> bridge: a decoded cast.
using cast_atom = caf::atom_constant<caf::atom("cast")>;
/// request -> bridge: the request ended, with its reply frame (or none).
using done_atom = caf::atom_constant<caf::atom("done")>;
/// main -> bridge: SIGTERM or SIGINT; stop taking work and drain.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// bridge -> itself: the drain timeout expired.
using force_atom = caf::atom_constant<caf::atom("force")>;
/// ZeroMQ thread -> bridge: every reply flushed, the socket closed.
using stopped_atom = caf::atom_constant<caf::atom("stopped")>;

} // namespace minidns
