#include "net/dns_message.hpp"
#include "net/dns_name.hpp"

#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace minidns::net;

using bytes = std::vector<uint8_t>;

constexpr uint16_t type_soa = 6;
constexpr uint16_t type_a = 1;
constexpr uint16_t type_txt = 16;
constexpr uint16_t class_in = 1;
constexpr uint16_t class_ch = 3;

constexpr uint16_t flag_qr = 0x8000;
constexpr uint16_t flag_aa = 0x0400;
constexpr uint16_t opcode_notify_bits = 4 << 11;

std::string wire(const std::string& text) {
  std::string error;
  auto w = name_to_wire(text, error);
  EXPECT_TRUE(w) << text << ": " << error;
  return w.value_or(std::string(1, '\0'));
}

// --- ldns helpers ---------------------------------------------------------

struct pkt_deleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using pkt_ptr = std::unique_ptr<ldns_pkt, pkt_deleter>;

pkt_ptr ldns_parse(const bytes& b) {
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&p, b.data(), b.size()), LDNS_STATUS_OK);
  return pkt_ptr(p);
}

ldns_rr* ldns_rr_from(const std::string& text) {
  ldns_rr* rr = nullptr;
  EXPECT_EQ(ldns_rr_new_frm_str(&rr, text.c_str(), 3600, nullptr, nullptr),
            LDNS_STATUS_OK)
      << text;
  return rr;
}

/// A reply built by ldns, an implementation independent of ours.
struct ldns_reply {
  uint16_t id = 0x1234;
  ldns_pkt_opcode opcode = LDNS_PACKET_QUERY;
  bool qr = true;
  bool aa = true;
  bool tc = false;
  uint8_t rcode = 0;
  std::vector<std::string> question{"example.com. IN SOA"};
  std::vector<std::string> answer;
  std::vector<std::string> authority;

  bytes wire() const {
    pkt_ptr p(ldns_pkt_new());
    ldns_pkt_set_id(p.get(), id);
    ldns_pkt_set_opcode(p.get(), opcode);
    ldns_pkt_set_qr(p.get(), qr);
    ldns_pkt_set_aa(p.get(), aa);
    ldns_pkt_set_tc(p.get(), tc);
    ldns_pkt_set_rcode(p.get(), rcode);
    for (const auto& q : question) {
      ldns_rr* rr = nullptr;
      EXPECT_EQ(ldns_rr_new_question_frm_str(&rr, q.c_str(), nullptr, nullptr),
                LDNS_STATUS_OK)
          << q;
      ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION, rr);
    }
    for (const auto& a : answer)
      ldns_pkt_push_rr(p.get(), LDNS_SECTION_ANSWER, ldns_rr_from(a));
    for (const auto& a : authority)
      ldns_pkt_push_rr(p.get(), LDNS_SECTION_AUTHORITY, ldns_rr_from(a));
    uint8_t* out = nullptr;
    size_t size = 0;
    EXPECT_EQ(ldns_pkt2wire(&out, p.get(), &size), LDNS_STATUS_OK);
    bytes result(out, out + size);
    std::free(out);
    return result;
  }
};

std::string soa_rr(const std::string& owner, uint32_t serial,
                   const std::string& klass = "IN") {
  return owner + " 3600 " + klass + " SOA ns1.example.com. " +
         "hostmaster.example.com. " + std::to_string(serial) +
         " 7200 3600 1209600 300";
}

// --- hand-made messages ---------------------------------------------------

/// Appends big-endian fields to a byte vector.
struct msg {
  bytes b;

  msg& u8(unsigned v) {
    b.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  msg& u16(unsigned v) { return u8(v >> 8).u8(v); }
  msg& u32(uint32_t v) { return u16(v >> 16).u16(v & 0xFFFF); }
  msg& name(const std::string& w) {
    b.insert(b.end(), w.begin(), w.end());
    return *this;
  }
  msg& ptr(size_t offset) { return u16(0xC000 | offset); }
  msg& header(uint16_t id, uint16_t flags, unsigned qd, unsigned an,
              unsigned ns = 0, unsigned ar = 0) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  /// RR header after the owner name: type, class, TTL, RDLENGTH.
  msg& rr(uint16_t type, uint16_t klass, uint16_t rdlength) {
    return u16(type).u16(klass).u32(3600).u16(rdlength);
  }
  void set16(size_t at, unsigned v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
  }
  size_t size() const { return b.size(); }
};

constexpr uint16_t reply_id = 0x1234;
constexpr uint16_t soa_ok_flags = flag_qr | flag_aa;

/// Header and question "<zone> IN SOA"; the question name is at offset 12.
msg question_msg(uint16_t flags, unsigned an, const std::string& zone_wire,
                 uint16_t id = reply_id) {
  msg m;
  m.header(id, flags, 1, an);
  m.name(zone_wire).u16(type_soa).u16(class_in);
  return m;
}

/// Appends SOA RDATA whose MNAME and RNAME are compressed against offset 12.
void soa_rdata_compressed(msg& m, uint32_t serial) {
  const size_t rdlength_at = m.size() - 2;
  const size_t start = m.size();
  m.u8(3).name("ns1").ptr(12);
  m.u8(10).name("hostmaster").ptr(12);
  m.u32(serial).u32(7200).u32(3600).u32(1209600).u32(300);
  m.set16(rdlength_at, m.size() - start);
}

/// A complete, valid SOA reply for example.com with every name compressed.
msg soa_reply(uint32_t serial) {
  msg m = question_msg(soa_ok_flags, 1, wire("example.com"));
  m.ptr(12).rr(type_soa, class_in, 0);
  soa_rdata_compressed(m, serial);
  return m;
}

expected_reply soa_query(const std::string& zone_wire, uint16_t id = reply_id) {
  // The string_view refers to `zone_wire`, which callers keep alive.
  return expected_reply{query_kind::soa, id, zone_wire};
}

expected_reply notify_query(const std::string& zone_wire,
                            uint16_t id = reply_id) {
  return expected_reply{query_kind::notify, id, zone_wire};
}

reply_info check(const bytes& b, const expected_reply& q) {
  // An exact-size heap copy, so that sanitizers see any overread.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[b.size() ? b.size() : 1]);
  if (!b.empty())
    std::memcpy(copy.get(), b.data(), b.size());
  return check_reply(copy.get(), b.size(), q);
}

const std::string zone = wire("example.com");

// --- build_query ----------------------------------------------------------

bytes build(query_kind kind, uint16_t id, const std::string& qname) {
  bytes out(max_query_size);
  const size_t n = build_query(kind, id, qname, out.data(), out.size());
  EXPECT_GT(n, 0u);
  out.resize(n);
  return out;
}

TEST(DnsMessage, NotifyQueryParsedByLdns) {
  const bytes q = build(query_kind::notify, 0xBEEF, zone);
  const pkt_ptr p = ldns_parse(q);
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_id(p.get()), 0xBEEF);
  EXPECT_EQ(ldns_pkt_get_opcode(p.get()), LDNS_PACKET_NOTIFY);
  EXPECT_TRUE(ldns_pkt_aa(p.get()));
  EXPECT_FALSE(ldns_pkt_qr(p.get()));
  EXPECT_FALSE(ldns_pkt_rd(p.get()));
  EXPECT_FALSE(ldns_pkt_tc(p.get()));
  EXPECT_FALSE(ldns_pkt_ra(p.get()));
  EXPECT_FALSE(ldns_pkt_ad(p.get()));
  EXPECT_FALSE(ldns_pkt_cd(p.get()));
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), 0);
  EXPECT_EQ(ldns_pkt_qdcount(p.get()), 1);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
  EXPECT_EQ(ldns_pkt_nscount(p.get()), 0);
  EXPECT_EQ(ldns_pkt_arcount(p.get()), 0);
  EXPECT_FALSE(ldns_pkt_edns(p.get()));

  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(p.get()), 0);
  ASSERT_NE(question, nullptr);
  EXPECT_EQ(ldns_rr_get_type(question), LDNS_RR_TYPE_SOA);
  EXPECT_EQ(ldns_rr_get_class(question), LDNS_RR_CLASS_IN);
  char* owner = ldns_rdf2str(ldns_rr_owner(question));
  EXPECT_STREQ(owner, "example.com.");
  std::free(owner);
  // Exact header bits: opcode 4 and AA, nothing else (Z included).
  EXPECT_EQ(q[2], 0x24);
  EXPECT_EQ(q[3], 0x00);
  EXPECT_EQ(q.size(), 12 + zone.size() + 4);
}

TEST(DnsMessage, SoaQueryParsedByLdns) {
  const bytes q = build(query_kind::soa, 7, wire("Example.ORG"));
  const pkt_ptr p = ldns_parse(q);
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_id(p.get()), 7);
  EXPECT_EQ(ldns_pkt_get_opcode(p.get()), LDNS_PACKET_QUERY);
  EXPECT_FALSE(ldns_pkt_aa(p.get()));
  EXPECT_FALSE(ldns_pkt_qr(p.get()));
  EXPECT_FALSE(ldns_pkt_rd(p.get()));
  EXPECT_EQ(ldns_pkt_qdcount(p.get()), 1);
  EXPECT_EQ(ldns_pkt_ancount(p.get()) + ldns_pkt_nscount(p.get()) +
                ldns_pkt_arcount(p.get()),
            0);
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(p.get()), 0);
  ASSERT_NE(question, nullptr);
  EXPECT_EQ(ldns_rr_get_type(question), LDNS_RR_TYPE_SOA);
  EXPECT_EQ(ldns_rr_get_class(question), LDNS_RR_CLASS_IN);
  char* owner = ldns_rdf2str(ldns_rr_owner(question));
  EXPECT_STREQ(owner, "Example.ORG."); // case preserved
  std::free(owner);
  EXPECT_EQ(q[2], 0x00);
  EXPECT_EQ(q[3], 0x00);
}

TEST(DnsMessage, RootZoneQuery) {
  const bytes q = build(query_kind::soa, 1, wire("."));
  ASSERT_EQ(q.size(), 12u + 1 + 4);
  const pkt_ptr p = ldns_parse(q);
  ASSERT_TRUE(p);
  char* owner = ldns_rdf2str(
      ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p.get()), 0)));
  EXPECT_STREQ(owner, ".");
  std::free(owner);
}

TEST(DnsMessage, BuildQueryCapacity) {
  uint8_t out[max_query_size];
  const size_t need = 12 + zone.size() + 4;
  EXPECT_EQ(build_query(query_kind::soa, 1, zone, out, need - 1), 0u);
  EXPECT_EQ(build_query(query_kind::soa, 1, zone, out, 0), 0u);
  EXPECT_EQ(build_query(query_kind::soa, 1, zone, out, need), need);
  EXPECT_EQ(build_query(query_kind::soa, 1, "", out, sizeof out), 0u);

  // The longest name fills max_query_size exactly.
  const std::string longest =
      wire(std::string(63, 'a') + "." + std::string(63, 'b') + "." +
           std::string(63, 'c') + "." + std::string(61, 'd'));
  ASSERT_EQ(longest.size(), 255u);
  EXPECT_EQ(build_query(query_kind::notify, 1, longest, out, sizeof out),
            max_query_size);
  EXPECT_EQ(build_query(query_kind::notify, 1, longest, out, sizeof out - 1),
            0u);
  EXPECT_EQ(build_query(query_kind::notify, 1, longest + "x", out, 1000), 0u);
}

TEST(DnsMessage, BuiltQueryIsNotAReplyToItself) {
  const bytes q = build(query_kind::notify, 9, zone);
  EXPECT_EQ(check(q, notify_query(zone, 9)).match, reply_match::not_response);
}

TEST(DnsMessage, PeekId) {
  const bytes q = build(query_kind::soa, 0xA55A, zone);
  EXPECT_EQ(peek_id(q.data(), q.size()), 0xA55A);
  EXPECT_EQ(peek_id(q.data(), 12), 0xA55A);
  EXPECT_EQ(peek_id(q.data(), 11), 0);
  EXPECT_EQ(peek_id(q.data(), 2), 0);
  EXPECT_EQ(peek_id(nullptr, 0), 0);
}

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

TEST(DnsMessage, PointerLoopsAreMalformed) {
  // Owner is a pointer to itself.
  msg self = question_msg(soa_ok_flags, 1, zone);
  self.ptr(self.size()).rr(type_soa, class_in, 0);
  soa_rdata_compressed(self, 1);
  EXPECT_EQ(check(self.b, soa_query(zone)).soa, soa_state::malformed);

  // Two pointers to each other, hidden in the RDATA of an unknown type;
  // the SOA owner enters the loop.
  msg pair = question_msg(soa_ok_flags, 2, zone);
  pair.ptr(12).rr(0xFF00, class_in, 4);
  const size_t a = pair.size();
  pair.ptr(a + 2).ptr(a);
  pair.ptr(a).rr(type_soa, class_in, 0);
  soa_rdata_compressed(pair, 1);
  EXPECT_EQ(check(pair.b, soa_query(zone)).soa, soa_state::malformed);

  // A label followed by a pointer back to that label: "a.a.a.a..." forever.
  msg label_loop = question_msg(soa_ok_flags, 2, zone);
  label_loop.ptr(12).rr(0xFF00, class_in, 4);
  const size_t l = label_loop.size();
  label_loop.u8(1).u8('a').ptr(l);
  label_loop.ptr(l).rr(type_soa, class_in, 0);
  soa_rdata_compressed(label_loop, 1);
  EXPECT_EQ(check(label_loop.b, soa_query(zone)).soa, soa_state::malformed);
}

TEST(DnsMessage, ForwardPointersAreMalformed) {
  // The owner points forward to a copy of the zone name placed later.
  msg m = question_msg(soa_ok_flags, 2, zone);
  const size_t owner_at = m.size();
  m.ptr(0).rr(type_soa, class_in, 0);
  soa_rdata_compressed(m, 1);
  m.ptr(12).rr(0xFF00, class_in, zone.size());
  const size_t copy_at = m.size();
  m.name(zone);
  m.set16(owner_at, 0xC000 | copy_at);
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed);
  // Control: the same message with a backward pointer is fine.
  m.set16(owner_at, 0xC000 | 12);
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::found);
}

TEST(DnsMessage, PointerIntoHeaderIsMalformed) {
  msg m = question_msg(soa_ok_flags, 1, zone);
  m.ptr(4).rr(type_soa, class_in, 0);
  soa_rdata_compressed(m, 1);
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed);
}

TEST(DnsMessage, TruncatedPointerIsMalformed) {
  msg m = question_msg(soa_ok_flags, 1, zone);
  m.u8(0xC0);
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed);
}

TEST(DnsMessage, ChainedBackwardPointersAreFollowed) {
  // The question asks for a.a.(20 times).example.com. The RDATA of an
  // unknown type holds "example.com" and then names built up one label at a
  // time, each pointing to the previous one; the SOA owner points to the
  // last, so reading it takes 20 hops.
  std::string text = "example.com";
  for (int i = 0; i < 20; ++i)
    text = "a." + text;
  const std::string deep = wire(text);
  msg m = question_msg(soa_ok_flags, 2, deep);
  m.ptr(12).rr(0xFF00, class_in, 0);
  const size_t rdata = m.size();
  m.name(zone);
  size_t prev = rdata;
  for (int i = 0; i < 20; ++i) {
    const size_t here = m.size();
    m.u8(1).u8('a').ptr(prev);
    prev = here;
  }
  m.set16(rdata - 2, m.size() - rdata);
  m.ptr(prev).rr(type_soa, class_in, 0);
  soa_rdata_compressed(m, 2020);
  const reply_info info = check(m.b, soa_query(deep));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 2020u);
  EXPECT_TRUE(ldns_parse(m.b)); // the oracle reads it too
}

/// A message whose SOA owner is the root name reached through `hops`
/// pointers, each pointing to the one before it.
msg pointer_chain(int hops) {
  msg m = question_msg(soa_ok_flags, 2, std::string(1, '\0'));
  m.ptr(12).rr(0xFF00, class_in, 0);
  const size_t rdata = m.size();
  m.u8(0);
  size_t prev = rdata;
  for (int i = 1; i < hops; ++i) {
    const size_t here = m.size();
    m.ptr(prev);
    prev = here;
  }
  m.set16(rdata - 2, m.size() - rdata);
  m.ptr(prev).rr(type_soa, class_in, 0);
  soa_rdata_compressed(m, 8);
  return m;
}

TEST(DnsMessage, PointerHopLimit) {
  const std::string root(1, '\0');
  const reply_info shallow = check(pointer_chain(100).b, soa_query(root));
  EXPECT_EQ(shallow.soa, soa_state::found);
  EXPECT_EQ(shallow.serial, 8u);
  EXPECT_EQ(check(pointer_chain(127).b, soa_query(root)).soa, soa_state::found);
  EXPECT_EQ(check(pointer_chain(128).b, soa_query(root)).soa,
            soa_state::malformed);
  EXPECT_EQ(check(pointer_chain(1000).b, soa_query(root)).soa,
            soa_state::malformed);
}

TEST(DnsMessage, DecompressedNameOver255IsMalformed) {
  // 5 labels of 63 octets via pointers: 320 octets once decompressed.
  msg m = question_msg(soa_ok_flags, 2, zone);
  m.ptr(12).rr(0xFF00, class_in, 0);
  const size_t rdata = m.size();
  m.u8(0);
  size_t prev = rdata;
  for (int i = 0; i < 5; ++i) {
    const size_t here = m.size();
    m.u8(63).name(std::string(63, 'x')).ptr(prev);
    prev = here;
  }
  m.set16(rdata - 2, m.size() - rdata);
  m.ptr(prev).rr(type_soa, class_in, 0);
  soa_rdata_compressed(m, 1);
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed);
}

TEST(DnsMessage, SoaRdlengthMustBeExact) {
  for (int delta : {-1, 1, -20}) {
    msg m = soa_reply(1);
    const size_t rdlength_at = 12 + zone.size() + 4 + 2 + 8;
    const unsigned rdlength = (m.b[rdlength_at] << 8) | m.b[rdlength_at + 1];
    m.set16(rdlength_at, rdlength + delta);
    if (delta > 0)
      m.u8(0); // the extra byte exists, so only the length is wrong
    EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed) << delta;
  }
}

TEST(DnsMessage, SoaNamesMustStayInsideRdata) {
  // RDLENGTH 3 but MNAME is "ns1" + pointer (6 octets): overruns RDATA even
  // though the datagram has the bytes.
  msg m = question_msg(soa_ok_flags, 1, zone);
  m.ptr(12).rr(type_soa, class_in, 0);
  soa_rdata_compressed(m, 1);
  m.set16(12 + zone.size() + 4 + 2 + 8, 3);
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed);
}

TEST(DnsMessage, UncompressedSoaRdata) {
  const std::string mname = wire("ns1.example.com");
  const std::string rname = wire("hostmaster.example.com");
  msg m = question_msg(soa_ok_flags, 1, zone);
  m.name(zone).rr(type_soa, class_in, mname.size() + rname.size() + 20);
  m.name(mname).name(rname).u32(0xDEADBEEF).u32(1).u32(2).u32(3).u32(4);
  const reply_info info = check(m.b, soa_query(zone));
  EXPECT_EQ(info.soa, soa_state::found);
  EXPECT_EQ(info.serial, 0xDEADBEEFu);
}

TEST(DnsMessage, MalformedRrOfOtherTypeSpoilsTheSection) {
  // An RDLENGTH running past the end, even on a non-SOA record.
  msg m = soa_reply(1);
  m.set16(6, 2);
  m.ptr(12).rr(type_txt, class_in, 50).u8(4).name("text");
  EXPECT_EQ(check(m.b, soa_query(zone)).soa, soa_state::malformed);
}

TEST(DnsMessage, NotifyRepliesDoNotScanAnswers) {
  msg m = soa_reply(1);
  m.set16(2, soa_ok_flags | opcode_notify_bits);
  m.set16(6, 7); // would be malformed if scanned
  const reply_info info = check(m.b, notify_query(zone));
  EXPECT_EQ(info.match, reply_match::accepted);
  EXPECT_EQ(info.soa, soa_state::not_checked);
}

TEST(DnsMessage, RandomMutationsStayConsistent) {
  // A cheap stand-in for the fuzzer: flip bytes and cut lengths of a valid
  // reply. Under sanitizers this finds overreads; here it also checks that
  // the result is internally consistent.
  ldns_reply r;
  r.answer = {"example.com. 3600 IN CNAME x.example.net.",
              soa_rr("example.com.", 4242)};
  r.authority = {"example.com. 3600 IN NS ns1.example.com."};
  const bytes base = r.wire();
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 20000; ++iter) {
    bytes b = base;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k)
      b[rng() % b.size()] = static_cast<uint8_t>(rng());
    b.resize(rng() % (b.size() + 1));
    const reply_info info = check(b, soa_query(zone));
    if (info.match != reply_match::accepted)
      EXPECT_EQ(info.soa, soa_state::not_checked);
    else
      EXPECT_NE(info.soa, soa_state::not_checked);
  }
}

} // namespace
