// Tests of the msgpack wire contract (messages/cast.hpp and
// apps/minidns-ctl/client_codec.hpp, docs/protocol.md).
// Replies are checked with msgpack-c directly, not only with decode_reply,
// so the encoder and decoder cannot hide each other's mistakes.

#include "apps/minidns-ctl/client_codec.hpp"
#include "messages/cast.hpp"
#include "support/msgpack_build.hpp"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <limits>
#include <msgpack.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// Counts heap bytes requested while a test asks for it, to check that
// hostile frames are refused cheaply. msgpack-c's zone calls malloc
// directly, so counting operator new would miss it; interposing malloc in
// the test binary catches both. Sanitizers interpose malloc themselves.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define CAST_NO_MALLOC_COUNT 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CAST_NO_MALLOC_COUNT 1
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_counted_bytes{0};
} // namespace

#ifndef CAST_NO_MALLOC_COUNT
// glibc exports its allocator under this name too; forward to it.
extern "C" void* __libc_malloc(size_t size) noexcept; // NOLINT

extern "C" void* malloc(size_t size) noexcept {
  if (g_counting.load(std::memory_order_relaxed))
    g_counted_bytes.fetch_add(size, std::memory_order_relaxed);
  return __libc_malloc(size);
}
#endif

namespace {

using namespace minidns::messages;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Building frames.

using namespace minidns::test;

fields poll_fields() {
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

fields notify_fields() {
  fields f = poll_fields();
  f.set("method", mp_str("notify_zone_changed"))
      .set("domain", mp_map({{"name", mp_str("example.com.")}}));
  return f;
}

std::string domain_with(std::string name, std::string serial) {
  return mp_map({{"name", std::move(name)}, {"serial", std::move(serial)}});
}

decode_result decode(const std::string& frame) {
  return decode_cast(frame.data(), frame.size());
}

const std::string example_com_wire("\x07"
                                   "example\x03"
                                   "com\x00",
                                   13);

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
map_view unpack_map(const std::string& frame) {
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
std::string repack(const msgpack::object& o) {
  msgpack::sbuffer b;
  msgpack::pack(b, o);
  return bytes(b);
}

using keys = std::vector<std::string>;

void expect_error(const std::string& frame, const std::string& expected) {
  SCOPED_TRACE("expected error: " + expected);
  const auto r = decode(frame);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, expected);
  ASSERT_FALSE(r.error_reply.empty());
  const auto m = unpack_map(r.error_reply);
  EXPECT_EQ(m.str("error"), expected);
}

void expect_error_prefix(const std::string& frame, const std::string& prefix) {
  SCOPED_TRACE("expected prefix: " + prefix);
  const auto r = decode(frame);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.substr(0, prefix.size()), prefix) << r.error;
  EXPECT_GT(r.error.size(), prefix.size()) << "no reason after the field";
  ASSERT_FALSE(r.error_reply.empty());
  EXPECT_EQ(unpack_map(r.error_reply).str("error"), r.error);
}

// ---------------------------------------------------------------------------
// Valid casts.

TEST(Cast, DecodesValidNotify) {
  const auto frame = encode_cast(method::notify_zone_changed, "example.com.",
                                 std::nullopt, "192.0.2.1", 2.5, 0.5, 3);
  const auto r = decode(frame);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.error.empty());
  EXPECT_TRUE(r.error_reply.empty());
  const cast& c = *r.ok;
  EXPECT_EQ(c.kind, method::notify_zone_changed);
  EXPECT_EQ(c.zone_wire, example_com_wire);
  EXPECT_FALSE(c.destination.v6);
  EXPECT_EQ(c.destination.addr[0], 192);
  EXPECT_EQ(c.destination.addr[1], 0);
  EXPECT_EQ(c.destination.addr[2], 2);
  EXPECT_EQ(c.destination.addr[3], 1);
  EXPECT_EQ(c.destination.port, 53);
  EXPECT_EQ(c.timeout, 2500000us);
  EXPECT_EQ(c.retry_interval, 500000us);
  EXPECT_EQ(c.max_retries, 3u);
  EXPECT_TRUE(c.reply_prefix.empty()) << "notifies get no update_status";
  EXPECT_TRUE(c.request_id.empty());
}

TEST(Cast, DecodesValidPollWithRequestIdAndIPv6) {
  const std::string request_id = mp_map({{"seq", mp(17)}});
  const auto frame = encode_cast(method::poll_for_serial_number, "Example.COM",
                                 4294967295u, "[2001:db8::1]:5353", 10, 0, 0,
                                 mp_map({{"k", mp_str("v")}}), request_id);
  const auto r = decode(frame);
  ASSERT_TRUE(r.ok) << r.error;
  const cast& c = *r.ok;
  EXPECT_EQ(c.kind, method::poll_for_serial_number);
  EXPECT_EQ(c.zone_wire, std::string("\x07"
                                     "Example\x03"
                                     "COM\x00",
                                     13));
  EXPECT_EQ(c.serial, 4294967295u);
  EXPECT_TRUE(c.destination.v6);
  const std::array<uint8_t, 16> want{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                     0,    0,    0,    0,    0, 0, 0, 1};
  EXPECT_EQ(c.destination.addr, want);
  EXPECT_EQ(c.destination.port, 5353);
  EXPECT_EQ(c.timeout, 10s);
  EXPECT_EQ(c.retry_interval, 0us);
  EXPECT_EQ(c.max_retries, 0u);
  EXPECT_EQ(c.request_id, request_id);
  ASSERT_FALSE(c.reply_prefix.empty());
  EXPECT_EQ(static_cast<uint8_t>(c.reply_prefix[0]), 0x88) << "fixmap of 8";
}

TEST(Cast, DecodesBareAndBracketedIPv6WithDefaultPort) {
  for (const char* dest : {"2001:db8::53", "[2001:db8::53]"}) {
    SCOPED_TRACE(dest);
    const auto r =
        decode(poll_fields().set("destination", mp_str(dest)).encode());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.ok->destination.v6);
    EXPECT_EQ(r.ok->destination.addr[15], 0x53);
    EXPECT_EQ(r.ok->destination.port, 53);
  }
}

TEST(Cast, AcceptsIntegerAndFloat32Seconds) {
  const auto r = decode(poll_fields()
                            .set("timeout", mp(5))
                            .set("retry_interval", mp_f32(0.25f))
                            .encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->timeout, 5s);
  EXPECT_EQ(r.ok->retry_interval, 250ms);
}

TEST(Cast, RoundsSecondsToNearestMicrosecond) {
  struct sample {
    double seconds;
    std::chrono::microseconds want;
  };
  for (const auto& s :
       {sample{2.4e-6, 2us}, sample{2.6e-6, 3us}, sample{1.0000004, 1000000us},
        sample{1.0000006, 1000001us}}) {
    SCOPED_TRACE(s.seconds);
    const auto r = decode(poll_fields()
                              .set("timeout", mp_f64(s.seconds))
                              .set("retry_interval", mp_f64(s.seconds))
                              .encode());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.ok->timeout, s.want);
    EXPECT_EQ(r.ok->retry_interval, s.want);
  }
  // A positive timeout never becomes 0; a tiny retry interval does.
  const auto r = decode(poll_fields()
                            .set("timeout", mp_f64(1e-9))
                            .set("retry_interval", mp_f64(1e-9))
                            .encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->timeout, 1us);
  EXPECT_EQ(r.ok->retry_interval, 0us);
}

TEST(Cast, AcceptsBoundaryValues) {
  auto low = decode(poll_fields()
                        .set("domain", domain_with(mp_str("."), mp(0)))
                        .set("timeout", mp_f64(1e-6))
                        .set("retry_interval", mp(0))
                        .set("max_retries", mp(0))
                        .encode());
  ASSERT_TRUE(low.ok) << low.error;
  EXPECT_EQ(low.ok->zone_wire, std::string(1, '\0'));
  EXPECT_EQ(low.ok->serial, 0u);
  EXPECT_EQ(low.ok->max_retries, 0u);

  auto high = decode(poll_fields()
                         .set("domain", domain_with(mp_str("example.com"),
                                                    mp(uint64_t{4294967295u})))
                         .set("timeout", mp(3600))
                         .set("retry_interval", mp_f64(3600.0))
                         .set("max_retries", mp(10000))
                         .encode());
  ASSERT_TRUE(high.ok) << high.error;
  EXPECT_EQ(high.ok->serial, 4294967295u);
  EXPECT_EQ(high.ok->timeout, 3600s);
  EXPECT_EQ(high.ok->retry_interval, 3600s);
  EXPECT_EQ(high.ok->max_retries, 10000u);
}

TEST(Cast, NilContextCountsAsPresent) {
  const auto r = decode(poll_fields().set("context", mp_nil).encode());
  ASSERT_TRUE(r.ok) << r.error;
  const auto reply = unpack_map(
      finish_status(r.ok->reply_prefix, status::success, 1, "matched"));
  EXPECT_EQ(reply.at("context").type, msgpack::type::NIL);
}

TEST(Cast, IgnoresUnknownTopLevelKeys) {
  const auto r = decode(poll_fields()
                            .set("future_field", mp_map({{"x", mp(1)}}))
                            .set("priority", mp_str("high"))
                            .encode());
  ASSERT_TRUE(r.ok) << r.error;
  const auto reply = unpack_map(
      finish_status(r.ok->reply_prefix, status::success, 1, "matched"));
  EXPECT_EQ(reply.find("future_field"), nullptr) << "unknown keys not echoed";
}

TEST(Cast, NotifyIgnoresSerial) {
  auto missing = decode(notify_fields().encode());
  EXPECT_TRUE(missing.ok) << missing.error;
  auto bad = decode(notify_fields()
                        .set("domain", domain_with(mp_str("example.com"),
                                                   mp_str("not a number")))
                        .encode());
  EXPECT_TRUE(bad.ok) << bad.error;
  auto negative =
      decode(notify_fields()
                 .set("domain", domain_with(mp_str("example.com"), mp(-1)))
                 .encode());
  EXPECT_TRUE(negative.ok) << negative.error;
}

TEST(Cast, KeepsRawRequestIdForNotifies) {
  const std::string id = mp_array({mp(1), mp_str("two")});
  const auto r = decode(notify_fields().set("request_id", id).encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->request_id, id);
  const auto nil_id =
      decode(notify_fields().set("request_id", mp_nil).encode());
  ASSERT_TRUE(nil_id.ok);
  EXPECT_EQ(nil_id.ok->request_id, mp_nil) << "a nil request_id is still given";
}

// ---------------------------------------------------------------------------
// Invalid casts: the exact reasons.

TEST(Cast, RejectsFramesThatAreNotCastMaps) {
  expect_error("", "frame is empty");
  expect_error(mp_array({mp(1)}), "frame is not a msgpack map");
  expect_error(mp(7), "frame is not a msgpack map");
  expect_error(mp_str("method"), "frame is not a msgpack map");
  expect_error(mp_nil, "frame is not a msgpack map");
  expect_error(std::string(1, '\xc1'), "frame is not a msgpack map");
  expect_error(poll_fields().encode() + mp_nil,
               "trailing bytes after the cast map");
  expect_error(poll_fields().encode() + poll_fields().encode(),
               "trailing bytes after the cast map");
  expect_error("\x81", "frame: truncated msgpack");
  expect_error("\x81\xc1", "frame: invalid msgpack byte 0xc1");
  expect_error(poll_fields().set("context", std::string(1, '\xc1')).encode(),
               "context: invalid msgpack byte 0xc1");
  const std::string whole = poll_fields().encode();
  expect_error(whole.substr(0, whole.size() - 1),
               "max_retries: truncated msgpack");
}

TEST(Cast, RejectsBadKeys) {
  std::vector<kv> entries;
  for (const auto& [k, v] : poll_fields().entries)
    entries.emplace_back(mp_str(k), v);
  entries.insert(entries.begin() + 2, {mp(1), mp_str("int key")});
  expect_error(mp_map_raw(entries), "frame: key 3 is not a string");

  // A bin key that spells a field name is still not a string.
  msgpack::sbuffer b;
  packer pk(b);
  pk.pack_bin(6);
  pk.pack_bin_body("method", 6);
  entries = {{bytes(b), mp_str("poll_for_serial_number")}};
  expect_error(mp_map_raw(entries), "frame: key 1 is not a string");

  expect_error(
      mp_map_raw({{mp_str("timeout"), mp(1)}, {mp_str("timeout"), mp(2)}}),
      "timeout: duplicate key");
  auto twice = poll_fields().entries;
  twice.emplace_back("method", mp_str("notify_zone_changed"));
  expect_error(mp_map(twice), "method: duplicate key");
  twice = poll_fields().entries;
  twice.emplace_back("whatever", mp_nil);
  twice.emplace_back("whatever", mp_nil);
  expect_error(mp_map(twice), "whatever: duplicate key");
}

TEST(Cast, RejectsBadMethod) {
  expect_error(poll_fields().drop("method").encode(), "method: missing");
  expect_error(poll_fields().set("method", mp(1)).encode(),
               "method: must be a string");
  expect_error(poll_fields().set("method", mp_nil).encode(),
               "method: must be a string");
  expect_error(poll_fields().set("method", mp_str("foo")).encode(),
               "method: unknown 'foo'");
  expect_error(
      poll_fields().set("method", mp_str("Poll_for_serial_number")).encode(),
      "method: unknown 'Poll_for_serial_number'");
  // Untrusted bytes are quoted printable.
  expect_error(poll_fields()
                   .set("method", mp_str(std::string("a\x01'\xff", 4)))
                   .encode(),
               "method: unknown 'a\\x01\\'\\xff'");
  expect_error(
      poll_fields().set("method", mp_str(std::string(100, 'x'))).encode(),
      "method: unknown '" + std::string(64, 'x') + "...'");
}

TEST(Cast, RejectsBadContextAndDomain) {
  expect_error(poll_fields().drop("context").encode(), "context: missing");
  expect_error(poll_fields().drop("domain").encode(), "domain: missing");
  expect_error(poll_fields().set("domain", mp_str("example.com")).encode(),
               "domain: must be a map");
  expect_error(poll_fields().set("domain", mp_array({})).encode(),
               "domain: must be a map");
  expect_error(
      poll_fields().set("domain", mp_map({{"serial", mp(1)}})).encode(),
      "domain.name: missing");
  expect_error(poll_fields().set("domain", domain_with(mp(5), mp(1))).encode(),
               "domain.name: must be a string");
  expect_error(poll_fields()
                   .set("domain", mp_map({{"name", mp_str("a.")},
                                          {"name", mp_str("b.")},
                                          {"serial", mp(1)}}))
                   .encode(),
               "domain.name: duplicate key");
  expect_error_prefix(
      poll_fields()
          .set("domain",
               domain_with(mp_str(std::string(64, 'a') + ".com"), mp(1)))
          .encode(),
      "domain.name: label longer than 63 octets");
  expect_error_prefix(
      poll_fields().set("domain", domain_with(mp_str("a..b"), mp(1))).encode(),
      "domain.name: ");
  expect_error_prefix(
      poll_fields().set("domain", domain_with(mp_str(""), mp(1))).encode(),
      "domain.name: ");
  std::string long_name;
  for (int i = 0; i < 5; ++i)
    long_name += std::string(60, 'a') + ".";
  expect_error_prefix(poll_fields()
                          .set("domain", domain_with(mp_str(long_name), mp(1)))
                          .encode(),
                      "domain.name: ");
}

TEST(Cast, RejectsBadSerial) {
  auto with_serial = [](std::string serial) {
    return poll_fields()
        .set("domain", domain_with(mp_str("example.com"), std::move(serial)))
        .encode();
  };
  expect_error(poll_fields()
                   .set("domain", mp_map({{"name", mp_str("example.com")}}))
                   .encode(),
               "domain.serial: missing");
  expect_error(with_serial(mp_str("5")), "domain.serial: must be an integer");
  expect_error(with_serial(mp_f64(5.0)), "domain.serial: must be an integer");
  expect_error(with_serial(mp(true)), "domain.serial: must be an integer");
  expect_error(with_serial(mp_nil), "domain.serial: must be an integer");
  expect_error(with_serial(mp(-1)),
               "domain.serial: out of range 0..4294967295");
  expect_error(with_serial(mp(uint64_t{4294967296})),
               "domain.serial: out of range 0..4294967295");
  expect_error(with_serial(mp(std::numeric_limits<uint64_t>::max())),
               "domain.serial: out of range 0..4294967295");
  expect_error(with_serial(mp(std::numeric_limits<int64_t>::min())),
               "domain.serial: out of range 0..4294967295");
}

TEST(Cast, RejectsBadDestination) {
  auto with_dest = [](std::string d) {
    return poll_fields().set("destination", std::move(d)).encode();
  };
  expect_error(poll_fields().drop("destination").encode(),
               "destination: missing");
  expect_error(with_dest(mp(53)), "destination: must be a string");
  expect_error(with_dest(mp_array({mp_str("192.0.2.1")})),
               "destination: must be a string");
  expect_error_prefix(with_dest(mp_str("192.0.2.1:0")),
                      "destination: port out of range 1..65535");
  expect_error_prefix(with_dest(mp_str("192.0.2.1:65536")),
                      "destination: port out of range 1..65535");
  expect_error_prefix(with_dest(mp_str("[2001:db8::1]:99999")),
                      "destination: port out of range 1..65535");
  expect_error_prefix(with_dest(mp_str("ns1.example.com")), "destination: ");
  expect_error_prefix(with_dest(mp_str("")), "destination: ");
  expect_error_prefix(with_dest(mp_str("256.0.0.1")), "destination: ");
  expect_error_prefix(with_dest(mp_str("192.0.2.1:53:53")), "destination: ");
  expect_error_prefix(with_dest(mp_str(std::string("192.0.2.1\0x", 11))),
                      "destination: ");
}

TEST(Cast, RejectsBadTimeout) {
  auto with_timeout = [](std::string t) {
    return poll_fields().set("timeout", std::move(t)).encode();
  };
  expect_error(poll_fields().drop("timeout").encode(), "timeout: missing");
  expect_error(with_timeout(mp_str("5")),
               "timeout: must be a number of seconds");
  expect_error(with_timeout(mp(true)), "timeout: must be a number of seconds");
  expect_error(with_timeout(mp_nil), "timeout: must be a number of seconds");
  expect_error(with_timeout(mp(0)), "timeout: must be > 0 seconds");
  expect_error(with_timeout(mp_f64(0.0)), "timeout: must be > 0 seconds");
  expect_error(with_timeout(mp_f64(-0.0)), "timeout: must be > 0 seconds");
  expect_error(with_timeout(mp(-1)), "timeout: must be > 0 seconds");
  expect_error(with_timeout(mp_f64(-0.5)), "timeout: must be > 0 seconds");
  expect_error(with_timeout(mp_f64(std::nan(""))),
               "timeout: must be a finite number of seconds");
  expect_error(with_timeout(mp_f64(INFINITY)),
               "timeout: must be a finite number of seconds");
  expect_error(with_timeout(mp_f32(-INFINITY)),
               "timeout: must be a finite number of seconds");
  expect_error(with_timeout(mp_f64(3600.5)),
               "timeout: must be at most 3600 seconds");
  expect_error(with_timeout(mp(3601)), "timeout: must be at most 3600 seconds");
  expect_error(with_timeout(mp(std::numeric_limits<uint64_t>::max())),
               "timeout: must be at most 3600 seconds");
  // encode_cast does not validate, so it can build these too.
  expect_error(encode_cast(method::notify_zone_changed, "a.", std::nullopt,
                           "192.0.2.1", std::nan(""), 1, 1),
               "timeout: must be a finite number of seconds");
}

TEST(Cast, RejectsBadRetryInterval) {
  auto with_retry = [](std::string t) {
    return poll_fields().set("retry_interval", std::move(t)).encode();
  };
  expect_error(poll_fields().drop("retry_interval").encode(),
               "retry_interval: missing");
  expect_error(with_retry(mp_str("1")),
               "retry_interval: must be a number of seconds");
  expect_error(with_retry(mp(false)),
               "retry_interval: must be a number of seconds");
  expect_error(with_retry(mp(-1)), "retry_interval: must be >= 0 seconds");
  expect_error(with_retry(mp_f64(-1e-9)),
               "retry_interval: must be >= 0 seconds");
  expect_error(with_retry(mp_f64(std::nan(""))),
               "retry_interval: must be a finite number of seconds");
  expect_error(with_retry(mp_f64(3600.000001)),
               "retry_interval: must be at most 3600 seconds");
}

TEST(Cast, RejectsBadMaxRetries) {
  auto with_retries = [](std::string t) {
    return poll_fields().set("max_retries", std::move(t)).encode();
  };
  expect_error(poll_fields().drop("max_retries").encode(),
               "max_retries: missing");
  expect_error(with_retries(mp_f64(3.0)), "max_retries: must be an integer");
  expect_error(with_retries(mp_f32(3.0f)), "max_retries: must be an integer");
  expect_error(with_retries(mp_str("3")), "max_retries: must be an integer");
  expect_error(with_retries(mp(true)), "max_retries: must be an integer");
  expect_error(with_retries(mp(-1)), "max_retries: out of range 0..10000");
  expect_error(with_retries(mp(10001)), "max_retries: out of range 0..10000");
  expect_error(with_retries(mp(std::numeric_limits<uint64_t>::max())),
               "max_retries: out of range 0..10000");
}

TEST(Cast, ReportsTheFirstBadFieldInContractOrder) {
  auto bad_all = poll_fields()
                     .set("method", mp_str("foo"))
                     .drop("context")
                     .set("domain", mp_str("x"))
                     .set("destination", mp(1))
                     .set("timeout", mp(0))
                     .set("retry_interval", mp(-1))
                     .set("max_retries", mp(-1));
  expect_error(bad_all.encode(), "method: unknown 'foo'");
  bad_all.set("method", mp_str("poll_for_serial_number"));
  expect_error(bad_all.encode(), "context: missing");
  bad_all.set("context", mp_nil);
  expect_error(bad_all.encode(), "domain: must be a map");
  bad_all.set("domain", domain_with(mp_str("a..b"), mp(-1)));
  expect_error_prefix(bad_all.encode(), "domain.name: ");
  bad_all.set("domain", domain_with(mp_str("ok."), mp(-1)));
  expect_error(bad_all.encode(), "domain.serial: out of range 0..4294967295");
  bad_all.set("domain", domain_with(mp_str("ok."), mp(1)));
  expect_error(bad_all.encode(), "destination: must be a string");
  bad_all.set("destination", mp_str("192.0.2.1"));
  expect_error(bad_all.encode(), "timeout: must be > 0 seconds");
  bad_all.set("timeout", mp(1));
  expect_error(bad_all.encode(), "retry_interval: must be >= 0 seconds");
  bad_all.set("retry_interval", mp(1));
  expect_error(bad_all.encode(), "max_retries: out of range 0..10000");
  bad_all.set("max_retries", mp(1));
  EXPECT_TRUE(decode(bad_all.encode()).ok);

  // Frame-level problems come before any field; structure before keys.
  auto dup = poll_fields().drop("method").entries;
  dup.emplace_back("timeout", mp(1));
  expect_error(mp_map(dup), "timeout: duplicate key");
  expect_error(mp_map(dup) + mp_nil, "trailing bytes after the cast map");
  // Field order, not position in the frame, decides.
  fields reversed;
  auto entries = poll_fields()
                     .set("timeout", mp(0))
                     .set("destination", mp_str("nowhere"))
                     .entries;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    reversed.set(it->first, it->second);
  expect_error_prefix(reversed.encode(), "destination: ");
}

// ---------------------------------------------------------------------------
// Error replies.

TEST(Cast, PollErrorReplyIsUpdateStatusWithEchoes) {
  const std::string context = mp_map({{"user", mp_str("alice")}});
  const std::string domain = domain_with(mp_str("example.com"), mp(9));
  const std::string request_id = mp_str("req-1");
  const auto r = decode(poll_fields()
                            .set("context", context)
                            .set("domain", domain)
                            .set("destination", mp_str("192.0.2.1:70000"))
                            .set("request_id", request_id)
                            .encode());
  ASSERT_FALSE(r.ok);
  const auto m = unpack_map(r.error_reply);
  EXPECT_EQ(m.keys,
            (keys{"method", "context", "domain", "destination", "request_id",
                  "status", "actual_serial", "detail", "error"}));
  EXPECT_EQ(m.str("method"), "update_status");
  EXPECT_EQ(repack(m.at("context")), context);
  EXPECT_EQ(repack(m.at("domain")), domain);
  EXPECT_EQ(m.str("destination"), "192.0.2.1:70000") << "as received";
  EXPECT_EQ(m.str("request_id"), "req-1");
  EXPECT_EQ(m.str("status"), "ERROR");
  EXPECT_EQ(m.at("actual_serial").type, msgpack::type::NIL);
  EXPECT_EQ(m.str("detail"), "invalid cast");
  EXPECT_EQ(m.str("error"), r.error);
  EXPECT_EQ(r.error.rfind("destination: port out of range 1..65535", 0), 0u);
}

TEST(Cast, PollErrorReplyEchoesMissingDestinationAsNil) {
  const auto r = decode(poll_fields().drop("destination").encode());
  ASSERT_FALSE(r.ok);
  const auto m = unpack_map(r.error_reply);
  EXPECT_EQ(m.keys, (keys{"method", "context", "domain", "destination",
                          "status", "actual_serial", "detail", "error"}));
  EXPECT_EQ(m.at("destination").type, msgpack::type::NIL);
  EXPECT_EQ(m.str("error"), "destination: missing");

  // A destination of the wrong type is still echoed as received.
  const auto t = decode(poll_fields().set("destination", mp(42)).encode());
  ASSERT_FALSE(t.ok);
  EXPECT_EQ(unpack_map(t.error_reply).at("destination").as<int>(), 42);
}

TEST(Cast, PollErrorReplyForEveryLaterField) {
  // Anything after context and domain were read gives update_status.
  for (const auto& f :
       {poll_fields().set("domain", domain_with(mp_str("a..b"), mp(1))),
        poll_fields().set("domain", mp_map({{"name", mp(1)}})),
        poll_fields().set("timeout", mp_str("x")),
        poll_fields().set("max_retries", mp(-5)),
        poll_fields().set("retry_interval", mp_nil)}) {
    const auto r = decode(f.encode());
    ASSERT_FALSE(r.ok);
    const auto m = unpack_map(r.error_reply);
    EXPECT_EQ(m.str("method"), "update_status") << r.error;
    EXPECT_EQ(m.keys.size(), 8u) << "7 update_status keys + error";
    EXPECT_EQ(m.str("error"), r.error);
  }
}

TEST(Cast, UnreadableContextOrDomainGivesMethodError) {
  for (auto f : {poll_fields().drop("context"), poll_fields().drop("domain"),
                 poll_fields().set("domain", mp_str("example.com")),
                 poll_fields().set("method", mp_str("poll")),
                 notify_fields().set("timeout", mp(0))}) {
    f.set("request_id", mp(99));
    const auto r = decode(f.encode());
    ASSERT_FALSE(r.ok);
    const auto m = unpack_map(r.error_reply);
    EXPECT_EQ(m.keys, (keys{"method", "error", "request_id"})) << r.error;
    EXPECT_EQ(m.str("method"), "error");
    EXPECT_EQ(m.str("error"), r.error);
    EXPECT_EQ(m.at("request_id").as<int>(), 99);
  }
  // A duplicated context is not readable either.
  auto twice = poll_fields().entries;
  twice.emplace_back("context", mp_nil);
  const auto r = decode(mp_map(twice));
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(unpack_map(r.error_reply).str("method"), "error");
}

TEST(Cast, GarbageGetsMethodErrorWithoutRequestId) {
  for (const std::string& frame :
       {std::string(), std::string("\x93\x01\x02\x03"), std::string("hello"),
        std::string(1, '\xc1')}) {
    const auto r = decode(frame);
    ASSERT_FALSE(r.ok);
    const auto m = unpack_map(r.error_reply);
    EXPECT_EQ(m.keys, (keys{"method", "error"}));
    EXPECT_EQ(m.str("method"), "error");
    EXPECT_EQ(m.str("error"), r.error);
  }
  const std::string big(max_frame_size + 1, '\x80');
  const auto r = decode(big);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error, "frame too large (65537 bytes, limit 65536)");
  EXPECT_EQ(unpack_map(r.error_reply).keys, (keys{"method", "error"}));
}

TEST(Cast, EchoesRequestIdWheneverReadable) {
  const std::string id = mp_map({{"n", mp(7)}});
  auto expect_id = [&](const std::string& frame, bool echoed) {
    const auto r = decode(frame);
    ASSERT_FALSE(r.ok);
    const auto m = unpack_map(r.error_reply);
    if (echoed) {
      ASSERT_NE(m.find("request_id"), nullptr) << r.error;
      EXPECT_EQ(repack(m.at("request_id")), id);
    } else {
      EXPECT_EQ(m.find("request_id"), nullptr) << r.error;
    }
  };
  fields first; // request_id first, so it is read before anything breaks
  first.set("request_id", id);
  for (const auto& [k, v] : notify_fields().entries)
    first.set(k, v);
  expect_id(first.set("method", mp_str("bogus")).encode(), true);
  expect_id(first.encode() + mp_nil, true); // trailing bytes
  const std::string whole = first.encode();
  expect_id(whole.substr(0, whole.size() - 3), true); // truncated later
  auto dup_timeout = first.entries;
  dup_timeout.emplace_back("timeout", mp(1));
  expect_id(mp_map(dup_timeout), true);
  // Ambiguous or never reached: not echoed.
  auto dup_id = first.entries;
  dup_id.emplace_back("request_id", id);
  expect_id(mp_map(dup_id), false);
  const std::string late = notify_fields().set("request_id", id).encode();
  expect_id(late.substr(0, late.size() - id.size() - 1), false);
  expect_id(std::string(max_frame_size + 1, '\0'), false);
}

// ---------------------------------------------------------------------------
// Echo round trips and reply encoding.

std::string raw_ext(int8_t type, std::string_view data) {
  msgpack::sbuffer b;
  packer pk(b);
  pk.pack_ext(data.size(), type);
  pk.pack_ext_body(data.data(), static_cast<uint32_t>(data.size()));
  return bytes(b);
}

std::string raw_bin(std::string_view data) {
  msgpack::sbuffer b;
  packer pk(b);
  pk.pack_bin(static_cast<uint32_t>(data.size()));
  pk.pack_bin_body(data.data(), static_cast<uint32_t>(data.size()));
  return bytes(b);
}

TEST(Cast, EchoesWeirdValuesByteForByte) {
  const std::string context = mp_array(
      {mp(0), mp(-1), mp(std::numeric_limits<int64_t>::min()),
       mp(std::numeric_limits<uint64_t>::max()), mp_str("str \xe2\x82\xac"),
       raw_bin(std::string("\0\1\2", 3)),
       mp_map_raw(
           {{mp(1), mp_str("one")},
            {mp_nil, mp_array({mp(true), mp(false)})},
            {mp_str("nested"), mp_map({{"deep", mp_array({mp_f64(1.5)})}})}}),
       mp_nil, mp_f32(0.1f), mp_f64(-1e300), mp_f64(std::nan("")),
       raw_ext(-1, std::string("\x5f\x00\x00\x00", 4)),
       raw_ext(7, std::string(20, 'e')),
       std::string("\xd9\x03"
                   "abc"),             // str8 where fixstr would do
       std::string("\xcd\x00\x05", 3), // uint16 holding 5
       std::string("\xd3\xff\xff\xff\xff\xff\xff\xff\xff", 9)}); // int64 -1
  const std::string domain =
      mp_map_raw({{mp_str("pool"), mp_map({{"x", mp_nil}})},
                  {mp_str("name"), mp_str("example.com.")},
                  {mp(5), raw_bin("five")},
                  {mp_str("serial"), mp(7)},
                  {mp_str("id"), mp_str("6a1b")}});
  const std::string request_id = mp_map({{"a", mp_array({mp(1)})}});
  const std::string destination = mp_str("[2001:db8::1]:53");
  const auto r = decode(poll_fields()
                            .set("context", context)
                            .set("domain", domain)
                            .set("destination", destination)
                            .set("request_id", request_id)
                            .encode());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->serial, 7u);
  const std::string frame =
      finish_status(r.ok->reply_prefix, status::success, 7, "matched");

  std::string err;
  const auto rep = decode_reply(frame.data(), frame.size(), err);
  ASSERT_TRUE(rep) << err;
  EXPECT_EQ(rep->raw_context, context);
  EXPECT_EQ(rep->raw_domain, domain);
  EXPECT_EQ(rep->raw_destination, destination);
  EXPECT_EQ(rep->raw_request_id, request_id);

  // Independently of decode_reply: the values survive as msgpack values.
  const auto m = unpack_map(frame);
  size_t off = 0;
  const auto original = msgpack::unpack(context.data(), context.size(), off);
  const auto& echoed = m.at("context");
  ASSERT_EQ(echoed.type, msgpack::type::ARRAY);
  ASSERT_EQ(echoed.via.array.size, original.get().via.array.size);
  for (uint32_t i = 0; i < echoed.via.array.size; ++i) {
    if (i == 10)
      continue; // NaN != NaN
    EXPECT_EQ(echoed.via.array.ptr[i], original.get().via.array.ptr[i])
        << "element " << i;
  }
  EXPECT_TRUE(std::isnan(echoed.via.array.ptr[10].via.f64));
  EXPECT_EQ(echoed.via.array.ptr[8].type, msgpack::type::FLOAT32);
  EXPECT_EQ(echoed.via.array.ptr[11].type, msgpack::type::EXT);
  EXPECT_EQ(echoed.via.array.ptr[11].via.ext.type(), -1);
  EXPECT_EQ(echoed.via.array.ptr[12].via.ext.size, 20u);
}

TEST(Cast, FinishStatusCountMatchesKeys) {
  struct variant {
    bool with_id;
    status st;
    std::optional<uint32_t> serial;
  };
  for (const auto& v :
       {variant{false, status::success, 0u}, variant{true, status::error, {}},
        variant{false, status::error, 4294967295u},
        variant{true, status::success, 123u}}) {
    auto f = poll_fields();
    if (v.with_id)
      f.set("request_id", mp(5));
    const auto r = decode(f.encode());
    ASSERT_TRUE(r.ok) << r.error;
    const std::string detail = "lower serial";
    const auto frame =
        finish_status(r.ok->reply_prefix, v.st, v.serial, detail);
    const auto m = unpack_map(frame); // fails if the count is off
    keys want{"method", "context", "domain", "destination"};
    if (v.with_id)
      want.push_back("request_id");
    want.insert(want.end(), {"status", "actual_serial", "detail"});
    EXPECT_EQ(m.keys, want);
    EXPECT_EQ(m.str("method"), "update_status");
    EXPECT_EQ(m.str("status"), v.st == status::success ? "SUCCESS" : "ERROR");
    if (v.serial) {
      ASSERT_EQ(m.at("actual_serial").type, msgpack::type::POSITIVE_INTEGER);
      EXPECT_EQ(m.at("actual_serial").via.u64, *v.serial);
    } else {
      EXPECT_EQ(m.at("actual_serial").type, msgpack::type::NIL);
    }
    EXPECT_EQ(m.str("detail"), detail);
    EXPECT_EQ(m.str("destination"), "192.0.2.1:5353");
  }
}

TEST(Cast, EncodeErrorShape) {
  auto m = unpack_map(encode_error("draining"));
  EXPECT_EQ(m.keys, (keys{"method", "error"}));
  EXPECT_EQ(m.str("method"), "error");
  EXPECT_EQ(m.str("error"), "draining");
  const std::string id = mp_array({mp(1), mp_nil});
  m = unpack_map(encode_error("frame too large", id));
  EXPECT_EQ(m.keys, (keys{"method", "error", "request_id"}));
  EXPECT_EQ(repack(m.at("request_id")), id);
}

TEST(Cast, DecodeReplyReadsRepliesAndRefusesOthers) {
  std::string err;
  const std::string id = mp_str("r");
  auto e = encode_error("shutting down", id);
  auto rep = decode_reply(e.data(), e.size(), err);
  ASSERT_TRUE(rep) << err;
  EXPECT_EQ(rep->method, "error");
  EXPECT_EQ(rep->error, "shutting down");
  EXPECT_EQ(rep->raw_request_id, id);
  EXPECT_TRUE(rep->status.empty());
  EXPECT_FALSE(rep->actual_serial);

  const auto r = decode(poll_fields().encode());
  ASSERT_TRUE(r.ok);
  const auto done =
      finish_status(r.ok->reply_prefix, status::success, 2024, "matched");
  rep = decode_reply(done.data(), done.size(), err);
  ASSERT_TRUE(rep) << err;
  EXPECT_EQ(rep->method, "update_status");
  EXPECT_EQ(rep->status, "SUCCESS");
  EXPECT_EQ(rep->actual_serial, 2024u);
  EXPECT_EQ(rep->detail, "matched");
  EXPECT_TRUE(rep->error.empty());
  EXPECT_TRUE(rep->raw_request_id.empty());

  auto refused = [&](const std::string& frame, const std::string& why) {
    err.clear();
    EXPECT_FALSE(decode_reply(frame.data(), frame.size(), err));
    EXPECT_EQ(err, why);
  };
  refused("", "frame is empty");
  refused(mp(1), "frame is not a msgpack map");
  refused(mp_map({{"error", mp_str("x")}}), "method: missing");
  refused(mp_map({{"method", mp(1)}}), "method: must be a string");
  refused(
      mp_map({{"method", mp_str("update_status")}, {"actual_serial", mp(-1)}}),
      "actual_serial: must be nil or an integer 0..4294967295");
  refused(mp_map({{"method", mp_str("error")}, {"error", mp(3)}}),
          "error: must be a string");
  refused(e + mp_nil, "trailing bytes after the reply map");
  refused(done.substr(0, done.size() - 1), "detail: truncated msgpack");
}

TEST(Cast, EncodeCastRefusesMalformedRawValues) {
  EXPECT_THROW(encode_cast(method::notify_zone_changed, "a.", std::nullopt,
                           "192.0.2.1", 1, 1, 1, "\x92\x01"),
               std::invalid_argument);
  EXPECT_THROW(encode_cast(method::notify_zone_changed, "a.", std::nullopt,
                           "192.0.2.1", 1, 1, 1, {}, "\x01\x02"),
               std::invalid_argument);
  // Context defaults to nil; request_id is left out when empty.
  const auto frame = encode_cast(method::notify_zone_changed, "a.",
                                 std::nullopt, "192.0.2.1", 1, 1, 1);
  const auto m = unpack_map(frame);
  EXPECT_EQ(m.keys, (keys{"method", "context", "domain", "destination",
                          "timeout", "retry_interval", "max_retries"}));
  EXPECT_EQ(m.at("context").type, msgpack::type::NIL);
  // Seconds are always float64 on the wire, even when integral.
  EXPECT_EQ(m.at("timeout").type, msgpack::type::FLOAT64);
  EXPECT_EQ(m.at("retry_interval").type, msgpack::type::FLOAT64);
  EXPECT_EQ(m.at("timeout").via.f64, 1.0);
}

// ---------------------------------------------------------------------------
// JSON rendering.

TEST(Cast, MsgpackToJson) {
  const std::string value = mp_map_raw(
      {{mp_str("s"), mp_str(std::string("a\"b\\\n\x01\xc3\xa9", 8))},
       {mp_str("i"), mp(-5)},
       {mp_str("u"), mp(std::numeric_limits<uint64_t>::max())},
       {mp_str("f"), mp_f64(0.5)},
       {mp_str("g"), mp_f32(0.1f)},
       {mp_str("two"), mp_f64(2.0)},
       {mp_str("big"), mp_f64(1e300)},
       {mp_str("nan"), mp_f64(std::nan(""))},
       {mp_str("inf"), mp_f32(-INFINITY)},
       {mp_str("n"), mp_nil},
       {mp_str("t"), mp(true)},
       {mp_str("bin"), raw_bin(std::string("\x00\xff\x10", 3))},
       {mp_str("ext"), raw_ext(5, "ab")},
       {mp(1), mp_str("int key")},
       {mp_array({mp(1), mp_str("x")}), mp(3)},
       {mp_nil, mp_array({})},
       {mp_str("bad"), mp_str(std::string("\xff\xed\xa0\x80z", 5))}});
  EXPECT_EQ(msgpack_to_json(value.data(), value.size()),
            R"({"s":"a\"b\\\n\u0001)"
            "\xc3\xa9"
            R"(","i":-5,"u":18446744073709551615,"f":0.5,"g":0.1,)"
            R"("two":2.0,"big":1e+300,"nan":null,"inf":null,"n":null,)"
            R"("t":true,"bin":"AP8Q","ext":{"ext_type":5,"base64":"YWI="},)"
            R"("1":"int key","[1,\"x\"]":3,"null":[],)"
            R"("bad":"\ufffd\ufffd\ufffd\ufffdz"})");
  const std::string bin2 = raw_bin("ab"), bin1 = raw_bin("a");
  EXPECT_EQ(msgpack_to_json(bin2.data(), bin2.size()), "\"YWI=\"");
  EXPECT_EQ(msgpack_to_json(bin1.data(), bin1.size()), "\"YQ==\"");
}

TEST(Cast, MsgpackToJsonRefusesInvalidInput) {
  for (const std::string& bad :
       {std::string(), std::string("\x92\x01"), std::string("\x01\x02"),
        std::string(1, '\xc1'), std::string(40, '\x91')}) {
    const auto json = msgpack_to_json(bad.data(), bad.size());
    EXPECT_EQ(json.rfind("{\"invalid_msgpack\":\"", 0), 0u) << json;
  }
}

// ---------------------------------------------------------------------------
// Hostile input.

/// Checks the invariants that must hold for any frame.
void check_any(const std::string& frame) {
  const auto r = decode(frame);
  if (r.ok) {
    if (r.ok->kind == method::poll_for_serial_number) {
      const auto done =
          finish_status(r.ok->reply_prefix, status::error, std::nullopt, "x");
      std::string err;
      EXPECT_TRUE(decode_reply(done.data(), done.size(), err)) << err;
    }
    return;
  }
  ASSERT_FALSE(r.error.empty());
  ASSERT_FALSE(r.error_reply.empty());
  // The scan must catch everything msgpack-c would throw on.
  ASSERT_NE(r.error.rfind("internal error", 0), 0u) << r.error;
  for (const char c : r.error)
    ASSERT_TRUE(c >= 0x20 && c < 0x7f) << "unprintable error: " << r.error;
  std::string err;
  const auto rep =
      decode_reply(r.error_reply.data(), r.error_reply.size(), err);
  ASSERT_TRUE(rep) << err;
  EXPECT_TRUE(rep->method == "error" || rep->method == "update_status");
  EXPECT_EQ(rep->error, r.error);
}

TEST(Cast, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  // Bytes that are interesting to a msgpack parser.
  const std::string hot("\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xc6"
                        "\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd3\xd4\xd8"
                        "\xd9\xda\xdb\xdc\xdd\xde\xdf\xe0\xff\x00\x7f",
                        37);
  for (int i = 0; i < 20000; ++i) {
    std::string frame(rng() % 96, '\0');
    const bool biased = i % 2;
    for (auto& c : frame)
      c = biased && rng() % 2 ? hot[rng() % hot.size()]
                              : static_cast<char>(rng());
    if (i % 4 == 0 && !frame.empty())
      frame[0] = static_cast<char>(0x80 | (rng() % 16)); // a map
    check_any(frame);
    if (HasFatalFailure())
      return;
  }
}

TEST(Cast, TruncationsAndMutationsNeverCrash) {
  const std::string id = mp_map({{"n", mp(1)}});
  const std::string valid =
      poll_fields().set("request_id", id).set("context", mp_f32(1)).encode();
  ASSERT_TRUE(decode(valid).ok);
  for (size_t n = 0; n < valid.size(); ++n) {
    const auto r = decode(valid.substr(0, n));
    EXPECT_FALSE(r.ok) << "prefix of " << n << " bytes";
    EXPECT_FALSE(r.error_reply.empty());
    check_any(valid.substr(0, n));
  }
  std::mt19937 rng(777);
  for (int i = 0; i < 20000; ++i) {
    std::string frame = valid;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e)
      frame[rng() % frame.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0)
      frame.resize(rng() % frame.size());
    check_any(frame);
    if (HasFatalFailure())
      return;
  }
}

/// Bytes malloc'ed while decoding `frame` (0 when sanitizers own malloc).
size_t decode_heap_bytes(const std::string& frame, decode_result& out) {
  g_counted_bytes = 0;
  g_counting = true;
  out = decode(frame);
  g_counting = false;
  return g_counted_bytes;
}

TEST(Cast, HugeDeclaredContainersAreRefusedCheaply) {
  struct hostile {
    std::string context;
    std::string error;
  };
  const std::vector<hostile> cases = {
      {"\xdd\xff\xff\xff\xff", "context: array with 4294967295 entries "
                               "(limit 256)"},
      {"\xdf\xff\xff\xff\xff", "context: map with 4294967295 entries "
                               "(limit 256)"},
      {"\xdc\x01\x01", "context: array with 257 entries (limit 256)"},
      {"\xdb\xff\xff\xff\xff", "context: truncated msgpack"},
      {"\xc6\xff\xff\xff\xff", "context: truncated msgpack"},
      {"\xc9\xff\xff\xff\xff\x01", "context: truncated msgpack"},
      {"\x91\xdd\x7f\xff\xff\xff", "context: array with 2147483647 entries "
                                   "(limit 256)"},
  };
  for (const auto& c : cases) {
    const auto frame = poll_fields().set("context", c.context).encode();
    decode_result r;
    const size_t heap = decode_heap_bytes(frame, r);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, c.error);
    EXPECT_LT(heap, 64u * 1024) << c.error;
  }
  expect_error("\xdf\xff\xff\xff\xff",
               "frame: map with 4294967295 entries (limit 256)");
  std::string many("\xde\x01\x01", 3);
  for (int i = 0; i < 257; ++i)
    many += mp_str("k" + std::to_string(i)) + mp_nil;
  expect_error(many, "frame: map with 257 entries (limit 256)");
  // 256 entries are fine.
  std::vector<std::string> items(256, mp_nil);
  EXPECT_TRUE(
      decode(poll_fields().set("context", mp_array(items)).encode()).ok);
}

TEST(Cast, DeepNestingIsRefused) {
  // The cast map is level 1; 15 more levels fit.
  const std::string deepest_ok = std::string(15, '\x91') + mp_nil;
  const auto ok = decode(poll_fields().set("context", deepest_ok).encode());
  ASSERT_TRUE(ok.ok) << ok.error;
  const auto echoed = unpack_map(
      finish_status(ok.ok->reply_prefix, status::success, 1, "matched"));
  EXPECT_EQ(repack(echoed.at("context")), deepest_ok);

  expect_error(
      poll_fields().set("context", std::string(16, '\x91') + mp_nil).encode(),
      "context: nested deeper than 16 levels");
  expect_error(
      poll_fields().set("domain", std::string(16, '\x81') + "\xa1x").encode(),
      "domain: nested deeper than 16 levels");
  // Far deeper than any stack would take if the scan recursed.
  const std::string abyss =
      poll_fields().set("context", std::string(60000, '\x91')).encode();
  decode_result r;
  const size_t heap = decode_heap_bytes(abyss, r);
  EXPECT_EQ(r.error, "context: nested deeper than 16 levels");
  EXPECT_LT(heap, 64u * 1024);
}

TEST(Cast, LargestFramesStayBoundedInMemory) {
  // Exactly max_frame_size is accepted.
  const std::string base = poll_fields().encode();
  const size_t pad = max_frame_size - base.size() - 4 /*key*/ - 5 /*bin32*/;
  std::string bin("\xc6", 1);
  for (int shift = 24; shift >= 0; shift -= 8)
    bin += static_cast<char>((pad >> shift) & 0xff);
  bin += std::string(pad, 'p');
  const std::string full = poll_fields().set("pad", bin).encode();
  ASSERT_EQ(full.size(), max_frame_size);
  EXPECT_TRUE(decode(full).ok);

  // A frame packed with as many containers as fit: msgpack-c's storage
  // stays proportional to the frame, not to anything declared in it.
  std::vector<std::string> rows;
  std::string filler;
  while (true) {
    std::string row("\xdc\x00\xe6", 3); // array16 of 230
    row += std::string(230, '\x90');    // empty arrays
    if (filler.size() + row.size() > 60000 || rows.size() == 256)
      break;
    filler += row;
    rows.push_back(row);
  }
  const std::string wide = poll_fields()
                               .set("context", mp_array(rows))
                               .set("timeout", mp(0))
                               .encode();
  ASSERT_LE(wide.size(), max_frame_size);
  decode_result r;
  const size_t heap = decode_heap_bytes(wide, r);
  EXPECT_EQ(r.error, "timeout: must be > 0 seconds");
  EXPECT_LT(heap, 8u * 1024 * 1024);
#ifdef CAST_NO_MALLOC_COUNT
  GTEST_SKIP() << "heap not counted under sanitizers";
#else
  // The counter works: ~59000 msgpack objects of 24 bytes were allocated.
  EXPECT_GT(heap, 1000u * 1000);
#endif
}

} // namespace

TEST(Cast, DestinationsOutsideTheAllowlistAreRefused) {
  std::string err;
  minidns::net::prefix_list allowed{
      {*minidns::net::parse_prefix("192.0.2.0/24", err)}};
  auto inside = minidns::messages::encode_cast(
      minidns::messages::method::poll_for_serial_number, "example.com.", 1,
      "192.0.2.53", 1, 1, 0);
  auto ok =
      minidns::messages::decode_cast(inside.data(), inside.size(), &allowed);
  EXPECT_TRUE(ok.ok) << ok.error;
  auto outside = minidns::messages::encode_cast(
      minidns::messages::method::poll_for_serial_number, "example.com.", 1,
      "198.51.100.1:5353", 1, 1, 0);
  auto refused =
      minidns::messages::decode_cast(outside.data(), outside.size(), &allowed);
  ASSERT_FALSE(refused.ok);
  EXPECT_EQ(refused.error, "destination: 198.51.100.1:5353 is not in "
                           "minidns.allow-destinations");
  auto reply = minidns::messages::decode_reply(refused.error_reply.data(),
                                               refused.error_reply.size(), err);
  ASSERT_TRUE(reply) << err;
  EXPECT_EQ(reply->method, "update_status");
  EXPECT_EQ(reply->status, "ERROR");
  EXPECT_EQ(reply->error, refused.error);
  // Without a list, the same cast is fine.
  EXPECT_TRUE(
      minidns::messages::decode_cast(outside.data(), outside.size()).ok);
}

// A request keeps its reply prefix for as long as it waits, a million of
// them at once: the prefix is allocated at its exact size, whatever the
// sizes of the echoed values (msgpack str and map headers grow at 32, 256
// and 65536 bytes).
TEST(Cast, ReplyPrefixIsAllocatedAtItsExactSize) {
  for (size_t context_len : {0, 5, 31, 32, 255, 256, 70000}) {
    for (bool with_id : {false, true}) {
      std::string ctx;
      if (context_len > 0) {
        // A msgpack str of context_len bytes.
        std::string body(context_len, 'c');
        if (context_len < 32)
          ctx = std::string(1, static_cast<char>(0xa0 | context_len)) + body;
        else if (context_len < 256)
          ctx = std::string("\xd9", 1) +
                std::string(1, static_cast<char>(context_len)) + body;
        else if (context_len < 65536)
          ctx = std::string("\xda", 1) +
                std::string(1, static_cast<char>(context_len >> 8)) +
                std::string(1, static_cast<char>(context_len & 0xff)) + body;
        else
          ctx = std::string("\xdb\x00", 2) +
                std::string(1, static_cast<char>(context_len >> 16)) +
                std::string(1, static_cast<char>((context_len >> 8) & 0xff)) +
                std::string(1, static_cast<char>(context_len & 0xff)) + body;
      }
      auto frame = encode_cast(method::poll_for_serial_number, "example.com.",
                               7, "192.0.2.1", 1.0, 0.5, 1, ctx,
                               with_id ? std::string("\x2a", 1) : "");
      auto r = decode_cast(frame.data(), frame.size());
      if (context_len >= 65536 - 512) {
        // Larger than a frame may be: refused, not sized.
        EXPECT_FALSE(r.ok);
        continue;
      }
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_EQ(r.ok->reply_prefix.capacity(), r.ok->reply_prefix.size())
          << "context " << context_len << " bytes, request_id " << with_id;
    }
  }
}
