#pragma once
/// CIDR prefixes for the destination allowlist: which servers minidns may
/// send packets to. Pure code, no sockets.

#include "net/endpoint.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minidns::net {

/// An IPv4 or IPv6 prefix such as 192.0.2.0/24 or 2001:db8::/32.
struct ip_prefix {
  bool v6 = false;
  std::array<uint8_t, 16> addr{}; ///< host bits cleared
  uint8_t length = 0;             ///< 0..32 for IPv4, 0..128 for IPv6

  /// Whether `ep`'s address lies in this prefix (ports do not matter).
  bool contains(const endpoint& ep) const noexcept;
};

/// Parses "a.b.c.d/len", "v6/len" or a bare address (a host prefix).
/// Refuses set host bits ("192.0.2.1/24"), since they usually mean a typo.
/// On failure returns nullopt and sets `error`.
std::optional<ip_prefix> parse_prefix(std::string_view text,
                                      std::string& error);

/// The destinations minidns may send to. Empty allows every destination.
class prefix_list {
public:
  prefix_list() = default;
  explicit prefix_list(std::vector<ip_prefix> prefixes)
      : prefixes_(std::move(prefixes)) {}

  /// Whether a packet may go to `ep`.
  bool allows(const endpoint& ep) const noexcept;

  bool empty() const noexcept { return prefixes_.empty(); }

private:
  std::vector<ip_prefix> prefixes_;
};

} // namespace minidns::net
