// Tests of check_reply (net/dns_message.hpp) against replies built by ldns.

#include "dns_message_helpers.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <string>

namespace {

using namespace minidns::net;
using namespace minidns::test::dns;

// --- check_reply against ldns-built replies --------------------------------

TEST(DnsMessage, NotifyAcknowledged) {
  ldns_reply r;
  r.opcode = LDNS_PACKET_NOTIFY;
  const reply_info info = check(r.wire(), notify_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.rcode, rcode_noerror);
  EXPECT_TRUE(info.aa);
  EXPECT_FALSE(info.tc);
  EXPECT_EQ(info.soa, soa_state::not_checked);
}

TEST(DnsMessage, NotifyErrorRcodeReported) {
  ldns_reply r;
  r.opcode = LDNS_PACKET_NOTIFY;
  r.aa = false;
  r.rcode = rcode_notauth;
  const reply_info info = check(r.wire(), notify_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.rcode, rcode_notauth);
  EXPECT_FALSE(info.aa);
}

TEST(DnsMessage, QuestionNameIsCaseInsensitive) {
  ldns_reply r;
  r.opcode = LDNS_PACKET_NOTIFY;
  r.question = {"eXAMPLE.CoM. IN SOA"};
  EXPECT_EQ(check(r.wire(), notify_query(zone)).match, reply_match::accepted);
}

TEST(DnsMessage, SoaFoundWithCompression) {
  ldns_reply r;
  r.answer = {soa_rr("example.com.", 2024010203)};
  r.authority = {"example.com. 3600 IN NS ns1.example.com.",
                 "example.com. 3600 IN NS ns2.example.net."};
  const bytes b = r.wire();
  // ldns compresses the answer owner to a pointer to the question name;
  // make sure the decompression path is really exercised.
  const size_t answer_at = 12 + zone.size() + 4;
  ASSERT_GT(b.size(), answer_at + 2);
  ASSERT_EQ(b[answer_at], 0xC0);
  ASSERT_EQ(b[answer_at + 1], 12);

  const reply_info info = check(b, soa_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.rcode, rcode_noerror);
  EXPECT_TRUE(info.aa);
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 2024010203u);
}

TEST(DnsMessage, SoaFoundWithLargestSerial) {
  ldns_reply r;
  r.answer = {soa_rr("example.com.", 0xFFFFFFFFu)};
  const reply_info info = check(r.wire(), soa_query(zone));
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 0xFFFFFFFFu);
}

TEST(DnsMessage, SoaOwnerIsCaseInsensitive) {
  ldns_reply r;
  r.question = {"EXAMPLE.com. IN SOA"};
  r.answer = {soa_rr("Example.COM.", 42)};
  const std::string mixed = wire("example.COM");
  const reply_info info = check(r.wire(), soa_query(mixed));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 42u);
}

TEST(DnsMessage, OtherTypesInAnswerAreSkipped) {
  ldns_reply r;
  r.answer = {
      "example.com. 3600 IN CNAME other.example.net.",
      "example.com. 3600 IN RRSIG SOA 8 2 3600 20300101000000 "
      "20200101000000 12345 example.com. dGhpcyBpcyBub3QgYSBzaWduYXR1cmU=",
      "example.com. 3600 IN TXT \"v=spf1 -all\"",
      soa_rr("example.com.", 77),
      "example.com. 3600 IN RRSIG SOA 8 2 3600 20300101000000 "
      "20200101000000 12345 example.com. c2lnbmF0dXJl",
  };
  const reply_info info = check(r.wire(), soa_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 77u);
}

TEST(DnsMessage, TwoSoasAreMultiple) {
  ldns_reply r;
  r.answer = {soa_rr("example.com.", 1), soa_rr("example.com.", 2)};
  EXPECT_EQ(check(r.wire(), soa_query(zone)).soa, soa_state::multiple);
}

TEST(DnsMessage, SoaOfOtherOwnerDoesNotCount) {
  ldns_reply r;
  r.answer = {soa_rr("sub.example.com.", 5), soa_rr("com.", 6)};
  EXPECT_EQ(check(r.wire(), soa_query(zone)).soa, soa_state::none);

  r.answer.push_back(soa_rr("example.com.", 7));
  const reply_info info = check(r.wire(), soa_query(zone));
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 7u);
}

TEST(DnsMessage, SoaOfOtherClassDoesNotCount) {
  ldns_reply r;
  r.answer = {soa_rr("example.com.", 5, "CH")};
  EXPECT_EQ(check(r.wire(), soa_query(zone)).soa, soa_state::none);
}

TEST(DnsMessage, EmptyAnswerIsNone) {
  ldns_reply r;
  r.authority = {soa_rr("example.com.", 5)}; // a referral/NODATA shape
  const reply_info info = check(r.wire(), soa_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.soa, soa_state::none);
}

TEST(DnsMessage, FlagsReported) {
  ldns_reply r;
  r.aa = false;
  r.tc = true;
  r.rcode = rcode_refused;
  const reply_info info = check(r.wire(), soa_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_FALSE(info.aa);
  EXPECT_TRUE(info.tc);
  EXPECT_EQ(info.rcode, rcode_refused);
}

TEST(DnsMessage, RootZoneSoa) {
  ldns_reply r;
  r.question = {". IN SOA"};
  r.answer = {". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. "
              "2024061200 1800 900 604800 86400"};
  const std::string root = wire(".");
  const reply_info info = check(r.wire(), soa_query(root));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 2024061200u);
  // The root SOA is not the SOA of example.com, nor the other way round.
  EXPECT_EQ(check(r.wire(), soa_query(zone)).match,
            reply_match::wrong_question);
}

TEST(DnsMessage, LdnsWrongIdOpcodeAndQuestion) {
  ldns_reply r;
  r.answer = {soa_rr("example.com.", 1)};
  EXPECT_EQ(check(r.wire(), soa_query(zone, 0x1235)).match,
            reply_match::wrong_id);
  EXPECT_EQ(check(r.wire(), notify_query(zone)).match,
            reply_match::wrong_opcode);
  r.question = {"example.org. IN SOA"};
  EXPECT_EQ(check(r.wire(), soa_query(zone)).match,
            reply_match::wrong_question);
  r.question = {"example.com. IN A"};
  EXPECT_EQ(check(r.wire(), soa_query(zone)).match,
            reply_match::wrong_question);
  r.question = {"example.com. IN SOA", "example.com. IN SOA"};
  EXPECT_EQ(check(r.wire(), soa_query(zone)).match,
            reply_match::wrong_question);
  r.question = {};
  EXPECT_EQ(check(r.wire(), soa_query(zone)).match,
            reply_match::wrong_question);
}

} // namespace
