#pragma once
/// RFC 1982 serial number arithmetic for 32-bit SOA serials.

#include <cstdint>

namespace minidns::net {

/// How serial `a` relates to serial `b` under RFC 1982 (SERIAL_BITS = 32).
enum class serial_order {
  equal,
  less,      ///< a precedes b
  greater,   ///< a follows b
  undefined, ///< |a - b| is exactly 2^31: RFC 1982 leaves the order undefined
};

/// Compares two serials by RFC 1982 section 3.2.
constexpr serial_order compare_serial(uint32_t a, uint32_t b) noexcept {
  if (a == b)
    return serial_order::equal;
  const uint32_t diff = a - b; // modular
  if (diff == 0x80000000u)
    return serial_order::undefined;
  return diff < 0x80000000u ? serial_order::greater : serial_order::less;
}

/// True when `actual` is equal to or newer than `expected`. The undefined
/// case counts as "not yet", so a poll keeps waiting rather than claiming
/// success on an ambiguous serial.
constexpr bool serial_reached(uint32_t actual, uint32_t expected) noexcept {
  const auto order = compare_serial(actual, expected);
  return order == serial_order::equal || order == serial_order::greater;
}

} // namespace minidns::net
