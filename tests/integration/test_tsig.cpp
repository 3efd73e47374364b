// TSIG (RFC 8945) seen from outside, against the scripted responder: the
// key file at start (a bad one stops minidns with exit status 2), casts
// that name a key (an unknown one is refused naming tsig_key), the default
// key per destination prefix, and replies to signed queries that are not
// signed: dropped and counted, never a status. The real servers check the
// signatures themselves in tests/servers/test_servers_tsig.cpp.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

run_result run_daemon(std::vector<std::string> args) {
  args.insert(args.begin(),
              {minidns_binary, "--minidns.endpoint=tcp://127.0.0.1:*"});
  return run_program(args, 20000ms);
}

class Tsig : public daemon_test {
protected:
  /// A keys file with one hmac-sha256 key, "pm-key.", as tsig-keygen
  /// writes it.
  std::string keys_file() {
    return write_config("tsig-keys", R"(key "pm-key" {
	algorithm hmac-sha256;
	secret "c2VjcmV0LWtleS1ieXRlcy1mb3ItdGVzdHMtb25seQ==";
};
)");
  }
};

TEST_F(Tsig, ABadKeysFileStopsMinidnsNamingIt) {
  auto bad = write_config("tsig-bad", "key \"k\" { algorithm hmac-sha3; };\n");
  auto res = run_daemon({"--minidns.tsig-keys-file=" + bad});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.tsig-keys-file: " + bad +
                         ": line 1: key 'k.': unknown algorithm"),
            std::string::npos)
      << res.err;
  res = run_daemon({"--minidns.tsig-keys-file=" + keys_file(),
                    "--minidns.tsig-destinations=[\"127.0.0.0/8 other\"]"});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.tsig-destinations: '127.0.0.0/8 other': "
                         "no key 'other' in minidns.tsig-keys-file"),
            std::string::npos)
      << res.err;
}

TEST_F(Tsig, AnUnknownKeyIsRefusedNamingTheField) {
  start({"--minidns.tsig-keys-file=" + keys_file()});
  responder r;
  pm->send(poll_fields(r.destination(), "k.test.")
               .set("tsig_key", mp_str("nosuch"))
               .encode());
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.error, "tsig_key: unknown key 'nosuch'") << got->json();
  EXPECT_EQ(metric("minidns_invalid_casts_total{reason=\"tsig_key\"}"), 1);
  EXPECT_TRUE(barrier(r).empty());
  EXPECT_EQ(r.count_for("k.test."), 0u) << "nothing sent";
}

TEST_F(Tsig, SignedQueriesCarryTheKeyAndUnsignedRepliesAreDropped) {
  // The prefix's default key signs the casts that name none.
  start({"--minidns.tsig-keys-file=" + keys_file(),
         "--minidns.tsig-destinations=[\"127.0.0.1/32 pm-key\"]"});
  responder r; // answers unsigned
  pm->send(poll_fields(r.destination(), "signed.test.")
               .set("timeout", mp_f64(0.3))
               .set("max_retries", mp_int(1))
               .encode());
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "timeout")
      << got->json() << ": an unsigned reply settles nothing";
  auto qs = r.queries_for("signed.test.");
  ASSERT_EQ(qs.size(), 2u);
  for (const auto& q : qs) {
    EXPECT_EQ(q.arcount, 1) << "the TSIG record";
    EXPECT_NE(q.raw.find(std::string("\6pm-key\0\0\xfa\0\xff", 12)),
              std::string::npos)
        << "owned by the key's name, type TSIG, class ANY";
    EXPECT_NE(q.raw.find(std::string("\13hmac-sha256\0", 13)),
              std::string::npos);
  }
  EXPECT_NE(qs[0].raw.substr(qs[0].raw.size() - 40),
            qs[1].raw.substr(qs[1].raw.size() - 40))
      << "each attempt signed afresh";
  EXPECT_TRUE(
      wait_for_metric("minidns_dns_replies_dropped_total{reason=\"tsig\"}", 2));
}

TEST_F(Tsig, ABadlySignedReplyIsDroppedAndCounted) {
  // The responder answers with the query's own TSIG record appended: a
  // TSIG record with the right key name and algorithm, whose MAC is no
  // signature of the reply. A forger without the key can do no better.
  start({"--minidns.tsig-keys-file=" + keys_file()});
  responder r;
  zone_script s;
  s.echo_additional = true;
  s.serial = 5;
  r.script("forged.test.", s);
  pm->send(poll_fields(r.destination(), "forged.test.", 5)
               .set("tsig_key", mp_str("PM-Key."))
               .set("timeout", mp_f64(0.3))
               .encode());
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "timeout") << got->json();
  EXPECT_FALSE(got->r.actual_serial) << "the forged serial was not taken";
  auto qs = r.queries_for("forged.test.");
  ASSERT_EQ(qs.size(), 1u);
  EXPECT_EQ(qs[0].arcount, 1) << "signed";
  EXPECT_TRUE(
      wait_for_metric("minidns_dns_replies_dropped_total{reason=\"tsig\"}", 1));
}

} // namespace
