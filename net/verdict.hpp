#pragma once
/// What an accepted reply means for a request: the RFC 1996 / RFC 1982
/// decisions, separate from timers and sockets.

#include "net/detail.hpp"
#include "net/dns_message.hpp"

#include <cstdint>
#include <string_view>

namespace minidns::net {

/// What a NOTIFY reply means.
enum class notify_verdict : uint8_t {
  acknowledged, ///< NOERROR: the secondary took the NOTIFY; done
  final_error,  ///< NOTIMP, NOTAUTH, REFUSED, NXDOMAIN, FORMERR: the server
                ///< answered and will answer the same again; no resend
  retry,        ///< SERVFAIL and any other RCODE: worth another attempt
};

/// Classifies the RCODE of an accepted NOTIFY reply.
notify_verdict classify_notify(uint8_t rcode) noexcept;

/// What a SOA reply means for a poll.
enum class poll_verdict : uint8_t {
  reached,  ///< usable answer, serial equal or newer (RFC 1982): SUCCESS
  behind,   ///< usable answer, serial older or undefined: ask again
  unusable, ///< no usable answer: ask again
};

/// The outcome of one SOA reply.
struct poll_outcome {
  poll_verdict verdict = poll_verdict::unusable;
  bool has_serial = false; ///< a usable answer carried a serial
  uint32_t serial = 0;
  /// Why, for the `detail` of the final status: matched, newer, lower
  /// serial, serial undefined, an RCODE, truncated, not authoritative, no
  /// SOA, multiple SOA, malformed answer.
  net::detail detail = net::detail::malformed_answer;
};

/// Classifies an accepted SOA reply against the expected serial. A usable
/// answer is NOERROR, AA set, TC clear, exactly one SOA owned by the zone.
poll_outcome classify_poll(const reply_info& reply, uint32_t expected) noexcept;

/// What a SOA poll waits for (docs/protocol.md).
enum class poll_goal : uint8_t {
  serial,     ///< poll_for_serial_number: the serial, or a newer one
  absent,     ///< `expect: "absent"`: the server no longer serves the zone
  any_serial, ///< get_serial_number: any usable answer
};

/// Classifies an accepted SOA reply for `goal` (`expected` counts for
/// poll_goal::serial only):
/// - serial: classify_poll;
/// - any_serial: a usable answer is reached with detail "serial read";
/// - absent: REFUSED, NOTAUTH, or NXDOMAIN with AA set, is reached with the
///   RCODE as detail; a usable answer is behind ("zone served", with its
///   serial); anything else (SERVFAIL, TC, a non-authoritative NXDOMAIN)
///   is unusable.
poll_outcome classify_for(const reply_info& reply, poll_goal goal,
                          uint32_t expected) noexcept;

/// The `detail` of an attempt that failed with `err`, an errno from the
/// kernel: a send error or an ICMP error read from the socket's error queue
/// ("port unreachable", "host unreachable", "network unreachable", "send
/// not permitted", "address family not supported", "send failed").
detail failure_detail(int err) noexcept;

} // namespace minidns::net
