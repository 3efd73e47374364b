// Tests of the msgpack wire contract (messages/cast.hpp, docs/protocol.md):
// error replies, echoes and the encoding of update_status replies, checked
// with msgpack-c directly.

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

TEST(Cast, EchoesWeirdValuesByteForByte) {
  const std::string context = mp_array(
      {mp(0), mp(-1), mp(std::numeric_limits<int64_t>::min()),
       mp(std::numeric_limits<uint64_t>::max()), mp_str("str \xe2\x82\xac"),
       mp_bin(std::string("\0\1\2", 3)),
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
                  {mp(5), mp_bin("five")},
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

} // namespace

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
