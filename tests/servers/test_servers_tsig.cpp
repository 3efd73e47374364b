// TSIG (RFC 8945) against real secondaries: NSD, Knot and BIND accept
// NOTIFYs for their zones only when signed with their key, answer signed
// SOA queries with signed answers that minidns checks, and refuse a wrong
// secret (BADSIG) or an unknown key (BADKEY): final, after one query. Each
// server uses another algorithm (hmac-sha512, -sha384, -sha224), so that
// minidns's HMACs meet three implementations.

#include "../support/msgpack_build.hpp"
#include "server_test.hpp"

#include <cstdint>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::server_tests;
using namespace minidns::test;

const std::string secret_a = "bWluaWRucy10c2lnLXRlc3Qtc2VjcmV0LW51bWJlci1vbmU=";
const std::string secret_b = "YW5vdGhlci1zZWNyZXQtdGhlLXNlcnZlcnMta25vdw==";
const std::string secret_c = "YS10aGlyZC1zZWNyZXQtbm8tc2VydmVyLWtub3dz";

struct secondary_key {
  server_kind kind;
  const char* name;
  const char* algorithm;
};

const secondary_key secondary_keys[] = {
    {server_kind::nsd, "nsd-key", "hmac-sha512"},
    {server_kind::knot, "knot-key", "hmac-sha384"},
    {server_kind::bind, "bind-key", "hmac-sha224"},
};

/// minidns's source address here: BIND wants a key from it alone.
const std::string minidns_source = "127.0.0.5";

using TsigServers = ServerTest;

TEST_F(TsigServers, NotifyNeedsTheKeyAndSignedAnswersAreChecked) {
  const std::string zone = "tsig.test.";
  auto& primary = start_primary({{zone, 1}});
  std::vector<dns_server*> secondaries;
  for (const auto& k : secondary_keys) {
    servers::server_config cfg;
    cfg.kind = k.kind;
    cfg.address = "127.0.0.1";
    cfg.secondary_zones = {{zone, 1}};
    cfg.primary_address = primary.address();
    cfg.primary_port = primary.port();
    cfg.allow_notify = {"127.0.0.0/8"}; // and only with the key
    cfg.tsig_keys = {{k.name, k.algorithm, secret_a},
                     {"other-key", "hmac-sha256", secret_b}};
    // BIND answers minidns's SOA queries only when signed.
    if (k.kind == server_kind::bind)
      cfg.queries_need_key_from = {minidns_source};
    secondaries.push_back(&start(std::move(cfg)));
  }
  // minidns knows each server's key, other-key with the wrong secret, and
  // a key no server knows.
  auto keys = dir_.path() / "minidns.keys";
  {
    std::ofstream f(keys);
    for (const auto& k : secondary_keys)
      f << "key \"" << k.name << "\" {\n\talgorithm " << k.algorithm
        << ";\n\tsecret \"" << secret_a << "\";\n};\n";
    f << "key \"other-key\" { algorithm hmac-sha256; secret \"" << secret_c
      << "\"; };\n"
      << "key \"unknown-key\" { algorithm hmac-sha256; secret \"" << secret_a
      << "\"; };\n";
  }
  auto& md = start_minidns({"--minidns.tsig-keys-file=" + keys.string(),
                            "--minidns.source-v4=" + minidns_source});
  it::pool_manager pm(md.endpoint());
  primary.set_serial(zone, 2);

  auto cast = [&](const std::string& method, const dns_server& s,
                  const std::string& key, uint32_t serial,
                  uint32_t max_retries = 3) {
    fields f;
    f.set("method", mp_str(method))
        .set("context", mp_nil)
        .set("domain",
             mp_map({{"name", mp_str(zone)}, {"serial", mp_int(serial)}}))
        .set("destination", mp_str(s.destination()))
        .set("timeout", mp_f64(cast_timeout))
        .set("retry_interval", mp_f64(cast_retry_interval))
        .set("max_retries", mp_int(max_retries))
        .set("want_status", mp_true);
    if (!key.empty())
      f.set("tsig_key", mp_str(key));
    pm.send(f.encode());
    auto r = pm.receive(milliseconds(20000));
    EXPECT_TRUE(r) << s.describe() << ": no status";
    return r.value_or(messages::reply{});
  };

  for (size_t i = 0; i < secondaries.size(); ++i) {
    auto& s = *secondaries[i];
    const std::string key = secondary_keys[i].name;
    // Unsigned: refused, and the secondary stays at serial 1.
    auto r = cast("notify_zone_changed", s, "", 0);
    EXPECT_EQ(r.status, "ERROR") << s.describe() << ": " << r.detail;
    EXPECT_EQ(r.detail.rfind("rcode ", 0), 0u)
        << s.describe() << ": " << r.detail;
    // Signed with its key: acknowledged, and the zone transfers.
    r = cast("notify_zone_changed", s, key, 0);
    EXPECT_EQ(r.status, "SUCCESS") << s.describe() << ": " << r.detail;
    EXPECT_EQ(r.detail, "acknowledged") << s.describe();
    EXPECT_TRUE(s.wait_serial(zone, 2, milliseconds(10000)))
        << s.describe() << " did not transfer serial 2";
    // A signed poll: the signed answer passes minidns's check.
    r = cast("poll_for_serial_number", s, key, 2);
    EXPECT_EQ(r.status, "SUCCESS") << s.describe() << ": " << r.detail;
    EXPECT_EQ(r.actual_serial, 2u) << s.describe();
    if (s.kind() == server_kind::bind) {
      // Unsigned, BIND refuses it (allow-query { key ...; }).
      r = cast("poll_for_serial_number", s, "", 2, 0);
      EXPECT_EQ(r.status, "ERROR") << s.describe();
      EXPECT_EQ(r.detail, "rcode REFUSED") << s.describe();
    }
  }
  EXPECT_EQ(
      it::metric_value(md.scrape(),
                       "minidns_dns_replies_dropped_total{reason=\"tsig\"}"),
      0);

  // A wrong secret and an unknown key: the server's TSIG error ends the
  // cast at once, with no resend (max_retries 3).
  const double before =
      it::metric_sum(md.scrape(), "minidns_dns_queries_total");
  for (auto* s : secondaries) {
    auto r = cast("poll_for_serial_number", *s, "other-key", 2);
    EXPECT_EQ(r.status, "ERROR") << s->describe();
    // Knot answers BADKEY for a key it has but uses in no ACL.
    EXPECT_EQ(r.detail,
              s->kind() == server_kind::knot ? "tsig BADKEY" : "tsig BADSIG")
        << s->describe();
    r = cast("notify_zone_changed", *s, "unknown-key", 0);
    EXPECT_EQ(r.status, "ERROR") << s->describe();
    EXPECT_EQ(r.detail, "tsig BADKEY") << s->describe();
  }
  EXPECT_TRUE(metric_total_reaches(md, "minidns_dns_queries_total",
                                   before + 2 * secondaries.size()));
  EXPECT_EQ(md.stop(), 0);
}

} // namespace
