#pragma once
/// The `detail` of a request's end (docs/protocol.md): why a poll ended as it
/// did, or what became of a NOTIFY. One enum, so that the reply, the log
/// line and the metric label (`minidns_requests_total{detail}`) are the
/// same value; the text is only made when it is written out.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace minidns::net {

/// Why a request ended, or why its last attempt failed.
enum class detail : uint8_t {
  matched,          ///< the serial is the expected one
  newer,            ///< the serial is newer (RFC 1982)
  lower_serial,     ///< the serial is older
  serial_undefined, ///< RFC 1982 leaves the comparison undefined
  timeout,          ///< no reply within the attempt's timeout
  port_unreachable, ///< ICMP port unreachable (ECONNREFUSED)
  host_unreachable,
  network_unreachable,
  send_not_permitted, ///< EPERM, EACCES: a firewall
  address_family_not_supported,
  send_failed,   ///< any other send error
  truncated,     ///< TC=1
  truncated_tcp, ///< TC=1 over TCP, after TC=1 over UDP
  tcp_failed,    ///< the TCP connection was reset or closed mid-reply
  not_authoritative,
  no_soa,
  multiple_soa,
  malformed_answer,
  shutdown,      ///< the drain timeout ended the request
  acknowledged,  ///< a NOTIFY answered NOERROR
  rcode_noerror, ///< "rcode NOERROR": the first of 16 RCODE details
  rcode_formerr,
  rcode_servfail,
  rcode_nxdomain,
  rcode_notimp,
  rcode_refused,
  rcode_yxdomain,
  rcode_yxrrset,
  rcode_nxrrset,
  rcode_notauth,
  rcode_notzone,
  rcode_11,
  rcode_12,
  rcode_13,
  rcode_14,
  rcode_15,
  rcode_unknown,    ///< an RCODE past 15
  tsig_badsig,      ///< the server could not verify our signature
  tsig_badkey,      ///< the server does not know the key
  tsig_badtime,     ///< the server's clock and ours differ past the fudge
  tsig_error,       ///< another TSIG error
  pending,          ///< no attempt has ended yet
  serial_read,      ///< get_serial_number: a usable answer carried the serial
  zone_served,      ///< expect absent: the server still serves the zone
  cancelled,        ///< a cancel cast ended the request
  threshold_met,    ///< a pool poll: enough destinations reached the goal
  threshold_missed, ///< a pool poll: too few destinations can reach it
  other,            ///< never set; kept as a metric label
};

/// The text of each detail, in enum order: what replies, logs and metric
/// labels say.
inline constexpr std::string_view detail_names[] = {
    "matched",
    "newer",
    "lower serial",
    "serial undefined",
    "timeout",
    "port unreachable",
    "host unreachable",
    "network unreachable",
    "send not permitted",
    "address family not supported",
    "send failed",
    "truncated",
    "truncated over TCP",
    "TCP connection failed",
    "not authoritative",
    "no SOA",
    "multiple SOA",
    "malformed answer",
    "shutdown",
    "acknowledged",
    "rcode NOERROR",
    "rcode FORMERR",
    "rcode SERVFAIL",
    "rcode NXDOMAIN",
    "rcode NOTIMP",
    "rcode REFUSED",
    "rcode YXDOMAIN",
    "rcode YXRRSET",
    "rcode NXRRSET",
    "rcode NOTAUTH",
    "rcode NOTZONE",
    "rcode RCODE11",
    "rcode RCODE12",
    "rcode RCODE13",
    "rcode RCODE14",
    "rcode RCODE15",
    "rcode UNKNOWN",
    "tsig BADSIG",
    "tsig BADKEY",
    "tsig BADTIME",
    "tsig error",
    "pending",
    "serial read",
    "zone served",
    "cancelled",
    "threshold met",
    "threshold missed",
    "other"};

/// How many details there are.
inline constexpr size_t detail_count = std::size(detail_names);
static_assert(detail_count == static_cast<size_t>(detail::other) + 1);

/// The text of `d`.
constexpr std::string_view to_string(detail d) noexcept {
  return detail_names[static_cast<size_t>(d)];
}

/// "rcode <NAME>" for an RCODE (rcode_unknown past 15).
constexpr detail rcode_detail(uint8_t rcode) noexcept {
  return rcode < 16 ? static_cast<detail>(
                          static_cast<uint8_t>(detail::rcode_noerror) + rcode)
                    : detail::rcode_unknown;
}

/// "tsig BADSIG" and the like for the error field of a TSIG record.
constexpr detail tsig_detail(uint16_t error) noexcept {
  switch (error) {
  case 16:
    return detail::tsig_badsig;
  case 17:
    return detail::tsig_badkey;
  case 18:
    return detail::tsig_badtime;
  default:
    return detail::tsig_error;
  }
}

} // namespace minidns::net
