#pragma once
/// The UDP sockets themselves: opening one the way minidns needs it, and
/// reading what an ICMP error in a socket's error queue says.

#include "net/endpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

struct msghdr;

namespace minidns {

/// Opens a non-blocking UDP socket bound to `source` (an IPv4 or IPv6
/// literal) on a random port, with ICMP errors queued (IP_RECVERR) and
/// `buffer` bytes of send and receive buffer. Throws std::runtime_error
/// naming minidns.source-v4/-v6 when the address is bad or cannot be
/// bound; returns -errno when no socket can be made at all.
int open_udp_socket(bool v6, const std::string& source, int buffer);

/// An ICMP (or local) error about a query we sent.
struct icmp_error {
  net::endpoint peer; ///< where the query went
  uint16_t id = 0;    ///< the quoted query's ID
  int err = 0;        ///< what went wrong (errno)
};

/// Reads one message from a socket's error queue (recvmsg with
/// MSG_ERRQUEUE into `mh`, `len` bytes of quoted datagram). nullopt when
/// it is not an error about one of our queries: no error, no address, too
/// short, or the quoted datagram is a response (QR set).
std::optional<icmp_error> parse_icmp_error(msghdr& mh, const uint8_t* data,
                                           size_t len);

} // namespace minidns
