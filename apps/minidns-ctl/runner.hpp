#pragma once
/// The conversation with minidns: minidns-ctl's ZeroMQ loop.

#include "apps/minidns-ctl/options.hpp"
#include "apps/minidns-ctl/sources.hpp"

namespace minidns::ctl {

/// Sends every cast of `src` to minidns over a ZeroMQ DEALER, prints every
/// reply as one line of JSON on stdout, and returns once every poll has
/// ended (or its client-side deadline passed) and the grace time for error
/// replies is over. A batch (`is_batch`) also gets progress lines and a
/// summary on stderr. Returns the exit code; throws usage_error for an
/// endpoint ZeroMQ cannot connect to.
int run_casts(const options& opt, cast_source& src, bool is_batch);

} // namespace minidns::ctl
