#pragma once
/// Registers every message type minidns sends between actors.

namespace caf {
class actor_system_config;
} // namespace caf

namespace minidns {

/// Adds minidns's message types to `cfg`; call once before the actor system
/// starts.
void register_message_types(caf::actor_system_config& cfg);

} // namespace minidns
