// Tests of build_query and peek_id (net/dns_message.hpp), with ldns parsing
// what is built.

#include "dns_message_helpers.hpp"

#include <cstdint>
#include <cstdlib>
#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <string>

namespace {

using namespace minidns::net;
using namespace minidns::test::dns;

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

  // The longest name, with the longest SOA hint, fills max_query_size
  // exactly.
  const std::string longest =
      wire(std::string(63, 'a') + "." + std::string(63, 'b') + "." +
           std::string(63, 'c') + "." + std::string(61, 'd'));
  ASSERT_EQ(longest.size(), 255u);
  const std::string hint =
      std::string(4, '\0') + longest + longest + std::string(20, '\0');
  ASSERT_EQ(hint.size(), max_soa_hint);
  EXPECT_EQ(build_query(query_kind::notify, 1, longest, out, sizeof out, hint),
            max_query_size);
  EXPECT_EQ(
      build_query(query_kind::notify, 1, longest, out, sizeof out - 1, hint),
      0u);
  EXPECT_EQ(build_query(query_kind::notify, 1, longest, out, 12 + 255 + 4),
            12 + 255 + 4u);
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

} // namespace

namespace {

// --- NOTIFY with an SOA hint (RFC 1996 section 3.7) ------------------------

/// TTL 300, ns1.example.com. hostmaster.example.com. 2024010101 7200 3600
/// 1209600 600, as messages::cast::soa_hint holds it.
std::string example_hint() {
  auto u32 = [](uint32_t v) {
    std::string s;
    for (int shift = 24; shift >= 0; shift -= 8)
      s += static_cast<char>((v >> shift) & 0xff);
    return s;
  };
  return u32(300) + std::string("\3ns1\7example\3com\0", 17) +
         std::string("\12hostmaster\7example\3com\0", 24) + u32(2024010101) +
         u32(7200) + u32(3600) + u32(1209600) + u32(600);
}

TEST(DnsMessage, NotifyWithSoaHintCarriesItInTheAnswerSection) {
  bytes out(max_query_size);
  auto hint = example_hint();
  const size_t n =
      build_query(query_kind::notify, 7, zone, out.data(), out.size(), hint);
  ASSERT_GT(n, 0u);
  out.resize(n);
  const pkt_ptr p = ldns_parse(out);
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_get_opcode(p.get()), LDNS_PACKET_NOTIFY);
  EXPECT_EQ(ldns_pkt_qdcount(p.get()), 1);
  ASSERT_EQ(ldns_pkt_ancount(p.get()), 1);
  const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0);
  ASSERT_NE(soa, nullptr);
  char* text = ldns_rr2str(soa);
  EXPECT_STREQ(text, "example.com.\t300\tIN\tSOA\tns1.example.com. "
                     "hostmaster.example.com. 2024010101 7200 3600 1209600 "
                     "600\n");
  std::free(text);
}

TEST(DnsMessage, SoaHintIsForNotifiesOnlyAndChecked) {
  bytes out(max_query_size);
  auto hint = example_hint();
  // An SOA query never carries one.
  EXPECT_EQ(build_query(query_kind::soa, 7, zone, out.data(), out.size(), hint),
            12 + zone.size() + 4);
  // Too short to hold two names and five numbers: nothing is built.
  EXPECT_EQ(build_query(query_kind::notify, 7, zone, out.data(), out.size(),
                        hint.substr(0, 20)),
            0u);
  // No room for it: nothing is built.
  EXPECT_EQ(build_query(query_kind::notify, 7, zone, out.data(),
                        12 + zone.size() + 4, hint),
            0u);
}

} // namespace
