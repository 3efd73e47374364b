// Tests of the msgpack wire contract (messages/cast.hpp, docs/protocol.md):
// valid casts and what they decode to.

#include "cast_helpers.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <optional>
#include <string>

namespace {

using namespace minidns::messages;
using namespace minidns::test;
using namespace std::chrono_literals;

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

} // namespace
