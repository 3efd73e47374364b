#pragma once
/// Helpers shared by the tests of net/dns_message.hpp (test_dns_*.cpp):
/// ldns, an implementation independent of ours, to parse queries and build
/// replies, and hand-made messages for what ldns will not build.

#include "net/dns_message.hpp"
#include "net/dns_name.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <memory>
#include <string>
#include <vector>

namespace minidns::test::dns {

using bytes = std::vector<uint8_t>;

inline constexpr uint16_t type_soa = 6;
inline constexpr uint16_t type_a = 1;
inline constexpr uint16_t type_txt = 16;
inline constexpr uint16_t class_in = 1;
inline constexpr uint16_t class_ch = 3;

inline constexpr uint16_t flag_qr = 0x8000;
inline constexpr uint16_t flag_aa = 0x0400;
inline constexpr uint16_t opcode_notify_bits = 4 << 11;

inline std::string wire(const std::string& text) {
  std::string error;
  auto w = net::name_to_wire(text, error);
  EXPECT_TRUE(w) << text << ": " << error;
  return w.value_or(std::string(1, '\0'));
}

// --- ldns helpers ---------------------------------------------------------

struct pkt_deleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using pkt_ptr = std::unique_ptr<ldns_pkt, pkt_deleter>;

inline pkt_ptr ldns_parse(const bytes& b) {
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&p, b.data(), b.size()), LDNS_STATUS_OK);
  return pkt_ptr(p);
}

inline ldns_rr* ldns_rr_from(const std::string& text) {
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

inline std::string soa_rr(const std::string& owner, uint32_t serial,
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

inline constexpr uint16_t reply_id = 0x1234;
inline constexpr uint16_t soa_ok_flags = flag_qr | flag_aa;

/// Header and question "<zone> IN SOA"; the question name is at offset 12.
inline msg question_msg(uint16_t flags, unsigned an,
                        const std::string& zone_wire, uint16_t id = reply_id) {
  msg m;
  m.header(id, flags, 1, an);
  m.name(zone_wire).u16(type_soa).u16(class_in);
  return m;
}

/// Appends SOA RDATA whose MNAME and RNAME are compressed against offset 12.
inline void soa_rdata_compressed(msg& m, uint32_t serial) {
  const size_t rdlength_at = m.size() - 2;
  const size_t start = m.size();
  m.u8(3).name("ns1").ptr(12);
  m.u8(10).name("hostmaster").ptr(12);
  m.u32(serial).u32(7200).u32(3600).u32(1209600).u32(300);
  m.set16(rdlength_at, m.size() - start);
}

/// A complete, valid SOA reply for example.com with every name compressed.
inline msg soa_reply(uint32_t serial) {
  msg m = question_msg(soa_ok_flags, 1, wire("example.com"));
  m.ptr(12).rr(type_soa, class_in, 0);
  soa_rdata_compressed(m, serial);
  return m;
}

inline net::expected_reply soa_query(const std::string& zone_wire,
                                     uint16_t id = reply_id) {
  // The string_view refers to `zone_wire`, which callers keep alive.
  return net::expected_reply{net::query_kind::soa, id, zone_wire};
}

inline net::expected_reply notify_query(const std::string& zone_wire,
                                        uint16_t id = reply_id) {
  return net::expected_reply{net::query_kind::notify, id, zone_wire};
}

inline net::reply_info check(const bytes& b, const net::expected_reply& q) {
  // An exact-size heap copy, so that sanitizers see any overread.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[b.size() ? b.size() : 1]);
  if (!b.empty())
    std::memcpy(copy.get(), b.data(), b.size());
  return net::check_reply(copy.get(), b.size(), q);
}

inline const std::string zone = wire("example.com");

} // namespace minidns::test::dns
