#pragma once
/// Helpers shared by the tests of the msgpack wire contract
/// (test_cast_*.cpp): building cast frames on top of
/// support/msgpack_build.hpp, and reading replies with msgpack-c directly,
/// not only with decode_reply, so that the encoder and decoder cannot hide
/// each other's mistakes.

#include "apps/minidns-ctl/client_codec.hpp"
#include "messages/cast.hpp"
#include "support/msgpack_build.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace minidns::test {

// ---------------------------------------------------------------------------
// Building frames.

inline fields poll_fields() {
  fields f;
  f.set("method", mp_str("poll_for_serial_number"))
      .set("context", mp_map({{"user", mp_str("alice")}}))
      .set("domain", mp_map({{"name", mp_str("example.com.")},
                             {"serial", mp(2024)},
                             {"id", mp_str("d1")}}))
      .set("destination", mp_str("192.0.2.1:5353"))
      .set("timeout", mp_f64(2.5))
      .set("retry_interval", mp_f64(0.5))
      .set("max_retries", mp(3));
  return f;
}

inline fields notify_fields() {
  fields f = poll_fields();
  f.set("method", mp_str("notify_zone_changed"))
      .set("domain", mp_map({{"name", mp_str("example.com.")}}));
  return f;
}

inline std::string domain_with(std::string name, std::string serial) {
  return mp_map({{"name", std::move(name)}, {"serial", std::move(serial)}});
}

inline messages::decode_result decode(const std::string& frame) {
  return messages::decode_cast(frame.data(), frame.size());
}

inline const std::string example_com_wire("\x07"
                                          "example\x03"
                                          "com\x00",
                                          13);

/// An ext value of `type` holding `data`.
inline std::string raw_ext(int8_t type, std::string_view data) {
  msgpack::sbuffer b;
  packer pk(b);
  pk.pack_ext(data.size(), type);
  pk.pack_ext_body(data.data(), static_cast<uint32_t>(data.size()));
  return bytes(b);
}

// ---------------------------------------------------------------------------
// Reading replies with msgpack-c.

struct map_view {
  msgpack::object_handle handle;
  std::vector<std::string> keys;

  const msgpack::object* find(const std::string& key) const {
    const auto& m = handle.get().via.map;
    for (uint32_t i = 0; i < m.size; ++i)
      if (m.ptr[i].key.as<std::string>() == key)
        return &m.ptr[i].val;
    return nullptr;
  }
  const msgpack::object& at(const std::string& key) const {
    static const msgpack::object missing;
    const auto* o = find(key);
    if (!o) {
      ADD_FAILURE() << "reply has no key " << key;
      return missing;
    }
    return *o;
  }
  std::string str(const std::string& key) const {
    const auto& o = at(key);
    if (o.type != msgpack::type::STR) {
      ADD_FAILURE() << key << " is not a string";
      return {};
    }
    return o.as<std::string>();
  }
};

/// Unpacks exactly one map with string keys; the map's declared count must
/// match the bytes (otherwise the unpack fails or leaves bytes over).
inline map_view unpack_map(const std::string& frame) {
  map_view v;
  size_t off = 0;
  v.handle = msgpack::unpack(frame.data(), frame.size(), off);
  EXPECT_EQ(off, frame.size()) << "bytes after the reply map";
  const auto& o = v.handle.get();
  EXPECT_EQ(o.type, msgpack::type::MAP);
  if (o.type != msgpack::type::MAP)
    return v;
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    EXPECT_EQ(o.via.map.ptr[i].key.type, msgpack::type::STR);
    v.keys.push_back(o.via.map.ptr[i].key.as<std::string>());
  }
  return v;
}

/// The msgpack bytes of one value, re-encoded (for comparing to an echo).
inline std::string repack(const msgpack::object& o) {
  msgpack::sbuffer b;
  msgpack::pack(b, o);
  return bytes(b);
}

using keys = std::vector<std::string>;

inline void expect_error(const std::string& frame,
                         const std::string& expected) {
  SCOPED_TRACE("expected error: " + expected);
  const auto r = decode(frame);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, expected);
  ASSERT_FALSE(r.error_reply.empty());
  const auto m = unpack_map(r.error_reply);
  EXPECT_EQ(m.str("error"), expected);
}

inline void expect_error_prefix(const std::string& frame,
                                const std::string& prefix) {
  SCOPED_TRACE("expected prefix: " + prefix);
  const auto r = decode(frame);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.substr(0, prefix.size()), prefix) << r.error;
  EXPECT_GT(r.error.size(), prefix.size()) << "no reason after the field";
  ASSERT_FALSE(r.error_reply.empty());
  EXPECT_EQ(unpack_map(r.error_reply).str("error"), r.error);
}

} // namespace minidns::test
