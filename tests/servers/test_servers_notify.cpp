// minidns's NOTIFYs to real NSD, Knot and BIND (server_test.hpp): what the
// secondaries do with them, and the refusals minidns takes as final.

#include "../support/msgpack_build.hpp"
#include "server_test.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::server_tests;

using Propagation = Topology;

// The primary raises the serial. Without a NOTIFY no secondary learns of
// it within a poll's budget; after minidns's NOTIFY (answered NOERROR) each
// one transfers the zone and the same poll succeeds.
TEST_F(Propagation, NotifyMakesEverySecondaryTransferTheNewSerial) {
  const std::string zone = "prop.test.";
  start_topology(zone, 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());

  primary_->set_serial(zone, 2);

  std::vector<poll_case> polls;
  for (auto* s : secondaries_)
    polls.push_back({zone, 2, s->destination()});

  // Without the NOTIFY: the secondaries keep serving serial 1.
  auto before = run_polls(pm, polls);
  for (size_t i = 0; i < polls.size(); ++i)
    expect_status(before[i], "ERROR", 1, "lower serial",
                  secondaries_[i]->describe() + ", before the NOTIFY");

  for (auto* s : secondaries_)
    pm.send(notify_cast(zone, s->destination()));
  for (auto* s : secondaries_)
    EXPECT_TRUE(
        md.wait_for_line(ack_line(zone, s->destination()), milliseconds(10000)))
        << s->describe() << " did not answer the NOTIFY with NOERROR";

  auto after = run_polls(pm, polls);
  for (size_t i = 0; i < polls.size(); ++i) {
    expect_status(after[i], "SUCCESS", 2, "matched",
                  secondaries_[i]->describe() + ", after the NOTIFY");
    EXPECT_TRUE(secondaries_[i]->wait_serial(zone, 2, milliseconds(1000)))
        << secondaries_[i]->describe() << " does not serve serial 2";
  }
  EXPECT_EQ(md.count_lines("refused"), 0u) << md.log();
}

// A NOTIFY that carries the new SOA in its answer section (RFC 1996
// section 3.7) and asks for its status: every secondary acknowledges it,
// minidns says so in one update_status each, and each transfers the zone.
TEST_F(Propagation, NotifyWithSoaHintIsAcknowledgedAndReportedWhenAsked) {
  using namespace minidns::test;
  const std::string zone = "hint.test.";
  start_topology(zone, 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  primary_->set_serial(zone, 2);

  auto soa = mp_map({{"mname", mp_str("ns1.hint.test.")},
                     {"rname", mp_str("hostmaster.hint.test.")},
                     {"serial", mp_int(2)},
                     {"refresh", mp_int(3600)},
                     {"retry", mp_int(600)},
                     {"expire", mp_int(86400)},
                     {"minimum", mp_int(300)},
                     {"ttl", mp_int(3600)}});
  for (size_t i = 0; i < secondaries_.size(); ++i) {
    fields f;
    f.set("method", mp_str("notify_zone_changed"))
        .set("context", mp_nil)
        .set("domain", mp_map({{"name", mp_str(zone)}, {"soa", soa}}))
        .set("destination", mp_str(secondaries_[i]->destination()))
        .set("timeout", mp_f64(cast_timeout))
        .set("retry_interval", mp_f64(cast_retry_interval))
        .set("max_retries", mp_int(cast_max_retries))
        .set("want_status", mp_true)
        .set("request_id", msgpack_uint(i));
    pm.send(f.encode());
  }
  std::vector<std::optional<messages::reply>> statuses(secondaries_.size());
  for (size_t n = 0; n < secondaries_.size(); ++n) {
    auto r = pm.receive(milliseconds(10000));
    ASSERT_TRUE(r) << "statuses missing";
    for (size_t i = 0; i < secondaries_.size(); ++i)
      if (r->raw_request_id == msgpack_uint(i)) {
        EXPECT_FALSE(statuses[i]) << "two statuses for one NOTIFY";
        statuses[i] = r;
      }
  }
  for (size_t i = 0; i < secondaries_.size(); ++i) {
    expect_status(statuses[i], "SUCCESS", std::nullopt, "acknowledged",
                  secondaries_[i]->describe());
    EXPECT_TRUE(secondaries_[i]->wait_serial(zone, 2, milliseconds(10000)))
        << secondaries_[i]->describe() << " did not transfer serial 2";
    // BIND logs the serial the NOTIFY carried: it read the hint.
    if (secondaries_[i]->kind() == server_kind::bind) {
      EXPECT_NE(secondaries_[i]->log().find(": serial 2"), std::string::npos)
          << secondaries_[i]->log();
    }
  }
}

using Refusals = Topology;

/// Checks that minidns sent `n` queries, each answered, and that no request
/// was left waiting (a refused NOTIFY ends at once); then stops it. With
/// nothing in flight, the counters read are final.
void expect_one_query_each(it::daemon_process& md, uint64_t n) {
  EXPECT_TRUE(metric_reaches(md, "minidns_requests_in_flight", 0));
  EXPECT_TRUE(metric_total_reaches(md, "minidns_dns_queries_total",
                                   static_cast<double>(n)));
  EXPECT_TRUE(metric_total_reaches(md, "minidns_dns_replies_total",
                                   static_cast<double>(n)));
  EXPECT_EQ(md.stop(), 0);
  EXPECT_EQ(md.count_lines("draining: 0 request(s) in flight"), 1u) << md.log();
}

// A NOTIFY for a zone the server does not serve: Knot and BIND answer
// NOTAUTH, NSD NXDOMAIN without a question section. minidns takes each
// answer as final: one query each, a log line, no resend.
TEST_F(Refusals, NotifyForAZoneTheServerDoesNotServe) {
  start_topology("prop.test.", 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  const std::string zone = "nosuch.test.";

  std::vector<dns_server*> targets{primary_};
  targets.insert(targets.end(), secondaries_.begin(), secondaries_.end());
  for (auto* s : targets)
    pm.send(notify_cast(zone, s->destination()));

  for (auto* s : targets) {
    const bool nsd = s->kind() == server_kind::nsd;
    const std::string rcode = nsd ? "NXDOMAIN" : "NOTAUTH";
    EXPECT_TRUE(md.wait_for_line(refusal_line(zone, s->destination(), rcode),
                                 milliseconds(10000)))
        << s->describe() << ": expected " << rcode;
    // The server's own answer, seen without minidns.
    auto a =
        servers::query(s->address(), s->port(), zone, true, milliseconds(2000));
    ASSERT_TRUE(a.has_value()) << s->describe();
    EXPECT_EQ(a->rcode, nsd ? 3 : 9) << s->describe();
    EXPECT_EQ(a->has_question, !nsd) << s->describe();
  }
  expect_one_query_each(md, targets.size());
}

// A NOTIFY from an address the secondary does not allow (minidns sourcing
// from 127.0.0.2): BIND and NSD answer REFUSED, Knot NOTAUTH; NSD as the
// zone's primary refuses NOTIFYs from anyone. The same NOTIFYs from the
// allowed address are acknowledged, so the address is what they refuse.
TEST_F(Refusals, NotifyFromAnAddressTheServerDoesNotAllow) {
  const std::string zone = "prop.test.";
  start_topology(zone, 1);
  auto& refused = start_minidns({"--minidns.source-v4=" + other_source});
  auto& allowed = start_minidns();
  it::pool_manager refused_pm(refused.endpoint());
  it::pool_manager allowed_pm(allowed.endpoint());

  std::vector<dns_server*> targets{primary_};
  targets.insert(targets.end(), secondaries_.begin(), secondaries_.end());
  for (auto* s : targets) {
    refused_pm.send(notify_cast(zone, s->destination()));
    allowed_pm.send(notify_cast(zone, s->destination()));
  }

  for (auto* s : targets) {
    const bool knot = s->kind() == server_kind::knot;
    const std::string rcode = knot ? "NOTAUTH" : "REFUSED";
    EXPECT_TRUE(refused.wait_for_line(
        refusal_line(zone, s->destination(), rcode), milliseconds(10000)))
        << s->describe() << ": expected " << rcode << " for " << other_source;
    if (s == primary_)
      EXPECT_TRUE(allowed.wait_for_line(
          refusal_line(zone, s->destination(), "REFUSED"), milliseconds(10000)))
          << s->describe() << ": a primary refuses NOTIFYs";
    else
      EXPECT_TRUE(allowed.wait_for_line(ack_line(zone, s->destination()),
                                        milliseconds(10000)))
          << s->describe() << ": NOTIFY from " << allowed_source
          << " not acknowledged";
  }
  expect_one_query_each(refused, targets.size());
}

} // namespace
