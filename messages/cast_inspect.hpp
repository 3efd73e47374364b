#pragma once
/// CAF inspection for messages::cast, kept apart so that cast.hpp stays free
/// of CAF.

#include "messages/cast.hpp"
#include "messages/dns.hpp"

namespace minidns::messages {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cast& x) {
  return f(x.kind, x.zone_wire, x.serial, x.destination, x.timeout,
           x.retry_interval, x.max_retries, x.reply_prefix, x.request_id);
}

} // namespace minidns::messages
