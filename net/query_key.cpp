#include "net/query_key.hpp"

#include <cctype>
#include <functional>

namespace minidns::net {

size_t query_key_hash::operator()(const query_key& k) const noexcept {
  size_t h = std::hash<std::string>{}(k.zone);
  h ^= endpoint_hash{}(k.destination) + 0x9e3779b97f4a7c15ULL + (h << 6) +
       (h >> 2);
  h ^= (size_t{k.tsig} << 1 | static_cast<size_t>(k.how)) +
       0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

query_key make_query_key(const std::string& zone_wire,
                         const endpoint& destination, uint16_t tsig,
                         transport how) {
  query_key k{zone_wire, destination, tsig, how};
  // Label lengths are below 64 and unchanged by tolower (RFC 4343).
  for (auto& c : k.zone)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

} // namespace minidns::net
