// Tests of the pool manager's side of the msgpack wire contract
// (apps/minidns-ctl/client_codec.hpp, docs/protocol.md): decode_reply,
// encode_cast and the JSON rendering of msgpack values.

#include "cast_helpers.hpp"

#include <cmath>
#include <cstdint>
#include <gtest/gtest.h>
#include <limits>
#include <msgpack.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using namespace minidns::messages;
using namespace minidns::test;

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
       {mp_str("bin"), mp_bin(std::string("\x00\xff\x10", 3))},
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
  const std::string bin2 = mp_bin("ab"), bin1 = mp_bin("a");
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

} // namespace
