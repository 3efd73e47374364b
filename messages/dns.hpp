#pragma once
/// How the DNS types that travel in request actor messages are inspected
/// (CAF serialisation): the UDP thread tells requests about replies.

#include "net/dns_message.hpp"

namespace minidns::net {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply_info& x) {
  return f(x.match, x.rcode, x.aa, x.tc, x.tcp, x.soa, x.serial, x.tsig_error);
}

} // namespace minidns::net
