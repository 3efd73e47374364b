#pragma once
/// Destination addresses: parsing the cast's `destination` string and
/// converting to and from socket addresses. No sockets are opened here.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;
struct sockaddr_storage;

namespace minidns::net {

/// How a query travels: UDP (and TCP after a truncated reply), or TCP
/// from the start.
enum class transport : uint8_t { udp, tcp };

/// An IP literal and UDP port. IPv4 is stored in the first 4 bytes of `addr`.
struct endpoint {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};
  uint16_t port = 0;

  /// "a.b.c.d:port" or "[v6]:port".
  std::string to_string() const;

  /// Fills `out` and returns the length to pass to sendto/bind.
  unsigned to_sockaddr(sockaddr_storage& out) const;

  /// Reads an AF_INET or AF_INET6 address; nullopt for any other family.
  /// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) come back as IPv4.
  static std::optional<endpoint> from_sockaddr(const sockaddr* sa,
                                               unsigned len);

  friend bool operator==(const endpoint& a, const endpoint& b) noexcept {
    return a.v6 == b.v6 && a.port == b.port && a.addr == b.addr;
  }
  friend bool operator!=(const endpoint& a, const endpoint& b) noexcept {
    return !(a == b);
  }
};

/// Parses a cast destination: "a.b.c.d", "a.b.c.d:port", "[v6]:port", "[v6]"
/// or a bare IPv6 address; port 53 when absent. IP literals only (no host
/// names, no zone/scope ids), port 1..65535. IPv4-mapped IPv6 literals are
/// normalised to IPv4. On failure returns nullopt and sets `error` to a
/// reason that a person can act on (without the field name; the caller
/// prefixes "destination: ").
std::optional<endpoint> parse_destination(std::string_view text,
                                          std::string& error);

/// Hash of a destination (address and port).
struct endpoint_hash {
  size_t operator()(const endpoint& e) const noexcept {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, e.addr.data(), 8);
    std::memcpy(&b, e.addr.data() + 8, 8);
    uint64_t h = (a * 0x9E3779B97F4A7C15ull) ^ (b + 0x632BE59BD9B4E019ull) ^
                 (uint64_t{e.port} * 0xC2B2AE3D27D4EB4Full);
    return static_cast<size_t>(h ^ (h >> 31));
  }
};

} // namespace minidns::net
