// Tests of check_reply (net/dns_message.hpp) against hand-made messages:
// the header, the question and truncated or miscounted messages.

#include "dns_message_helpers.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <string>

namespace {

using namespace minidns::net;
using namespace minidns::test::dns;

// --- check_reply against hand-made messages --------------------------------

TEST(DnsMessage, HandMadeReplyIsFound) {
  const msg m = soa_reply(123456);
  const reply_info info = check(m.b, soa_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 123456u);
  // ldns agrees that the hand-made reply is well formed.
  const pkt_ptr p = ldns_parse(m.b);
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 1);
}

TEST(DnsMessage, TooShort) {
  const msg m = soa_reply(1);
  for (size_t n = 0; n < 12; ++n)
    EXPECT_EQ(check(bytes(m.b.begin(), m.b.begin() + n), soa_query(zone)).match,
              reply_match::too_short)
        << n;
  EXPECT_EQ(check_reply(nullptr, 0, soa_query(zone)).match,
            reply_match::too_short);
}

TEST(DnsMessage, WrongId) {
  msg m = soa_reply(1);
  m.set16(0, reply_id ^ 1);
  EXPECT_EQ(check(m.b, soa_query(zone)).match, reply_match::wrong_id);
}

TEST(DnsMessage, QrClear) {
  msg m = soa_reply(1);
  m.set16(2, soa_ok_flags & ~flag_qr);
  EXPECT_EQ(check(m.b, soa_query(zone)).match, reply_match::not_response);
}

TEST(DnsMessage, WrongOpcode) {
  msg soa = soa_reply(1);
  EXPECT_EQ(check(soa.b, notify_query(zone)).match, reply_match::wrong_opcode);
  soa.set16(2, soa_ok_flags | opcode_notify_bits);
  EXPECT_EQ(check(soa.b, soa_query(zone)).match, reply_match::wrong_opcode);
  EXPECT_EQ(check(soa.b, notify_query(zone)).match, reply_match::accepted);
  soa.set16(2, soa_ok_flags | (5 << 11)); // UPDATE
  EXPECT_EQ(check(soa.b, notify_query(zone)).match, reply_match::wrong_opcode);
  EXPECT_EQ(check(soa.b, soa_query(zone)).match, reply_match::wrong_opcode);
}

TEST(DnsMessage, WrongQuestionFields) {
  const std::string other = wire("example.net");
  msg name = question_msg(soa_ok_flags, 0, other);
  EXPECT_EQ(check(name.b, soa_query(zone)).match, reply_match::wrong_question);

  // Same labels but one longer: a prefix match must not pass.
  msg longer = question_msg(soa_ok_flags, 0, wire("www.example.com"));
  EXPECT_EQ(check(longer.b, soa_query(zone)).match,
            reply_match::wrong_question);

  msg qtype = question_msg(soa_ok_flags, 0, zone);
  qtype.set16(12 + zone.size(), type_a);
  EXPECT_EQ(check(qtype.b, soa_query(zone)).match, reply_match::wrong_question);

  msg qclass = question_msg(soa_ok_flags, 0, zone);
  qclass.set16(12 + zone.size() + 2, class_ch);
  EXPECT_EQ(check(qclass.b, soa_query(zone)).match,
            reply_match::wrong_question);
}

TEST(DnsMessage, EmptyQuestionAcceptedForErrorsOnly) {
  for (uint8_t rc = 0; rc < 16; ++rc) {
    msg m;
    m.header(reply_id, flag_qr | opcode_notify_bits | rc, 0, 0);
    const reply_info info = check(m.b, notify_query(zone));
    if (rc == rcode_noerror) {
      EXPECT_EQ(info.match, reply_match::wrong_question);
    } else {
      EXPECT_EQ(info.match, reply_match::accepted) << int(rc);
      EXPECT_EQ(info.rcode, rc);
    }
  }
  // The same for SOA queries; the (empty) answer section is still scanned.
  msg m;
  m.header(reply_id, flag_qr | rcode_nxdomain, 0, 0);
  const reply_info info = check(m.b, soa_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.rcode, rcode_nxdomain);
  EXPECT_EQ(info.soa, soa_state::none);
}

TEST(DnsMessage, TwoQuestionsAreWrong) {
  msg m = question_msg(soa_ok_flags, 0, zone);
  m.set16(4, 2);
  m.name(zone).u16(type_soa).u16(class_in);
  EXPECT_EQ(check(m.b, soa_query(zone)).match, reply_match::wrong_question);
}

TEST(DnsMessage, QuestionPointerIsMalformed) {
  msg m;
  m.header(reply_id, soa_ok_flags, 1, 0);
  m.ptr(0).u16(type_soa).u16(class_in);
  EXPECT_EQ(check(m.b, soa_query(zone)).match, reply_match::malformed);
  msg self;
  self.header(reply_id, soa_ok_flags, 1, 0);
  self.ptr(12).u16(type_soa).u16(class_in);
  EXPECT_EQ(check(self.b, soa_query(zone)).match, reply_match::malformed);
}

TEST(DnsMessage, QuestionWithReservedLabelTypeIsMalformed) {
  for (unsigned bits : {0x40u, 0x80u}) {
    msg m;
    m.header(reply_id, soa_ok_flags, 1, 0);
    m.u8(bits | 1).u8('a').u8(0).u16(type_soa).u16(class_in);
    EXPECT_EQ(check(m.b, soa_query(zone)).match, reply_match::malformed);
  }
}

TEST(DnsMessage, TruncatedPrefixesNeverCrashOrFind) {
  const msg full = soa_reply(99);
  const size_t question_end = 12 + zone.size() + 4;
  for (size_t n = 0; n <= full.size(); ++n) {
    const bytes prefix(full.b.begin(), full.b.begin() + n);
    const reply_info info = check(prefix, soa_query(zone));
    if (n < 12) {
      EXPECT_EQ(info.match, reply_match::too_short) << n;
    } else if (n < question_end) {
      EXPECT_EQ(info.match, reply_match::malformed) << n;
    } else if (n < full.size()) {
      EXPECT_EQ(info.match, reply_match::accepted) << n;
      EXPECT_EQ(info.soa, soa_state::malformed) << n;
    } else {
      EXPECT_EQ(info.soa, soa_state::found);
      EXPECT_EQ(info.serial, 99u);
    }
  }
}

TEST(DnsMessage, TruncatedLdnsRepliesNeverFind) {
  ldns_reply r;
  r.answer = {"example.com. 3600 IN NS ns1.example.com.",
              soa_rr("example.com.", 31337),
              "example.com. 3600 IN TXT \"tail\""};
  const bytes full = r.wire();
  for (size_t n = 0; n < full.size(); ++n) {
    const reply_info info =
        check(bytes(full.begin(), full.begin() + n), soa_query(zone));
    EXPECT_NE(info.soa, soa_state::found) << n;
  }
  const reply_info info = check(full, soa_query(zone));
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 31337u);
}

TEST(DnsMessage, AncountBeyondDataIsMalformed) {
  msg m = soa_reply(1);
  m.set16(6, 2);
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed);
  m.set16(6, 0xFFFF);
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed);
}

TEST(DnsMessage, ExtraSectionsAreNotParsed) {
  // Garbage after the answer section (authority/additional counts are not
  // trusted or needed) does not spoil a found SOA.
  msg m = soa_reply(5);
  m.set16(10, 3);
  m.u8(0xC0).u8(0xFF).u8(0x3F);
  const reply_info info = check(m.b, soa_query(zone));
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 5u);
}

} // namespace
