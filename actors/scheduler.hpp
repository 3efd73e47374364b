#pragma once
/// CAF's own schedulers, with a clock that leaves alone the actors that
/// never set a timeout.
///
/// Why: CAF 0.17.6 tells its clock thread about every actor that ends
/// (local_actor::cleanup -> cancel_timeouts), whether or not it ever set a
/// timeout: a heap allocation and a push into a 64-entry ring that blocks
/// the ending worker while the clock thread catches up. With one actor per
/// request that was about 12% of minidns's CPU per poll (perf, bench/).
/// Request actors never set CAF timeouts (both their timers live in the
/// UDP thread), so for them the cancellation is pure cost.

#include <cstdint>

namespace caf {
class actor_system;
class actor_system_config;
} // namespace caf

namespace minidns {

/// When `cfg`'s scheduler.policy is 'sharing' or 'stealing', makes its
/// actor system use that CAF scheduler with the lean clock. Other policies
/// (the deterministic 'testing' one) are left as they are. Call before the
/// actor system is constructed.
void use_lean_clock(caf::actor_system_config& cfg);

/// What the lean clock did with the cancellations of ending actors.
struct lean_clock_counts {
  uint64_t passed = 0;  ///< actors that had set a timeout: sent to CAF's clock
  uint64_t skipped = 0; ///< actors that never had: nothing to do
};

/// The counts of every lean clock of the process so far. An actor's end
/// is counted after its monitors hear of it: read these once its actor
/// system is gone to see every end.
lean_clock_counts lean_clock_totals();

/// Whether `sys` uses a lean clock.
bool uses_lean_clock(caf::actor_system& sys);

} // namespace minidns
