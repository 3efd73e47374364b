#include "net/prefix.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>

namespace minidns::net {

bool ip_prefix::contains(const endpoint& ep) const noexcept {
  if (ep.v6 != v6)
    return false;
  const size_t full = length / 8;
  for (size_t i = 0; i < full; ++i)
    if (ep.addr[i] != addr[i])
      return false;
  const unsigned rest = length % 8;
  if (rest == 0)
    return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (ep.addr[full] & mask) == addr[full];
}

std::optional<ip_prefix> parse_prefix(std::string_view text,
                                      std::string& error) {
  auto slash = text.find('/');
  std::string host(text.substr(0, slash));
  ip_prefix p;
  unsigned char buf[16] = {};
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) {
    p.v6 = false;
  } else if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    p.v6 = true;
  } else {
    error = "not an IP address or prefix: '" + std::string(text) + "'";
    return std::nullopt;
  }
  const unsigned max_len = p.v6 ? 128 : 32;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (digits.empty() || ec != std::errc{} ||
        end != digits.data() + digits.size() || len > max_len) {
      error = "prefix length must be 0.." + std::to_string(max_len) + ": '" +
              std::string(text) + "'";
      return std::nullopt;
    }
  }
  p.length = static_cast<uint8_t>(len);
  std::copy(buf, buf + (p.v6 ? 16 : 4), p.addr.begin());
  // Host bits must be clear: "192.0.2.1/24" is more likely a typo than a
  // way to say 192.0.2.0/24.
  ip_prefix cleared = p;
  for (unsigned bit = len; bit < max_len; ++bit)
    cleared.addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  if (cleared.addr != p.addr) {
    error = "host bits set in '" + std::string(text) + "'";
    return std::nullopt;
  }
  return p;
}

bool prefix_list::allows(const endpoint& ep) const noexcept {
  if (prefixes_.empty())
    return true;
  for (const auto& p : prefixes_)
    if (p.contains(ep))
      return true;
  return false;
}

} // namespace minidns::net
