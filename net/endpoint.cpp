#include "net/endpoint.hpp"

#include "net/text.hpp"

#include <arpa/inet.h>
#include <cstddef>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

namespace minidns::net {

namespace {

constexpr uint16_t default_port = 53;
// inet_pton needs a NUL-terminated copy; nothing valid is longer than this
// (INET6_ADDRSTRLEN is 46, including the NUL).
constexpr size_t max_literal = 64;
// "65535" is five digits; longer strings are rejected before converting so
// that the value cannot overflow.
constexpr size_t max_port_digits = 5;

constexpr uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                          0, 0, 0, 0, 0xff, 0xff};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/// Parses a decimal port in 1..65535. Accepts digits only: no sign, no
/// spaces, no empty string.
std::optional<uint16_t> parse_port(std::string_view s, std::string& error) {
  if (s.empty()) {
    error = "missing port after ':'";
    return std::nullopt;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      error = "port is not a decimal number: " + quoted(s);
      return std::nullopt;
    }
  }
  if (s.size() > max_port_digits) {
    error = "port out of range 1..65535: " + quoted(s);
    return std::nullopt;
  }
  uint32_t value = 0;
  for (char c : s)
    value = value * 10 + static_cast<uint32_t>(c - '0');
  if (value == 0 || value > 65535) {
    error = "port out of range 1..65535: " + quoted(s);
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

bool pton(int family, std::string_view s, void* dst) {
  if (s.size() >= max_literal)
    return false;
  char buf[max_literal];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(family, buf, dst) == 1;
}

/// Stores a 16-byte IPv6 address, turning IPv4-mapped ones into IPv4.
void set_v6(endpoint& ep, const uint8_t (&bytes)[16]) {
  if (std::memcmp(bytes, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
    ep.v6 = false;
    ep.addr = {};
    std::memcpy(ep.addr.data(), bytes + 12, 4);
  } else {
    ep.v6 = true;
    std::memcpy(ep.addr.data(), bytes, 16);
  }
}

/// Parses an IPv6 literal (without brackets) into `ep`.
bool parse_v6(std::string_view s, endpoint& ep, std::string& error) {
  if (s.find('%') != std::string_view::npos) {
    error = "scope ids are not supported: " + quoted(s);
    return false;
  }
  uint8_t bytes[16];
  if (!pton(AF_INET6, s, bytes)) {
    error = "not an IPv6 literal: " + quoted(s);
    return false;
  }
  set_v6(ep, bytes);
  return true;
}

/// Parses an IPv4 dotted quad into `ep`.
bool parse_v4(std::string_view s, endpoint& ep, std::string& error) {
  uint8_t bytes[4];
  if (!pton(AF_INET, s, bytes)) {
    error = "not an IP literal: " + quoted(s);
    return false;
  }
  ep.v6 = false;
  ep.addr = {};
  std::memcpy(ep.addr.data(), bytes, 4);
  return true;
}

} // namespace

std::string endpoint::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof buf))
    return "?";
  std::string out;
  if (v6) {
    out += '[';
    out += buf;
    out += ']';
  } else {
    out += buf;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

unsigned endpoint::to_sockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof out);
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, addr.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* sin = reinterpret_cast<sockaddr_in*>(&out);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  std::memcpy(&sin->sin_addr, addr.data(), 4);
  return sizeof(sockaddr_in);
}

std::optional<endpoint> endpoint::from_sockaddr(const sockaddr* sa,
                                                unsigned len) {
  if (sa == nullptr || len < sizeof(sa_family_t))
    return std::nullopt;
  // Copy out rather than cast: `sa` need not be aligned for sockaddr_in6.
  sa_family_t family;
  std::memcpy(&family,
              reinterpret_cast<const char*>(sa) + offsetof(sockaddr, sa_family),
              sizeof family);
  endpoint ep;
  if (family == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    std::memcpy(ep.addr.data(), &sin.sin_addr, 4);
    ep.port = ntohs(sin.sin_port);
    return ep;
  }
  if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    uint8_t bytes[16];
    std::memcpy(bytes, &sin6.sin6_addr, 16);
    set_v6(ep, bytes);
    ep.port = ntohs(sin6.sin6_port);
    return ep;
  }
  return std::nullopt;
}

std::optional<endpoint> parse_destination(std::string_view text,
                                          std::string& error) {
  if (text.empty()) {
    error = "empty destination; expected an IP address, e.g. '192.0.2.1' or "
            "'[2001:db8::1]:53'";
    return std::nullopt;
  }
  for (char c : text) {
    if (is_space(c)) {
      error = "whitespace in destination: " + quoted(text);
      return std::nullopt;
    }
  }
  // inet_pton stops at a NUL, so "1.2.3.4\0junk" would otherwise pass.
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      error =
          "invalid character in destination (byte " + std::to_string(u) + ")";
      return std::nullopt;
    }
  }

  endpoint ep;
  ep.port = default_port;

  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      error = "missing ']' after IPv6 address: " + quoted(text);
      return std::nullopt;
    }
    const std::string_view host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (host.empty()) {
      error = "empty address in brackets: " + quoted(text);
      return std::nullopt;
    }
    uint8_t v4[4];
    if (pton(AF_INET, host, v4)) {
      error = "brackets are only for IPv6 addresses; write " + quoted(host) +
              " without them";
      return std::nullopt;
    }
    if (!parse_v6(host, ep, error))
      return std::nullopt;
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = "expected ':port' after ']', got " + quoted(rest);
        return std::nullopt;
      }
      const auto port = parse_port(rest.substr(1), error);
      if (!port)
        return std::nullopt;
      ep.port = *port;
    }
    return ep;
  }

  if (text.find(']') != std::string_view::npos) {
    error = "unexpected ']' in destination: " + quoted(text);
    return std::nullopt;
  }

  const size_t first_colon = text.find(':');
  if (first_colon == std::string_view::npos) {
    if (!parse_v4(text, ep, error))
      return std::nullopt;
    return ep;
  }

  // Two or more colons: a bare IPv6 address, which never carries a port
  // ("::1:53" is the address ::1:53). Use "[v6]:port" for a port.
  if (text.find(':', first_colon + 1) != std::string_view::npos) {
    if (!parse_v6(text, ep, error))
      return std::nullopt;
    return ep;
  }

  // Exactly one colon: "a.b.c.d:port".
  const std::string_view host = text.substr(0, first_colon);
  if (host.empty()) {
    error = "missing address before ':' in " + quoted(text);
    return std::nullopt;
  }
  if (!parse_v4(host, ep, error))
    return std::nullopt;
  const auto port = parse_port(text.substr(first_colon + 1), error);
  if (!port)
    return std::nullopt;
  ep.port = *port;
  return ep;
}

} // namespace minidns::net
