#pragma once
/// Messages between request actors and the UDP I/O actor.

#include "net/dns_message.hpp"
#include "net/endpoint.hpp"

#include <cstdint>
#include <string>

namespace minidns {

/// One attempt of a request: what the UDP I/O actor needs to send it and to
/// recognise its reply. Replies go to the actor that sent the query.
struct dns_query {
  uint64_t token = 0;   ///< the request, for release_atom
  uint32_t attempt = 0; ///< 1-based; echoed with the answer
  net::query_kind kind = net::query_kind::soa;
  net::endpoint destination;
  std::string qname_wire; ///< the zone, uncompressed wire format
  /// When no reply settled the attempt after this long, the UDP side sends
  /// timeout_atom with the attempt to the querying actor (unless the
  /// request was released). 0: no timer.
  int64_t timeout_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dns_query& x) {
  return f(x.token, x.attempt, x.kind, x.destination, x.qname_wire,
           x.timeout_ns);
}

} // namespace minidns

namespace minidns::net {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint& x) {
  return f(x.v6, x.addr, x.port);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply_info& x) {
  return f(x.match, x.rcode, x.aa, x.tc, x.soa, x.serial);
}

} // namespace minidns::net
