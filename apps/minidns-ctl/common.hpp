#pragma once
/// What the parts of minidns-ctl share: exit codes, usage errors, what a
/// cast to send looks like, and reading and quoting arguments (from the
/// command line or a batch line).

#include "apps/minidns-ctl/client_codec.hpp"
#include "messages/cast.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace minidns::ctl {

/// Every poll ended SUCCESS and no error reply came.
inline constexpr int exit_ok = 0;
/// An ERROR, an error reply or a client-side timeout.
inline constexpr int exit_failure = 1;
/// A usage error: a bad option, command, argument or batch line.
inline constexpr int exit_usage = 2;
/// minidns could not be reached at all (or refused the CURVE handshake).
inline constexpr int exit_unreachable = 3;

/// A usage error; its message names the argument. Exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The numeric fields of a cast, and its optional ones.
struct cast_params {
  double timeout = 2;        ///< seconds per attempt
  double retry_interval = 1; ///< seconds between attempts
  uint32_t max_retries = 3;  ///< resends after the first attempt
  /// Seconds before the first attempt (`delay`); unset: not sent.
  std::optional<double> delay;
  /// "udp" or "tcp" (`transport`); unset: not sent.
  std::optional<std::string> transport;
  /// Notifies: ask for an update_status at the end (`want_status`).
  bool want_status = false;
  /// The name of a TSIG key minidns knows (`tsig_key`); unset: not sent.
  std::optional<std::string> tsig_key;
  /// Notifies: the zone's SOA for `domain.soa`; unset: not sent.
  std::optional<messages::soa_hint> soa;
  /// Polls: `threshold_percentage` (1..100); unset: not sent.
  std::optional<unsigned> threshold;
  /// Polls: `expect` ("serial" or "absent"); unset: not sent.
  std::optional<std::string> expect;
};

/// One cast to send, as the user wrote it.
struct cast_spec {
  messages::method kind = messages::method::notify_zone_changed; ///< which
  std::string zone;                                              ///< ZONE
  std::optional<uint32_t> serial; ///< SERIAL, polls only
  /// DESTINATION, as written; for polls, DEST1,DEST2,... becomes
  /// `destinations`.
  std::string destination;
  cast_params params; ///< the defaults or the line's own
  /// cancel: the request_id of the cast to end (casts are numbered from 1
  /// in the order minidns-ctl sends them).
  uint64_t cancel_id = 0;
};

/// `threshold=`/--threshold: an integer in 1..100. Throws usage_error
/// naming `name`.
unsigned threshold_arg(std::string_view name, std::string_view value);

/// `expect=`/--expect: "serial" or "absent". Throws usage_error naming
/// `name`.
std::string expect_arg(std::string_view name, std::string_view value);

/// `s` in single quotes for a message: printable ASCII as is, other bytes
/// as \xNN, cut after 64 bytes.
std::string quote_arg(std::string_view s);

/// A decimal integer in 0..max; nullopt otherwise.
std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max);

/// Seconds for a cast (TIMEOUT, --retry-interval, ...): any finite number,
/// since the ranges are minidns's to check. Throws usage_error naming
/// `name`.
double seconds_arg(std::string_view name, std::string_view value);

/// A client-side duration (--grace, --progress): 0..3600 seconds. Throws
/// usage_error naming `name`.
double client_seconds_arg(std::string_view name, std::string_view value);

/// Seconds before a cast's first attempt (--delay, a batch line's delay=):
/// 0..3600, the range minidns accepts. Throws usage_error naming `name`.
double delay_arg(std::string_view name, std::string_view value);

/// A cast's transport (--transport, a batch line's transport=): "udp" or
/// "tcp", as minidns accepts. Throws usage_error naming `name`.
std::string transport_arg(std::string_view name, std::string_view value);

/// An integer in 0..4294967295 (SERIAL, --max-retries). Throws usage_error
/// naming `name`.
uint32_t uint32_arg(std::string_view name, std::string_view value);

/// --soa: "MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM TTL" (the SOA's
/// fields in zone file order, then its TTL). Throws usage_error naming
/// `name`.
messages::soa_hint soa_arg(std::string_view name, std::string_view value);

/// Seconds for people: at most 3 decimals, no trailing zeros.
std::string format_seconds(double s);

} // namespace minidns::ctl
