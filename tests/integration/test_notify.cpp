// Integration tests of notify_zone_changed: the NOTIFY (RFC 1996) on the
// wire, which answers end it and which are retried up to the budget.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

class Notify : public daemon_test {};

TEST_F(Notify, QueryOnTheWire) {
  start();
  responder r;
  pm->send(notify_cast("Notify.Example.", r.destination(), 1.0));
  ASSERT_TRUE(r.wait_for_count("notify.example.", 1, reply_wait));
  auto q = r.queries_for("notify.example.").at(0);
  EXPECT_EQ(q.opcode, 4);
  EXPECT_TRUE(q.aa);
  EXPECT_FALSE(q.qr);
  EXPECT_FALSE(q.rd);
  EXPECT_FALSE(q.tc);
  EXPECT_EQ(q.rcode, 0);
  EXPECT_EQ(q.qdcount, 1);
  EXPECT_EQ(q.ancount, 0);
  EXPECT_EQ(q.nscount, 0);
  EXPECT_EQ(q.arcount, 0);
  EXPECT_EQ(q.qname, "Notify.Example.") << "case must be kept";
  EXPECT_EQ(q.qtype, 6);  // SOA
  EXPECT_EQ(q.qclass, 1); // IN
  EXPECT_TRUE(barrier(r).empty()) << "a notify gets no reply";
}

TEST_F(Notify, NoerrorEndsItAfterOneQuery) {
  start({"--minidns.log-level=debug"});
  responder r;
  // A budget of 4 attempts, 200 ms apart: a wrong resend would be seen
  // within the 500 ms quiet period below.
  pm->send(notify_cast("ok.test.", r.destination(), 0.2, 0, 3));
  ASSERT_TRUE(r.wait_for_count("ok.test.", 1, reply_wait));
  auto others = quiet_period(r, 0.5);
  EXPECT_TRUE(others.empty()) << "a notify gets no reply: " << summary(others);
  EXPECT_EQ(r.count_for("ok.test."), 1u) << summary(r.queries_for("ok.test."));
  EXPECT_TRUE(mdns->wait_for_line(
      "notify ok.test. -> " + r.destination() + ": acknowledged", reply_wait))
      << mdns->log();
  EXPECT_EQ(mdns->count_lines("gave up"), 0u) << mdns->log();
}

TEST_F(Notify, RefusalsAreFinal) {
  start();
  responder r;
  struct refusal {
    std::string zone;
    uint8_t rcode;
    const char* name;
    bool strip_question;
  };
  const std::vector<refusal> refusals{
      {"notauth.test.", 9, "NOTAUTH", false},
      {"refused.test.", 5, "REFUSED", false},
      {"nxdomain.test.", 3, "NXDOMAIN", true}, // as NSD answers: no question
      {"notimp.test.", 4, "NOTIMP", false},
      {"formerr.test.", 1, "FORMERR", false},
  };
  for (const auto& f : refusals) {
    zone_script s;
    s.rcode = f.rcode;
    s.strip_question = f.strip_question;
    r.script(f.zone, s);
    pm->send(notify_cast(f.zone, r.destination(), 0.2, 0, 3));
  }
  for (const auto& f : refusals) {
    std::string line;
    EXPECT_TRUE(mdns->wait_for_line("notify " + f.zone + " -> " +
                                        r.destination() + ": refused with " +
                                        f.name,
                                    reply_wait, &line))
        << f.name << " not logged as a refusal";
  }
  // Four attempts of 200 ms were allowed: a resend would come within
  // 500 ms.
  auto others = quiet_period(r, 0.5);
  EXPECT_TRUE(others.empty()) << summary(others);
  for (const auto& f : refusals)
    EXPECT_EQ(r.count_for(f.zone), 1u) << f.name << " was resent:\n"
                                       << summary(r.queries_for(f.zone));
  EXPECT_EQ(mdns->count_lines("gave up"), 0u) << mdns->log();
}

TEST_F(Notify, ServfailAndOtherRcodesAreRetriedUpToTheBudget) {
  start();
  responder r;
  zone_script servfail;
  servfail.rcode = 2;
  r.script("servfail.test.", servfail);
  zone_script notzone;
  notzone.rcode = 10;
  r.script("notzone.test.", notzone);
  pm->send(notify_cast("servfail.test.", r.destination(), 0.5, 0.01, 2));
  pm->send(notify_cast("notzone.test.", r.destination(), 0.5, 0.01, 2));
  EXPECT_TRUE(
      mdns->wait_for_line("notify servfail.test. -> " + r.destination() +
                              ": gave up after 3 attempt(s): rcode SERVFAIL",
                          reply_wait))
      << mdns->log();
  EXPECT_TRUE(
      mdns->wait_for_line("notify notzone.test. -> " + r.destination() +
                              ": gave up after 3 attempt(s): rcode NOTZONE",
                          reply_wait))
      << mdns->log();
  auto others = barrier(r);
  EXPECT_TRUE(others.empty()) << summary(others);
  EXPECT_EQ(r.count_for("servfail.test."), 3u)
      << summary(r.queries_for("servfail.test."));
  EXPECT_EQ(r.count_for("notzone.test."), 3u)
      << summary(r.queries_for("notzone.test."));
}

TEST_F(Notify, SilenceIsRetriedUpToTheBudget) {
  start();
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("silent.test.", silent);
  pm->send(notify_cast("silent.test.", r.destination(), 0.05, 0.01, 3));
  EXPECT_TRUE(mdns->wait_for_line("notify silent.test. -> " + r.destination() +
                                      ": gave up after 4 attempt(s): timeout",
                                  reply_wait))
      << mdns->log();
  auto others = barrier(r);
  EXPECT_TRUE(others.empty()) << summary(others);
  EXPECT_EQ(r.count_for("silent.test."), 4u)
      << summary(r.queries_for("silent.test."));
}

TEST_F(Notify, ZeroRetriesSendsOnce) {
  start();
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("once.test.", silent);
  pm->send(notify_cast("once.test.", r.destination(), 0.05, 0, 0));
  EXPECT_TRUE(mdns->wait_for_line("once.test. -> " + r.destination() +
                                      ": gave up after 1 attempt(s)",
                                  reply_wait))
      << mdns->log();
  barrier(r);
  EXPECT_EQ(r.count_for("once.test."), 1u);
}

TEST_F(Notify, SerialIsIgnoredEvenWithTheWrongType) {
  start();
  responder r;
  auto f = notify_fields(r.destination(), "anyserial.test.");
  f.set("domain", mp_map({{"name", mp_str("anyserial.test.")},
                          {"serial", mp_str("not a number")}}));
  pm->send(f.encode());
  ASSERT_TRUE(r.wait_for_count("anyserial.test.", 1, reply_wait));
  EXPECT_EQ(r.queries_for("anyserial.test.").at(0).opcode, 4);
  auto others = barrier(r);
  EXPECT_TRUE(others.empty()) << summary(others);
}

TEST_F(Notify, FreshRandomIdPerAttempt) {
  // One socket: every attempt leaves from the same port, so only the ID
  // tells the attempts apart.
  start({"--minidns.udp-sockets=1"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("ids.test.", silent);
  pm->send(notify_cast("ids.test.", r.destination(), 0.03, 0, 5));
  ASSERT_TRUE(r.wait_for_count("ids.test.", 6, reply_wait));
  auto qs = r.queries_for("ids.test.");
  std::set<uint16_t> ids;
  for (const auto& q : qs)
    ids.insert(q.id);
  EXPECT_EQ(ids.size(), qs.size()) << "an ID was reused:\n" << summary(qs);
  bool sequential = true;
  for (size_t i = 1; i < qs.size(); ++i)
    sequential &= qs[i].id == static_cast<uint16_t>(qs[i - 1].id + 1);
  EXPECT_FALSE(sequential) << "IDs are predictable:\n" << summary(qs);
  for (const auto& q : qs)
    EXPECT_EQ(q.source_port, qs[0].source_port);
}

} // namespace

namespace {

TEST_F(Notify, WantStatusGetsExactlyOneStatus) {
  start();
  responder r;
  zone_script refused;
  refused.notify_rcode = 5;
  r.script("refused.test.", refused);
  zone_script silent;
  silent.silent = true;
  r.script("silent.test.", silent);
  auto cast = [&](const std::string& zone, const std::string& id) {
    return notify_fields(r.destination(), zone)
        .set("want_status", mp_true)
        .set("timeout", mp_f64(0.2))
        .set("max_retries", mp_int(1))
        .set("request_id", mp_str(id))
        .encode();
  };
  pm->send(cast("ok.test.", "ok"));
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "update_status") << got->json();
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.detail, "acknowledged") << got->json();
  EXPECT_FALSE(got->r.actual_serial) << got->json();
  EXPECT_EQ(got->r.raw_request_id, mp_str("ok"));

  pm->send(cast("refused.test.", "refused"));
  got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "rcode REFUSED") << got->json();

  pm->send(cast("silent.test.", "silent"));
  got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "timeout") << got->json();
  EXPECT_EQ(r.count_for("silent.test."), 2u) << "the whole budget";
  EXPECT_TRUE(barrier(r).empty()) << "one status each, no more";
}

TEST_F(Notify, SoaHintGoesInTheAnswerSection) {
  start();
  responder r;
  auto soa = mp_map({{"mname", mp_str("ns1.hint.test.")},
                     {"rname", mp_str("admin.hint.test.")},
                     {"serial", mp_int(42)},
                     {"refresh", mp_int(3600)},
                     {"retry", mp_int(600)},
                     {"expire", mp_int(86400)},
                     {"minimum", mp_int(300)},
                     {"ttl", mp_int(900)}});
  pm->send(
      notify_fields(r.destination(), "hint.test.")
          .set("domain", mp_map({{"name", mp_str("hint.test.")}, {"soa", soa}}))
          .encode());
  ASSERT_TRUE(r.wait_for_count("hint.test.", 1, reply_wait));
  auto q = r.queries_for("hint.test.").at(0);
  EXPECT_EQ(q.opcode, 4);
  EXPECT_EQ(q.ancount, 1);
  // After the header and the question: the record, owned by the zone's
  // name (a pointer to it), SOA IN, TTL 900, and its RDATA.
  auto u32 = [](uint32_t v) {
    std::string s;
    for (int shift = 24; shift >= 0; shift -= 8)
      s += static_cast<char>((v >> shift) & 0xff);
    return s;
  };
  const std::string rdata = std::string("\3ns1\4hint\4test\0", 15) +
                            std::string("\5admin\4hint\4test\0", 17) + u32(42) +
                            u32(3600) + u32(600) + u32(86400) + u32(300);
  const std::string record = std::string("\xc0\x0c\0\6\0\1", 6) + u32(900) +
                             static_cast<char>(0) +
                             static_cast<char>(rdata.size()) + rdata;
  const size_t question = 12 + 11 + 4;
  ASSERT_EQ(q.raw.size(), question + record.size());
  EXPECT_EQ(q.raw.substr(question), record);
  EXPECT_TRUE(barrier(r).empty()) << "without want_status: no reply";
}

} // namespace

namespace {

TEST_F(Notify, IdenticalNotifiesCoalesce) {
  // The server answers after 300 ms: while the first NOTIFY waits for its
  // answer, nine identical casts arrive. The first of them waits to follow
  // it, the other eight are merged into that one: two NOTIFYs in all.
  start();
  responder r;
  zone_script slow;
  slow.delay = 300ms;
  r.script("co.test.", slow);
  auto cast = [&](const std::string& zone, const std::string& id) {
    return notify_fields(r.destination(), zone)
        .set("want_status", mp_true)
        .set("timeout", mp_f64(2.0))
        .set("request_id", mp_str(id))
        .encode();
  };
  for (int i = 0; i < 10; ++i)
    pm->send(cast(i % 2 ? "CO.test." : "co.test.", "n" + std::to_string(i)));
  // A NOTIFY for another zone is its own stream.
  pm->send(cast("other.test.", "other"));
  std::set<std::string> ids;
  for (int i = 0; i < 11; ++i) {
    auto got = receive(*pm, 5000ms);
    ASSERT_TRUE(got) << "only " << i << " statuses";
    EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
    EXPECT_EQ(got->r.detail, "acknowledged") << got->json();
    EXPECT_TRUE(ids.insert(got->r.raw_request_id).second)
        << "twice: " << got->json();
  }
  EXPECT_TRUE(barrier(r).empty()) << "one status each";
  EXPECT_EQ(r.count_for("co.test."), 2u) << summary(r.queries_for("co.test."));
  EXPECT_EQ(r.count_for("other.test."), 1u);
  EXPECT_EQ(metric("minidns_notifies_coalesced_total{how=\"deferred\"}"), 1);
  EXPECT_EQ(metric("minidns_notifies_coalesced_total{how=\"merged\"}"), 8);
  // The follow-up left after the first NOTIFY's answer came back.
  auto qs = r.queries_for("co.test.");
  EXPECT_GE(qs[1].when - qs[0].when, 300ms);
}

} // namespace
