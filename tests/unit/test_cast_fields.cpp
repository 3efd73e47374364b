// Tests of the msgpack wire contract (messages/cast.hpp, docs/protocol.md):
// invalid casts and the exact reason given for each malformed field.

#include "cast_helpers.hpp"

#include <cmath>
#include <cstdint>
#include <gtest/gtest.h>
#include <limits>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace minidns::messages;
using namespace minidns::test;

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
  // Untrusted bytes are quoted printable (valid UTF-8 beyond ASCII too).
  expect_error(poll_fields()
                   .set("method", mp_str(std::string("a\x01'\xc3\xa9", 5)))
                   .encode(),
               "method: unknown 'a\\x01\\'\\xc3\\xa9'");
  // A string that is not UTF-8 is refused before anything reads it.
  expect_error(poll_fields()
                   .set("method", mp_str(std::string("a\x01'\xff", 4)))
                   .encode(),
               "method: invalid UTF-8 in a string");
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

namespace {

using namespace minidns::messages;
using namespace minidns::test;

/// The field the decoder blames (the metric label), for a frame.
std::string blamed(const std::string& frame) {
  auto r = decode(frame);
  EXPECT_FALSE(r.ok);
  return std::string(to_string(r.field));
}

TEST(Cast, TheDecoderNamesTheFieldAtFaultForTheMetrics) {
  EXPECT_EQ(blamed(""), "frame");
  EXPECT_EQ(blamed(mp(7)), "frame");
  EXPECT_EQ(blamed(poll_fields().encode() + mp_nil), "frame");
  EXPECT_EQ(blamed("\x81\xc1"), "frame");
  EXPECT_EQ(blamed(std::string(max_frame_size + 1, '\0')), "frame");
  EXPECT_EQ(
      blamed(poll_fields().set("context", std::string(1, '\xc1')).encode()),
      "context");
  const std::string whole = poll_fields().encode();
  EXPECT_EQ(blamed(whole.substr(0, whole.size() - 1)), "max_retries");
  EXPECT_EQ(blamed(poll_fields().set("timeout", mp(0)).encode()), "timeout");
  EXPECT_EQ(blamed(poll_fields().set("destination", mp_str("x")).encode()),
            "destination");
  EXPECT_EQ(blamed(poll_fields().set("method", mp_str("nope")).encode()),
            "method");
  EXPECT_EQ(blamed(poll_fields()
                       .set("domain", domain_with(mp_str("a..b."), mp(1)))
                       .encode()),
            "domain.name");
  EXPECT_EQ(blamed(mp_map_raw(
                {{mp_str("timeout"), mp(1)}, {mp_str("timeout"), mp(2)}})),
            "timeout");
  EXPECT_EQ(
      blamed(mp_map_raw({{mp_str("weird"), mp(1)}, {mp_str("weird"), mp(2)}})),
      "other");
  EXPECT_EQ(blamed(mp_map_raw({{mp(1), mp(1)}})), "frame");
  // A valid cast blames nothing.
  EXPECT_TRUE(decode(poll_fields().encode()).ok);
}

} // namespace

namespace {

using namespace minidns::messages;
using namespace minidns::test;

TEST(Cast, DelayIsOptionalAndChecked) {
  auto absent = decode(poll_fields().encode());
  ASSERT_TRUE(absent.ok) << absent.error;
  EXPECT_EQ(absent.ok->delay.count(), 0);
  auto given = decode(poll_fields().set("delay", mp(2.5)).encode());
  ASSERT_TRUE(given.ok) << given.error;
  EXPECT_EQ(given.ok->delay, std::chrono::microseconds(2'500'000));
  auto whole = decode(notify_fields().set("delay", mp(3600)).encode());
  ASSERT_TRUE(whole.ok) << whole.error;
  EXPECT_EQ(whole.ok->delay, std::chrono::seconds(3600));
  expect_error(poll_fields().set("delay", mp(-1)).encode(),
               "delay: must be >= 0 seconds");
  expect_error(poll_fields().set("delay", mp(3600.5)).encode(),
               "delay: must be at most 3600 seconds");
  expect_error_prefix(poll_fields().set("delay", mp_str("1s")).encode(),
                      "delay: ");
  EXPECT_EQ(decode(poll_fields().set("delay", mp(-1)).encode()).field,
            invalid_field::delay);
}

TEST(Cast, TransportIsOptionalAndChecked) {
  auto absent = decode(poll_fields().encode());
  ASSERT_TRUE(absent.ok) << absent.error;
  EXPECT_FALSE(absent.ok->transport) << "absent: the config decides";
  auto tcp = decode(notify_fields().set("transport", mp_str("tcp")).encode());
  ASSERT_TRUE(tcp.ok) << tcp.error;
  EXPECT_EQ(tcp.ok->transport, minidns::net::transport::tcp);
  auto udp = decode(poll_fields().set("transport", mp_str("udp")).encode());
  ASSERT_TRUE(udp.ok) << udp.error;
  EXPECT_EQ(udp.ok->transport, minidns::net::transport::udp);
  expect_error(poll_fields().set("transport", mp_str("TCP")).encode(),
               "transport: expected \"udp\" or \"tcp\"");
  expect_error(poll_fields().set("transport", mp(1)).encode(),
               "transport: must be a string");
  EXPECT_EQ(
      decode(poll_fields().set("transport", mp_str("quic")).encode()).field,
      invalid_field::transport);
}

/// A complete domain.soa, field by field.
fields soa_fields() {
  fields f;
  f.set("mname", mp_str("ns1.example.com."))
      .set("rname", mp_str("hostmaster.example.com."))
      .set("serial", mp(2024010101))
      .set("refresh", mp(7200))
      .set("retry", mp(3600))
      .set("expire", mp(1209600))
      .set("minimum", mp(600))
      .set("ttl", mp(300));
  return f;
}

std::string notify_with_soa(const std::string& soa) {
  return notify_fields()
      .set("domain", mp_map({{"name", mp_str("example.com.")}, {"soa", soa}}))
      .encode();
}

TEST(Cast, SoaHintIsReadIntoWireFormat) {
  auto r = decode(notify_with_soa(soa_fields().encode()));
  ASSERT_TRUE(r.ok) << r.error;
  const std::string expected =
      std::string("\0\0\x01\x2c", 4) +                   // TTL 300
      std::string("\3ns1\7example\3com\0", 17) +         // mname
      std::string("\12hostmaster\7example\3com\0", 24) + // rname
      std::string("\x78\xa3\xf1\x75", 4) +               // 2024010101
      std::string("\0\0\x1c\x20\0\0\x0e\x10\0\x12\x75\0\0\0\x02\x58", 16);
  EXPECT_EQ(r.ok->soa_hint, expected);
  auto plain = decode(notify_fields().encode());
  ASSERT_TRUE(plain.ok) << plain.error;
  EXPECT_TRUE(plain.ok->soa_hint.empty()) << "never made up";
}

TEST(Cast, SoaHintErrorsNameTheField) {
  expect_error(notify_with_soa(soa_fields().drop("serial").encode()),
               "domain.soa.serial: missing");
  expect_error(notify_with_soa(mp_str("x")), "domain.soa: must be a map");
  expect_error_prefix(notify_with_soa(soa_fields().set("ttl", mp(-1)).encode()),
                      "domain.soa.ttl: ");
  expect_error_prefix(
      notify_with_soa(
          soa_fields().set("expire", mp(uint64_t{1} << 32)).encode()),
      "domain.soa.expire: ");
  expect_error(notify_with_soa(soa_fields().set("mname", mp(1)).encode()),
               "domain.soa.mname: must be a string");
  expect_error_prefix(
      notify_with_soa(soa_fields().set("rname", mp_str("a..b")).encode()),
      "domain.soa.rname: ");
  expect_error(notify_with_soa(soa_fields().add("retry", mp(1)).encode()),
               "domain.soa.retry: duplicate key");
  EXPECT_EQ(decode(notify_with_soa(mp_str("x"))).field,
            invalid_field::domain_soa);
}

TEST(Cast, WantStatusGivesANotifyAStatusReply) {
  auto plain = decode(notify_fields().encode());
  ASSERT_TRUE(plain.ok) << plain.error;
  EXPECT_FALSE(plain.ok->wants_status);
  EXPECT_TRUE(plain.ok->reply_prefix.empty());
  auto wanted = decode(notify_fields().set("want_status", mp_true).encode());
  ASSERT_TRUE(wanted.ok) << wanted.error;
  EXPECT_TRUE(wanted.ok->wants_status);
  auto frame = finish_status(wanted.ok->reply_prefix, status::success,
                             std::nullopt, "acknowledged");
  auto m = unpack_map(frame);
  EXPECT_EQ(m.str("method"), "update_status");
  EXPECT_EQ(m.str("status"), "SUCCESS");
  EXPECT_EQ(m.str("detail"), "acknowledged");
  auto not_wanted =
      decode(notify_fields().set("want_status", "\xc2").encode()); // false
  ASSERT_TRUE(not_wanted.ok) << not_wanted.error;
  EXPECT_FALSE(not_wanted.ok->wants_status);
  auto poll = decode(poll_fields().encode());
  ASSERT_TRUE(poll.ok) << poll.error;
  EXPECT_TRUE(poll.ok->wants_status) << "a poll always gets its status";
  expect_error(notify_fields().set("want_status", mp(1)).encode(),
               "want_status: must be true or false");
  EXPECT_EQ(
      decode(notify_fields().set("want_status", mp_str("yes")).encode()).field,
      invalid_field::want_status);
}

} // namespace
