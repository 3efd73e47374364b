#pragma once
/// What makes two queries the same, for coalescing NOTIFYs
/// (actors/zmq/notify_coalescer.hpp) and sharing SOA queries
/// (actors/udp/shared_queries.hpp): the zone (case folded, RFC 4343), the
/// destination, the TSIG key and the transport.

#include "net/endpoint.hpp"

#include <cstdint>
#include <string>

namespace minidns::net {

/// The identity of a query's stream.
struct query_key {
  std::string zone; ///< uncompressed wire format, lowercase
  endpoint destination;
  uint16_t tsig = 0; ///< key index + 1; 0: unsigned
  transport how = transport::udp;

  bool operator==(const query_key& o) const {
    return zone == o.zone && destination == o.destination && tsig == o.tsig &&
           how == o.how;
  }
};

/// Hash of a query_key.
struct query_key_hash {
  size_t operator()(const query_key& k) const noexcept;
};

/// Makes the key of a query for `zone_wire` (case folded here).
query_key make_query_key(const std::string& zone_wire,
                         const endpoint& destination, uint16_t tsig,
                         transport how);

} // namespace minidns::net
