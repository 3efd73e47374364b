// Strings in casts must be UTF-8 (docs/protocol.md): a str that is not, at
// any depth and in any key or value, gets an error naming the field, and no
// reply echoes it (a pool manager that decodes strings strictly, like
// Python's msgpack, would lose the reply).

#include "cast_helpers.hpp"
#include "messages/msgpack_scan.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using namespace minidns::messages;
using namespace minidns::test;

bool utf8(const std::string& s) {
  return valid_utf8(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Utf8, TheValidatorFollowsRfc3629) {
  EXPECT_TRUE(utf8(""));
  EXPECT_TRUE(utf8("plain ascii"));
  EXPECT_TRUE(utf8("\xc3\xa9"));         // é
  EXPECT_TRUE(utf8("\xe2\x82\xac"));     // €
  EXPECT_TRUE(utf8("\xf0\x9f\x98\x80")); // U+1F600
  EXPECT_TRUE(utf8("\xf4\x8f\xbf\xbf")); // U+10FFFF, the last
  EXPECT_FALSE(utf8("\xff"));
  EXPECT_FALSE(utf8("\x80"));             // a lone continuation byte
  EXPECT_FALSE(utf8("\xc3"));             // cut short
  EXPECT_FALSE(utf8("\xe2\x82"));         // cut short
  EXPECT_FALSE(utf8("\xc3\x28"));         // not a continuation
  EXPECT_FALSE(utf8("\xc0\xaf"));         // overlong '/'
  EXPECT_FALSE(utf8("\xe0\x80\xaf"));     // overlong '/'
  EXPECT_FALSE(utf8("\xed\xa0\x80"));     // U+D800, a surrogate
  EXPECT_FALSE(utf8("\xf4\x90\x80\x80")); // past U+10FFFF
  EXPECT_FALSE(utf8("\xf8\x88\x80\x80\x80"));
}

const std::string bad = "a\xff"; // not UTF-8

/// The error reply must not carry the bad bytes.
void expect_clean_reply(const std::string& frame) {
  auto r = decode(frame);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error_reply.find('\xff'), std::string::npos);
}

TEST(Utf8, AStringThatIsNotUtf8NamesItsField) {
  auto context = poll_fields().set("context", mp_str(bad)).encode();
  expect_error(context, "context: invalid UTF-8 in a string");
  EXPECT_EQ(decode(context).field, invalid_field::context);
  expect_clean_reply(context);

  // Nested anywhere in the context.
  auto nested =
      poll_fields()
          .set("context",
               mp_map({{"user", mp_array({mp_str("ok"), mp_str(bad)})}}))
          .encode();
  expect_error(nested, "context: invalid UTF-8 in a string");
  expect_clean_reply(nested);

  // A nested key is a string too.
  auto key = poll_fields().set("context", mp_map({{bad, mp(1)}})).encode();
  expect_error(key, "context: invalid UTF-8 in a string");

  auto name = poll_fields().set("domain", domain_with(mp_str(bad), mp(1)));
  expect_error(name.encode(), "domain: invalid UTF-8 in a string");
  EXPECT_EQ(decode(name.encode()).field, invalid_field::domain);

  expect_error(poll_fields().set("destination", mp_str(bad)).encode(),
               "destination: invalid UTF-8 in a string");
  expect_error(poll_fields().set("request_id", mp_str(bad)).encode(),
               "request_id: invalid UTF-8 in a string");
  expect_clean_reply(poll_fields().set("request_id", mp_str(bad)).encode());
}

TEST(Utf8, AKeyThatIsNotUtf8IsAFaultOfTheFrame) {
  auto fields = poll_fields();
  fields.entries.emplace_back(bad, mp(1));
  auto frame = fields.encode();
  expect_error(frame, "frame: key 8: invalid UTF-8 in a string");
  EXPECT_EQ(decode(frame).field, invalid_field::frame);
  expect_clean_reply(frame);
}

TEST(Utf8, AValidRequestIdReadBeforeTheBadStringIsStillEchoed) {
  auto fields = poll_fields().set("context", mp_str(bad));
  fields.entries.insert(fields.entries.begin(),
                        {"request_id", mp_str("r\xc3\xa9-1")});
  auto r = decode(fields.encode());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error_reply.find("r\xc3\xa9-1"), std::string::npos);
  EXPECT_EQ(r.error_reply.find('\xff'), std::string::npos);
}

TEST(Utf8, ValidUtf8BeyondAsciiIsAcceptedAndEchoedAsIs) {
  auto frame = poll_fields()
                   .set("context",
                        mp_map({{"\xc3\xa9quipe", mp_str("\xf0\x9f\x98\x80")}}))
                   .encode();
  auto r = decode(frame);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NE(r.ok->reply_prefix.find("\xf0\x9f\x98\x80"), std::string::npos);
}

} // namespace
