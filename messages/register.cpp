#include "messages/register.hpp"

#include "messages/dns.hpp"

#include <caf/actor_system_config.hpp>

namespace minidns {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<net::reply_info>("minidns::net::reply_info");
}

} // namespace minidns
