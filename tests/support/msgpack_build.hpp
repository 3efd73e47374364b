#pragma once
/// Building msgpack by hand for tests, so that casts can be encoded exactly
/// (a str8 where a fixstr would do, float32, duplicate keys) or broken on
/// purpose. Shared by the codec's unit tests and the integration tests.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace minidns::test {

using packer = msgpack::packer<msgpack::sbuffer>;
using kv = std::pair<std::string, std::string>; ///< key, raw value bytes

inline std::string bytes(const msgpack::sbuffer& b) {
  return {b.data(), b.size()};
}

/// msgpack-c's own (shortest) encoding of `v`.
template <class T>
std::string mp(const T& v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return bytes(b);
}

inline std::string mp_int(int64_t v) {
  return mp(v);
}

inline std::string mp_uint(uint64_t v) {
  return mp(v);
}

inline std::string mp_str(std::string_view s) {
  msgpack::sbuffer b;
  packer pk(b);
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
  return bytes(b);
}

/// A str8 even where a fixstr would do: echoes must keep the encoding.
inline std::string mp_str8(std::string_view s) {
  std::string out = "\xd9";
  out += static_cast<char>(s.size());
  out += s;
  return out;
}

inline std::string mp_bin(std::string_view s) {
  msgpack::sbuffer b;
  packer pk(b);
  pk.pack_bin(static_cast<uint32_t>(s.size()));
  pk.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
  return bytes(b);
}

/// float32 on the wire (msgpack-c packs integral floats such as 3.0 as
/// integers, so floats are written by hand).
inline std::string mp_f32(float f) {
  uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof bits);
  std::string out(1, '\xca');
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((bits >> shift) & 0xff);
  return out;
}

/// float64 on the wire, always.
inline std::string mp_f64(double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  std::string out(1, '\xcb');
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((bits >> shift) & 0xff);
  return out;
}

inline const std::string mp_nil = "\xc0";
inline const std::string mp_true = "\xc3";

/// A map from already encoded keys and values.
inline std::string mp_map_raw(const std::vector<kv>& entries) {
  msgpack::sbuffer b;
  packer(b).pack_map(static_cast<uint32_t>(entries.size()));
  std::string out = bytes(b);
  for (const auto& [k, v] : entries)
    out += k + v;
  return out;
}

/// A map with string keys and already encoded values.
inline std::string mp_map(const std::vector<kv>& entries) {
  std::vector<kv> keyed;
  keyed.reserve(entries.size());
  for (const auto& [k, v] : entries)
    keyed.emplace_back(mp_str(k), v);
  return mp_map_raw(keyed);
}

inline std::string mp_array(const std::vector<std::string>& items) {
  msgpack::sbuffer b;
  packer(b).pack_array(static_cast<uint32_t>(items.size()));
  std::string out = bytes(b);
  for (const auto& i : items)
    out += i;
  return out;
}

/// A cast as an ordered list of top-level entries (string keys, raw
/// values), so that a test can change, drop or repeat any field.
struct fields {
  std::vector<kv> entries;

  /// Replaces the value of `key`, or appends it.
  fields& set(const std::string& key, std::string raw) {
    for (auto& [k, v] : entries)
      if (k == key) {
        v = std::move(raw);
        return *this;
      }
    entries.emplace_back(key, std::move(raw));
    return *this;
  }
  /// Removes every entry for `key`.
  fields& drop(const std::string& key) {
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](const kv& e) { return e.first == key; }),
                  entries.end());
    return *this;
  }
  /// Appends `key` even when present (a duplicate).
  fields& add(const std::string& key, std::string raw) {
    entries.emplace_back(key, std::move(raw));
    return *this;
  }
  /// The frame: one msgpack map.
  std::string encode() const { return mp_map(entries); }
};

} // namespace minidns::test
