// Tests of TSIG (net/tsig.hpp): requests signed here are checked by ldns,
// replies signed by ldns are checked here (ldns is an implementation
// independent of ours), on the clock the test passes in.

#include "dns_message_helpers.hpp"
#include "net/tsig.hpp"

#include <ctime>
#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <string>

namespace {

using namespace minidns::net;
using namespace minidns::test::dns;

const std::string secret_b64 = "c2VjcmV0LWtleS1ieXRlcy1mb3ItdGVzdHMtb25seQ==";

tsig_key make_key(tsig_algorithm a = tsig_algorithm::hmac_sha256,
                  const std::string& name = "pm-key.example.") {
  tsig_key k;
  k.name = name;
  k.name_wire = wire(name);
  k.algorithm = a;
  k.secret = decode_base64(secret_b64).value();
  return k;
}

/// A signed SOA query for example.com.; `mac` gets its MAC.
bytes signed_query(const tsig_key& key, uint64_t now, std::string& mac) {
  bytes out(max_query_size + max_tsig_size);
  size_t n = build_query(query_kind::soa, 0x1234, wire("example.com."),
                         out.data(), out.size());
  n = tsig_sign(out.data(), n, out.size(), key, now, mac);
  EXPECT_GT(n, 0u);
  out.resize(n);
  return out;
}

/// ldns's name of an algorithm, as ldns_pkt_tsig_sign takes it.
const char* ldns_alg(tsig_algorithm a) {
  switch (a) {
  case tsig_algorithm::hmac_md5:
    return "hmac-md5.sig-alg.reg.int.";
  case tsig_algorithm::hmac_sha1:
    return "hmac-sha1.";
  case tsig_algorithm::hmac_sha512:
    return "hmac-sha512.";
  default:
    return "hmac-sha256.";
  }
}

/// The reply to `query` (signed with `key`), signed by ldns over the
/// query's MAC: QR and AA set, and `tamper` applied to its wire form.
bytes ldns_signed_reply(const bytes& query, const tsig_key& key,
                        uint8_t rcode = 0) {
  pkt_ptr q = ldns_parse(query);
  ldns_rr* query_tsig = ldns_pkt_tsig(q.get());
  ldns_rdf* query_mac = ldns_rdf_clone(ldns_rr_rdf(query_tsig, 3));
  ldns_pkt_set_tsig(q.get(), nullptr); // the reply starts unsigned
  ldns_rr_free(query_tsig);
  ldns_pkt_set_arcount(q.get(), 0);
  ldns_pkt_set_qr(q.get(), true);
  ldns_pkt_set_aa(q.get(), true);
  ldns_pkt_set_rcode(q.get(), rcode);
  EXPECT_EQ(ldns_pkt_tsig_sign(q.get(), key.name.c_str(), secret_b64.c_str(),
                               300, ldns_alg(key.algorithm), query_mac),
            LDNS_STATUS_OK);
  ldns_rdf_deep_free(query_mac);
  uint8_t* w = nullptr;
  size_t n = 0;
  EXPECT_EQ(ldns_pkt2wire(&w, q.get(), &n), LDNS_STATUS_OK);
  bytes out(w, w + n);
  std::free(w);
  return out;
}

uint64_t wall_clock() {
  return static_cast<uint64_t>(std::time(nullptr));
}

TEST(Tsig, Base64) {
  EXPECT_EQ(decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVsbG8"), "hello") << "padding is optional";
  EXPECT_EQ(decode_base64("aGVs\n bG8="), "hello") << "whitespace skipped";
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_FALSE(decode_base64("aGVsbG8*"));
  EXPECT_FALSE(decode_base64("aG=VsbG8")) << "data after padding";
  EXPECT_FALSE(decode_base64("aGVsbG9")) << "stray bits";
}

TEST(Tsig, AlgorithmsByName) {
  EXPECT_EQ(parse_tsig_algorithm("hmac-sha256"), tsig_algorithm::hmac_sha256);
  EXPECT_EQ(parse_tsig_algorithm("HMAC-SHA384."), tsig_algorithm::hmac_sha384);
  EXPECT_EQ(parse_tsig_algorithm("hmac-md5"), tsig_algorithm::hmac_md5);
  EXPECT_EQ(parse_tsig_algorithm("hmac-md5.sig-alg.reg.int"),
            tsig_algorithm::hmac_md5);
  EXPECT_FALSE(parse_tsig_algorithm("hmac-sha3"));
  EXPECT_EQ(tsig_algorithm_text(tsig_algorithm::hmac_sha224), "hmac-sha224");
}

TEST(Tsig, LdnsAcceptsTheSignedQuery) {
  for (auto a : {tsig_algorithm::hmac_md5, tsig_algorithm::hmac_sha1,
                 tsig_algorithm::hmac_sha256, tsig_algorithm::hmac_sha512}) {
    SCOPED_TRACE(ldns_alg(a));
    auto key = make_key(a);
    std::string mac;
    auto q = signed_query(key, wall_clock(), mac);
    pkt_ptr p = ldns_parse(q);
    ASSERT_TRUE(p);
    EXPECT_EQ(ldns_pkt_arcount(p.get()), 0) << "the TSIG is not counted";
    ASSERT_NE(ldns_pkt_tsig(p.get()), nullptr);
    EXPECT_TRUE(ldns_pkt_tsig_verify(p.get(), q.data(), q.size(),
                                     key.name.c_str(), secret_b64.c_str(),
                                     nullptr));
    // Another secret: ldns says no.
    EXPECT_FALSE(ldns_pkt_tsig_verify(p.get(), q.data(), q.size(),
                                      key.name.c_str(), "b3RoZXI=", nullptr));
  }
}

TEST(Tsig, MacLengthsAndDeterminism) {
  const std::pair<tsig_algorithm, size_t> lengths[] = {
      {tsig_algorithm::hmac_md5, 16},    {tsig_algorithm::hmac_sha1, 20},
      {tsig_algorithm::hmac_sha224, 28}, {tsig_algorithm::hmac_sha256, 32},
      {tsig_algorithm::hmac_sha384, 48}, {tsig_algorithm::hmac_sha512, 64}};
  for (auto [a, len] : lengths) {
    std::string mac1, mac2;
    auto q1 = signed_query(make_key(a), 1000, mac1);
    auto q2 = signed_query(make_key(a), 1000, mac2);
    EXPECT_EQ(mac1.size(), len);
    EXPECT_EQ(mac1, mac2) << "the same message, key and time";
    std::string mac3;
    signed_query(make_key(a), 1001, mac3);
    EXPECT_NE(mac1, mac3) << "the time is signed";
  }
}

TEST(Tsig, ReplySignedByLdnsIsAccepted) {
  for (auto a : {tsig_algorithm::hmac_sha1, tsig_algorithm::hmac_sha256,
                 tsig_algorithm::hmac_sha512}) {
    SCOPED_TRACE(ldns_alg(a));
    auto key = make_key(a);
    std::string mac;
    auto now = wall_clock();
    auto q = signed_query(key, now, mac);
    auto r = ldns_signed_reply(q, key);
    auto check = tsig_verify(r.data(), r.size(), key, mac, now);
    EXPECT_EQ(check.status, tsig_status::ok);
    // Over another request's MAC: not this query's reply.
    std::string other_mac = mac;
    other_mac[0] = static_cast<char>(other_mac[0] ^ 1);
    EXPECT_EQ(tsig_verify(r.data(), r.size(), key, other_mac, now).status,
              tsig_status::bad_mac);
  }
}

TEST(Tsig, TheTimeWindowIsTheFudge) {
  auto key = make_key();
  std::string mac;
  auto now = wall_clock();
  auto q = signed_query(key, now, mac);
  auto r = ldns_signed_reply(q, key);
  // ldns signed at about `now`, fudge 300 (a second may have ticked).
  EXPECT_EQ(tsig_verify(r.data(), r.size(), key, mac, now + 290).status,
            tsig_status::ok);
  EXPECT_EQ(tsig_verify(r.data(), r.size(), key, mac, now - 290).status,
            tsig_status::ok);
  EXPECT_EQ(tsig_verify(r.data(), r.size(), key, mac, now + 310).status,
            tsig_status::bad_time);
  EXPECT_EQ(tsig_verify(r.data(), r.size(), key, mac, now - 310).status,
            tsig_status::bad_time);
}

TEST(Tsig, TamperingWrongKeysAndUnsignedReplies) {
  auto key = make_key();
  std::string mac;
  auto now = wall_clock();
  auto q = signed_query(key, now, mac);
  auto r = ldns_signed_reply(q, key);
  auto tampered = r;
  tampered[3] ^= 0x01; // an RCODE bit
  EXPECT_EQ(tsig_verify(tampered.data(), tampered.size(), key, mac, now).status,
            tsig_status::bad_mac);
  auto other_name = make_key(tsig_algorithm::hmac_sha256, "other.example.");
  EXPECT_EQ(tsig_verify(r.data(), r.size(), other_name, mac, now).status,
            tsig_status::wrong_key);
  auto other_alg = make_key(tsig_algorithm::hmac_sha512);
  EXPECT_EQ(tsig_verify(r.data(), r.size(), other_alg, mac, now).status,
            tsig_status::wrong_key);
  auto other_secret = key;
  other_secret.secret = "another secret";
  EXPECT_EQ(tsig_verify(r.data(), r.size(), other_secret, mac, now).status,
            tsig_status::bad_mac);
  // The reply without its TSIG record.
  bytes plain = q;
  plain.resize(12 + 13 + 4);
  plain[2] |= 0x80;
  plain[10] = plain[11] = 0;
  EXPECT_EQ(tsig_verify(plain.data(), plain.size(), key, mac, now).status,
            tsig_status::missing);
  // Cut anywhere inside the TSIG record: malformed, never a read past it.
  for (size_t n = plain.size() + 1; n < r.size(); ++n)
    EXPECT_EQ(tsig_verify(r.data(), n, key, mac, now).status,
              tsig_status::malformed)
        << n;
}

TEST(Tsig, UnsignedErrorRepliesReportTheError) {
  auto key = make_key();
  std::string mac;
  auto q = signed_query(key, 1000, mac);
  // NOTAUTH with a TSIG record that carries BADSIG and no MAC, as BIND
  // answers a query signed with the wrong secret.
  bytes r(q.begin(), q.begin() + 12 + 13 + 4);
  r[2] = 0x84;
  r[3] = 9; // NOTAUTH
  r[10] = 0;
  r[11] = 1;
  auto append = [&r](const std::string& s) {
    r.insert(r.end(), s.begin(), s.end());
  };
  append(key.name_wire);
  append(std::string("\0\xfa\0\xff\0\0\0\0", 8));
  const std::string alg = wire("hmac-sha256.");
  const std::string rdata = alg + std::string("\0\0\0\0\x03\xe8\x01\x2c", 8) +
                            std::string("\0\0", 2) +     // MAC size 0
                            std::string("\x12\x34", 2) + // original ID
                            std::string("\0\x10", 2) +   // BADSIG
                            std::string("\0\0", 2);
  append(std::string(1, '\0') + static_cast<char>(rdata.size()));
  append(rdata);
  auto check = tsig_verify(r.data(), r.size(), key, mac, 1000);
  EXPECT_EQ(check.status, tsig_status::server_error);
  EXPECT_EQ(check.error, 16);
  EXPECT_EQ(tsig_error_name(check.error), "BADSIG");
  EXPECT_EQ(tsig_error_name(17), "BADKEY");
  EXPECT_EQ(tsig_error_name(18), "BADTIME");
}

TEST(Tsig, ATsigRecordThatIsNotLastIsMalformed) {
  auto key = make_key();
  std::string mac;
  auto now = wall_clock();
  auto q = signed_query(key, now, mac);
  auto r = ldns_signed_reply(q, key);
  // Append an A record after the TSIG record and count it.
  const std::string a("\xc0\x0c\0\1\0\1\0\0\0\0\0\4\1\2\3\4", 16);
  r.insert(r.end(), a.begin(), a.end());
  r[11] = static_cast<uint8_t>(r[11] + 1);
  EXPECT_EQ(tsig_verify(r.data(), r.size(), key, mac, now).status,
            tsig_status::malformed);
}

TEST(Tsig, SigningNeedsRoom) {
  auto key = make_key();
  bytes out(max_query_size + max_tsig_size);
  size_t n = build_query(query_kind::soa, 1, wire("example.com."), out.data(),
                         out.size());
  std::string mac;
  EXPECT_EQ(tsig_sign(out.data(), n, n + 10, key, 1, mac), 0u);
  EXPECT_GT(tsig_sign(out.data(), n, out.size(), key, 1, mac), n);
}

} // namespace
