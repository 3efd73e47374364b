#pragma once
/// The field an invalid cast is blamed on: the first word of its error
/// message and the `reason` label of minidns_invalid_casts_total. The
/// decoder sets it where it finds the fault, so nothing parses the message.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace minidns::messages {

/// Where a cast went wrong.
enum class invalid_field : uint8_t {
  frame, ///< not one well-formed msgpack map within the limits
  method,
  context,
  domain,
  domain_name,
  domain_serial,
  destination,
  timeout,
  retry_interval,
  max_retries,
  delay,
  transport,
  want_status,
  domain_soa, ///< domain.soa and its fields
  tsig_key,
  request_id,
  destinations,
  threshold_percentage,
  expect,
  other, ///< an unknown key (duplicated), or an internal error
};

/// The names, in enum order, as the error messages spell the fields.
inline constexpr std::string_view invalid_field_names[] = {
    "frame",       "method",       "context",
    "domain",      "domain.name",  "domain.serial",
    "destination", "timeout",      "retry_interval",
    "max_retries", "delay",        "transport",
    "want_status", "domain.soa",   "tsig_key",
    "request_id",  "destinations", "threshold_percentage",
    "expect",      "other"};

/// How many there are.
inline constexpr size_t invalid_field_count = std::size(invalid_field_names);
static_assert(invalid_field_count ==
              static_cast<size_t>(invalid_field::other) + 1);

/// The name of `f`.
constexpr std::string_view to_string(invalid_field f) noexcept {
  return invalid_field_names[static_cast<size_t>(f)];
}

/// The field a key of the cast map names: `other` for a key minidns does
/// not know.
constexpr invalid_field field_named(std::string_view key) noexcept {
  for (size_t i = 0; i + 1 < invalid_field_count; ++i)
    if (invalid_field_names[i] == key)
      return static_cast<invalid_field>(i);
  return invalid_field::other;
}

} // namespace minidns::messages
