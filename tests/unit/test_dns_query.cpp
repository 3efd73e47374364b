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

} // namespace
