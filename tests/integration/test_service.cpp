// Integration tests: the real minidns daemon (and minidns-ctl) on loopback,
// driven by ZeroMQ DEALERs and answered by a scripted DNS responder. Each
// test exercises one rule of docs/protocol.md (or of the daemon's
// behaviour around it) so that breaking the rule fails the test.
//
// Nothing here sleeps to wait for an event: tests wait for replies, log
// lines or received queries with deadlines. To show that something did NOT
// happen (no resend, no extra reply), a test sends a "barrier" poll after
// the event and waits for its reply: anything minidns would have done
// before it has been seen by then. Only 127.0.0.1 and ::1 get traffic.

#include "fixture.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <limits>
#include <map>
#include <memory>
#include <msgpack.hpp>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

class Service : public daemon_test {};
class Notify : public daemon_test {};
class Poll : public daemon_test {
protected:
  void closed_port_fails_fast(bool ipv6);
};
class Spoof : public daemon_test {};
class Drain : public daemon_test {};
class Config : public daemon_test {};

// ---------------------------------------------------------------------------
// Service: start, stop, several pool managers, load, backpressure.

TEST_F(Service, StartsOnEphemeralPortAndStopsCleanly) {
  start();
  EXPECT_TRUE(starts_with(mdns->endpoint(), "tcp://127.0.0.1:"))
      << mdns->endpoint();
  EXPECT_NE(mdns->endpoint(), "tcp://127.0.0.1:*");
  responder r;
  EXPECT_TRUE(barrier(r).empty());
  EXPECT_EQ(mdns->stop(SIGTERM), 0);
  EXPECT_TRUE(mdns->wait_for_line("minidns stopped", 0ms)) << mdns->log();
}

TEST_F(Service, SigintAlsoDrainsAndExitsZero) {
  start();
  EXPECT_EQ(mdns->stop(SIGINT), 0);
  EXPECT_TRUE(mdns->wait_for_line("minidns stopped", 0ms)) << mdns->log();
}

TEST_F(Service, TwoPoolManagersGetOnlyTheirOwnReplies) {
  start();
  pool_manager other(mdns->endpoint());
  responder r;
  zone_script slow;
  slow.drop_first = 5; // a few replies come late, after a resend
  r.script("a.test.", slow);
  r.script("b.test.", slow);
  constexpr int per_manager = 50;
  for (int i = 0; i < per_manager; ++i) {
    pm->send(poll_cast("a.test.", 1, r.destination(), 0.2, 0, 3,
                       mp_str("A-" + std::to_string(i))));
    other.send(poll_cast("b.test.", 1, r.destination(), 0.2, 0, 3,
                         mp_str("B-" + std::to_string(i))));
  }
  auto collect = [&](pool_manager& p, const std::string& prefix) {
    std::set<std::string> ids;
    for (int i = 0; i < per_manager; ++i) {
      auto got = receive(p);
      ASSERT_TRUE(got) << prefix << ": only " << i << " replies";
      auto id = as_str(got->r.raw_request_id);
      EXPECT_TRUE(starts_with(id, prefix)) << "foreign reply: " << got->json();
      EXPECT_TRUE(ids.insert(id).second) << "duplicate reply: " << got->json();
      EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
    }
  };
  collect(*pm, "A-");
  collect(other, "B-");
  EXPECT_TRUE(barrier(r).empty());
  auto extra = barrier(r, &other);
  EXPECT_TRUE(extra.empty()) << summary(extra);
}

TEST_F(Service, PoolManagerThatLeavesDoesNotDisturbOthers) {
  start();
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("left.test.", silent);
  {
    pool_manager leaver(mdns->endpoint());
    for (int i = 0; i < 10; ++i)
      leaver.send(
          poll_cast("left.test.", 1, r.destination(), 0.1, 0, 0, mp_int(i)));
    ASSERT_TRUE(r.wait_for_count("left.test.", 10, reply_wait));
  } // gone before its replies
  auto got = poll_once(*pm, poll_cast("stay.test.", 1, r.destination(), 1.0, 0,
                                      0, mp_str("stay")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.raw_request_id, mp_str("stay")) << got->json();
  EXPECT_EQ(got->r.status, "SUCCESS");
  // The leaver's replies are dropped (not sent to us) once their polls end.
  auto others = quiet_period(r, 0.2);
  EXPECT_TRUE(others.empty()) << summary(others);
}

/// Sends `total` polls through `slow` whose replies carry a 16 KiB context:
/// more than the socket buffers between minidns and `slow` hold, so that
/// replies pile up in minidns while `slow` does not read. Returns once the
/// responder has answered them all.
void pile_up_replies(pool_manager& slow, responder& r, int total) {
  const std::string context = mp_bin(std::string(16384, 'c'));
  for (int i = 0; i < total; ++i)
    slow.send(poll_cast("pile.test.", 1, r.destination(), 1.0, 0, 3, mp_int(i),
                        context));
  ASSERT_TRUE(
      r.wait_for_count("pile.test.", static_cast<size_t>(total), reply_wait));
}

/// Reads the `total` replies of pile_up_replies(): each exactly once.
void read_piled_replies(pool_manager& slow, int total) {
  std::vector<int> seen(static_cast<size_t>(total), 0);
  for (int i = 0; i < total; ++i) {
    auto got = receive(slow);
    ASSERT_TRUE(got) << "only " << i << " replies";
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, total);
    EXPECT_EQ(++seen[static_cast<size_t>(id)], 1);
    EXPECT_EQ(got->r.status, "SUCCESS");
  }
}

TEST_F(Service, SlowReaderGetsEveryReply) {
  // Tiny high-water marks on both ends and a pool manager that reads
  // nothing until all its polls have been answered: minidns must keep the
  // replies until they can go.
  start({"--minidns.zmq-hwm=4"});
  pool_manager slow(mdns->endpoint(), 4);
  responder r;
  constexpr int total = 2000;
  pile_up_replies(slow, r, total);
  read_piled_replies(slow, total);
  auto extra = barrier(r, &slow);
  EXPECT_TRUE(extra.empty()) << extra.size() << " extra replies";
}

// Replies that cannot be sent at once wait in a queue per pool manager
// (actors/zmq_bridge.cpp, zmq_link::send_reply): a pool manager that stops
// reading (slow, hung, or stuck but still connected) holds up only its own
// replies. Other pool managers keep getting theirs.
TEST_F(Service, SlowPoolManagerDoesNotStallOthers) {
  start({"--minidns.zmq-hwm=4"});
  pool_manager slow(mdns->endpoint(), 4);
  responder r;
  constexpr int total = 2000;
  pile_up_replies(slow, r, total);
  // `slow` still reads nothing; `pm` must be served meanwhile.
  auto others = barrier(r);
  EXPECT_TRUE(others.empty()) << summary(others);
  read_piled_replies(slow, total);
}

TEST_F(Service, TenThousandPollsEachAnsweredExactlyOnce) {
  start();
  responder r;
  zone_script s;
  s.serial = 2024010100;
  r.default_script(s);
  constexpr int total = 10000;
  constexpr int window = 2000;
  constexpr int zones = 100;
  std::vector<int> seen(total, 0);
  int sent = 0, received = 0, successes = 0;
  while (received < total) {
    while (sent < total && sent - received < window) {
      // Half expect the serial the server has, half an older one.
      uint32_t expected = 2024010100 - static_cast<uint32_t>(sent % 2);
      pm->send(poll_cast("z" + std::to_string(sent % zones) + ".bulk.test.",
                         expected, r.destination(), 1.0, 0, 5, mp_int(sent)));
      ++sent;
    }
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "no reply after " << received << " of " << total;
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, total);
    ++seen[static_cast<size_t>(id)];
    EXPECT_EQ(seen[static_cast<size_t>(id)], 1) << "duplicate " << got->json();
    if (got->r.status == "SUCCESS" && got->r.actual_serial == 2024010100u &&
        got->r.detail == (id % 2 == 0 ? "matched" : "newer"))
      ++successes;
    else
      ADD_FAILURE() << got->json();
    ++received;
  }
  EXPECT_EQ(successes, total);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), total);
  auto extra = barrier(r);
  EXPECT_TRUE(extra.empty()) << extra.size() << " extra replies";
}

TEST_F(Service, BackpressureStillAnswersEveryCast) {
  start({"--minidns.max-in-flight=10"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("slow.test.", silent);
  constexpr int total = 100;
  auto t0 = clock_type::now();
  for (int i = 0; i < total; ++i)
    pm->send(
        poll_cast("slow.test.", 1, r.destination(), 0.05, 0, 0, mp_int(i)));
  std::vector<int> seen(total, 0);
  for (int i = 0; i < total; ++i) {
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "only " << i << " replies";
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, total);
    EXPECT_EQ(++seen[static_cast<size_t>(id)], 1) << got->json();
    EXPECT_EQ(got->r.status, "ERROR") << got->json();
    EXPECT_EQ(got->r.detail, "timeout") << got->json();
  }
  // At most 10 at a time, each taking its 50 ms timeout: at least 10
  // rounds. Without the limit all 100 would end after about 50 ms.
  auto elapsed = clock_type::now() - t0;
  EXPECT_GE(elapsed, 450ms);
  auto extra = barrier(r);
  EXPECT_TRUE(extra.empty()) << summary(extra);
  EXPECT_EQ(r.count_for("slow.test."), size_t{total});
}

// ---------------------------------------------------------------------------
// Notify (RFC 1996).

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
  EXPECT_TRUE(mdns->wait_for_line("notify servfail.test. -> " +
                                      r.destination() +
                                      ": gave up after 3 attempt(s): rcode SERVFAIL",
                                  reply_wait))
      << mdns->log();
  EXPECT_TRUE(mdns->wait_for_line("notify notzone.test. -> " + r.destination() +
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

// ---------------------------------------------------------------------------
// Poll (SOA serials, RFC 1982).

TEST_F(Poll, QueryOnTheWire) {
  start();
  responder r;
  zone_script s;
  s.serial = 7;
  r.script("poll.example.", s);
  auto got = poll_once(*pm, poll_cast("Poll.EXAMPLE", 7, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  auto qs = r.queries_for("poll.example.");
  ASSERT_EQ(qs.size(), 1u);
  const auto& q = qs[0];
  EXPECT_EQ(q.opcode, 0);
  EXPECT_EQ(q.flags, 0) << "all flags clear";
  EXPECT_EQ(q.qdcount, 1);
  EXPECT_EQ(q.ancount + q.nscount + q.arcount, 0);
  EXPECT_EQ(q.qname, "Poll.EXAMPLE.") << "case must be kept";
  EXPECT_EQ(q.qtype, 6);
  EXPECT_EQ(q.qclass, 1);
}

TEST_F(Poll, EqualSerialSucceeds) {
  start();
  responder r;
  zone_script s;
  s.serial = 5;
  r.script("eq.test.", s);
  auto got =
      poll_once(*pm, poll_cast("eq.test.", 5, r.destination(), 0.25, 0, 3));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "update_status");
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 5u);
  EXPECT_EQ(got->r.detail, "matched");
  EXPECT_TRUE(got->r.error.empty());
  auto others = quiet_period(r, 0.5);
  EXPECT_TRUE(others.empty()) << summary(others);
  EXPECT_EQ(r.count_for("eq.test."), 1u) << "resent after SUCCESS";
}

TEST_F(Poll, NewerSerialSucceeds) {
  start();
  responder r;
  zone_script s;
  s.serial = 6;
  r.script("newer.test.", s);
  auto got = poll_once(*pm, poll_cast("newer.test.", 5, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 6u);
  EXPECT_EQ(got->r.detail, "newer");
}

TEST_F(Poll, OlderSerialFailsAfterTheBudgetWithTheLastSerialSeen) {
  start();
  responder r;
  zone_script s;
  s.serials = {3, 4, 6};
  r.script("older.test.", s);
  auto got = poll_once(
      *pm, poll_cast("older.test.", 10, r.destination(), 0.5, 0.01, 2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.actual_serial, 6u) << "the last serial seen";
  EXPECT_EQ(got->r.detail, "lower serial");
  barrier(r);
  EXPECT_EQ(r.count_for("older.test."), 3u)
      << summary(r.queries_for("older.test."));
}

TEST_F(Poll, SilenceFailsWithTimeoutAfterTheBudget) {
  start();
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("silent.test.", silent);
  auto got = poll_once(*pm, poll_cast("silent.test.", 1, r.destination(), 0.05,
                                      0, 3, mp_int(7)));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_FALSE(got->r.actual_serial);
  EXPECT_EQ(got->r.detail, "timeout");
  EXPECT_EQ(got->r.raw_request_id, mp_int(7));
  // actual_serial must be present, as nil.
  EXPECT_EQ(reply_keys(got->raw),
            (std::vector<std::string>{"method", "context", "domain",
                                      "destination", "request_id", "status",
                                      "actual_serial", "detail"}));
  barrier(r);
  EXPECT_EQ(r.count_for("silent.test."), 4u)
      << summary(r.queries_for("silent.test."));
}

TEST_F(Poll, RetryWaitsTimeoutThenRetryInterval) {
  start();
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("spaced.test.", silent);
  auto got = poll_once(
      *pm, poll_cast("spaced.test.", 1, r.destination(), 0.05, 0.1, 2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.detail, "timeout");
  auto qs = r.queries_for("spaced.test.");
  ASSERT_EQ(qs.size(), 3u);
  for (size_t i = 1; i < qs.size(); ++i)
    EXPECT_GE(qs[i].wire_time - qs[i - 1].wire_time, 145ms)
        << "attempt " << i + 1 << " came before timeout + retry_interval";
}

TEST_F(Poll, DroppedQueriesThenAnAnswerSucceed) {
  start();
  responder r;
  zone_script s;
  s.drop_first = 2;
  s.serial = 9;
  r.script("drop.test.", s);
  auto got =
      poll_once(*pm, poll_cast("drop.test.", 9, r.destination(), 0.15, 0, 3));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 9u);
  barrier(r);
  EXPECT_EQ(r.count_for("drop.test."), 3u)
      << summary(r.queries_for("drop.test."));
}

TEST_F(Poll, RefusedIsRetriedThenError) {
  start();
  responder r;
  zone_script s;
  s.rcode = 5;
  r.script("refused.test.", s);
  auto got =
      poll_once(*pm, poll_cast("refused.test.", 1, r.destination(), 0.5, 0, 2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.detail, "rcode REFUSED");
  EXPECT_FALSE(got->r.actual_serial);
  barrier(r);
  EXPECT_EQ(r.count_for("refused.test."), 3u);
}

TEST_F(Poll, NxdomainWithoutQuestionIsAFailedAttempt) {
  start();
  responder r;
  zone_script s;
  s.rcode = 3;
  s.strip_question = true;
  r.script("gone.test.", s);
  auto got =
      poll_once(*pm, poll_cast("gone.test.", 1, r.destination(), 0.5, 0, 1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.detail, "rcode NXDOMAIN") << "the answer was not taken";
  barrier(r);
  EXPECT_EQ(r.count_for("gone.test."), 2u);
}

TEST_F(Poll, NotAuthoritativeIsAFailedAttempt) {
  start();
  responder r;
  zone_script s;
  s.aa = false;
  s.serial = 5;
  r.script("noaa.test.", s);
  auto got =
      poll_once(*pm, poll_cast("noaa.test.", 5, r.destination(), 0.5, 0, 1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.detail, "not authoritative");
  barrier(r);
  EXPECT_EQ(r.count_for("noaa.test."), 2u);
}

TEST_F(Poll, TruncatedIsAFailedAttempt) {
  start();
  responder r;
  zone_script s;
  s.tc = true;
  s.serial = 5;
  r.script("tc.test.", s);
  auto got =
      poll_once(*pm, poll_cast("tc.test.", 5, r.destination(), 0.5, 0, 1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.detail, "truncated");
  barrier(r);
  EXPECT_EQ(r.count_for("tc.test."), 2u);
}

TEST_F(Poll, SerialArithmeticWrapsAround) {
  start();
  responder r;
  zone_script five;
  five.serial = 5;
  r.script("wrap.test.", five);
  zone_script top;
  top.serial = 4294967295u;
  r.script("top.test.", top);
  zone_script half;
  half.serial = 2147483648u;
  r.script("half.test.", half);

  auto got =
      poll_once(*pm, poll_cast("wrap.test.", 4294967295u, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << "5 is newer than 4294967295";
  EXPECT_EQ(got->r.actual_serial, 5u);
  EXPECT_EQ(got->r.detail, "newer");

  got = poll_once(*pm, poll_cast("top.test.", 5, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << "4294967295 is older than 5";
  EXPECT_EQ(got->r.actual_serial, 4294967295u);
  EXPECT_EQ(got->r.detail, "lower serial");

  got = poll_once(*pm, poll_cast("half.test.", 0, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << "2^31 apart: undefined";
  EXPECT_EQ(got->r.actual_serial, 2147483648u);
  EXPECT_EQ(got->r.detail, "serial undefined");
}

TEST_F(Poll, EchoesContextDomainDestinationAndRequestIdByteForByte) {
  start();
  responder r;
  zone_script s;
  s.serial = 77;
  r.script("echo.test.", s);
  const std::string context =
      mp_map({{"request_id", mp_str("req-0001")},
              {"user", mp_str8("designate")},
              {"list", mp_array({mp_int(1), mp_f32(2.5f), mp_nil, mp_true,
                                 mp_bin(std::string("\x00\xff", 2)),
                                 "\xd4\x05\x2a" /* fixext1 */})}});
  const std::string dom = mp_map_raw({{mp_str("name"), mp_str("Echo.Test")},
                                      {mp_str("id"), mp_str("6a1b")},
                                      {mp_int(5), mp_str("int key")},
                                      {mp_str("serial"), mp_uint(77)},
                                      {mp_str("ratio"), mp_f32(0.25f)}});
  // IPv4-mapped: used as 127.0.0.1, echoed as written.
  const std::string dest = "[::ffff:127.0.0.1]:" + std::to_string(r.port());
  const std::string rid = mp_str8("rid-1");
  auto f = poll_fields(dest);
  f.set("context", context)
      .set("domain", dom)
      .set("destination", mp_str(dest))
      .set("request_id", rid)
      .set("future_key", mp_str("ignored"));
  auto got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 77u);
  EXPECT_EQ(got->r.raw_context, context);
  EXPECT_EQ(got->r.raw_domain, dom);
  EXPECT_EQ(got->r.raw_destination, mp_str(dest));
  EXPECT_EQ(got->r.raw_request_id, rid);
  EXPECT_EQ(reply_keys(got->raw),
            (std::vector<std::string>{"method", "context", "domain",
                                      "destination", "request_id", "status",
                                      "actual_serial", "detail"}))
      << "unknown keys are not echoed; keys in the documented order";
  auto qs = r.queries_for("echo.test.");
  ASSERT_EQ(qs.size(), 1u);
  EXPECT_EQ(qs[0].qname, "Echo.Test.");
}

TEST_F(Poll, ReplyWithoutRequestIdHasSevenKeys) {
  start();
  responder r;
  auto got = poll_once(*pm, poll_cast("plain.test.", 1, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->r.raw_request_id.empty());
  EXPECT_EQ(
      reply_keys(got->raw),
      (std::vector<std::string>{"method", "context", "domain", "destination",
                                "status", "actual_serial", "detail"}));
  EXPECT_EQ(got->r.raw_context, mp_nil) << "encode_cast sends nil";
}

TEST_F(Poll, Ipv6Destination) {
  if (!responder::ipv6_available())
    GTEST_SKIP() << "::1 cannot be bound here";
  start();
  responder r6(true);
  zone_script s;
  s.serial = 42;
  r6.script("v6.test.", s);
  ASSERT_TRUE(starts_with(r6.destination(), "[::1]:"));
  auto got = poll_once(*pm, poll_cast("v6.test.", 42, r6.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 42u);
  EXPECT_EQ(got->r.raw_destination, mp_str(r6.destination()));
  EXPECT_EQ(r6.count_for("v6.test."), 1u);
}

TEST_F(Poll, BoundaryValuesAreAccepted) {
  start();
  responder r;
  zone_script s;
  s.serial = 4294967295u;
  r.script("bounds.test.", s);
  // The largest values allowed: timeout and retry_interval 3600 s,
  // max_retries 10000, serial 2^32 - 1. Answered at once, so the budget
  // is not used.
  auto f = poll_fields(r.destination(), "bounds.test.", 4294967295u);
  f.set("timeout", mp_int(3600))
      .set("retry_interval", mp_f32(3600.0f))
      .set("max_retries", mp_int(10000));
  auto got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 4294967295u);
  // Ints and float32 are numbers too; a tiny timeout is still valid.
  f = poll_fields(r.destination(), "bounds.test.", 4294967295u);
  f.set("timeout", mp_f32(0.5f)).set("retry_interval", mp_int(0));
  got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  f = poll_fields(r.destination(), "bounds.test.", 4294967295u);
  f.set("timeout", mp_f64(1e-9)).set("retry_interval", mp_f64(1e-9));
  got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_NE(got->r.detail, "invalid cast") << got->json();
  EXPECT_TRUE(got->r.error.empty()) << got->json();
}

TEST_F(Poll, RootZoneAndEscapedNames) {
  start();
  responder r;
  zone_script s;
  s.serial = 3;
  r.script(".", s);
  r.script("a\\.b.test.", s);
  r.script("Abc.test.", s);
  auto got = poll_once(*pm, poll_cast(".", 3, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  ASSERT_EQ(r.count_for("."), 1u);
  EXPECT_EQ(r.queries_for(".").at(0).raw.size(), 12u + 1 + 4)
      << "the root is one zero octet";
  // "a\.b" is one label holding a dot; \065 is 'A'.
  got = poll_once(*pm, poll_cast("a\\.b.test.", 3, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(r.count_for("a\\.b.test."), 1u);
  got = poll_once(*pm, poll_cast("\\065bc.test", 3, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  ASSERT_EQ(r.count_for("abc.test."), 1u);
  EXPECT_EQ(r.queries_for("abc.test.").at(0).qname, "Abc.test.");
}

TEST_F(Poll, Ipv6DisabledIsASendFailure) {
  // No IPv6 sockets: an IPv6 destination cannot be sent to; nothing goes
  // on the wire at all. (CAF takes bool options on the command line as
  // flags only: "--minidns.ipv6=false" is refused, so a file it is.)
  auto path = write_config("no-ipv6", "[minidns]\nipv6 = false\n");
  start({"--config-file=" + path});
  ::unlink(path.c_str());
  auto got = poll_once(*pm, poll_cast("nov6.test.", 1, "[::1]:9", 0.05, 0, 2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "address family not supported") << got->json();
  EXPECT_FALSE(got->r.actual_serial);
}

TEST_F(Poll, NoSoaAndMultipleSoaAreFailedAttempts) {
  start();
  responder r;
  zone_script none;
  none.soa_records = 0;
  r.script("nosoa.test.", none);
  zone_script two;
  two.soa_records = 2;
  r.script("twosoa.test.", two);
  auto got =
      poll_once(*pm, poll_cast("nosoa.test.", 1, r.destination(), 0.5, 0, 1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.detail, "no SOA");
  got =
      poll_once(*pm, poll_cast("twosoa.test.", 1, r.destination(), 0.5, 0, 1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.detail, "multiple SOA");
  barrier(r);
  EXPECT_EQ(r.count_for("nosoa.test."), 2u);
  EXPECT_EQ(r.count_for("twosoa.test."), 2u);
}

TEST_F(Poll, LateAnswerToAnEarlierAttemptCounts) {
  // Every answer comes 150 ms after its query, after the attempt's 50 ms
  // timeout: only answers to earlier attempts, arriving while a later one
  // runs, can end the poll.
  start();
  responder r;
  zone_script s;
  s.serial = 11;
  s.delay = 150ms;
  r.script("late.test.", s);
  auto got =
      poll_once(*pm, poll_cast("late.test.", 11, r.destination(), 0.05, 0, 29));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 11u);
  EXPECT_GE(r.count_for("late.test."), 2u);
  EXPECT_LT(r.count_for("late.test."), 30u);
}

/// Polls a port nobody listens on, with 5 s timeouts and two retries, and
/// checks that ICMP port unreachable ended each attempt early: the ERROR
/// comes long before the 15 s that three timeouts would take, and the
/// daemon counted three ICMP errors.
void Poll::closed_port_fails_fast(bool ipv6) {
  uint16_t closed;
  {
    responder gone(ipv6);
    closed = gone.port();
  } // closed: queries to it get ICMP port unreachable
  auto dest = (ipv6 ? "[::1]:" : "127.0.0.1:") + std::to_string(closed);
  auto t0 = clock_type::now();
  auto got = poll_once(*pm, poll_cast("closed.test.", 1, dest, 5.0, 0, 2));
  auto took = clock_type::now() - t0;
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "port unreachable") << got->json();
  EXPECT_LT(took, 2500ms);
  responder r;
  EXPECT_TRUE(barrier(r).empty());
  auto stopped = stop_and_summary();
  EXPECT_NE(stopped.find("icmp 3 icmp-unmatched 0"), std::string::npos)
      << stopped;
}

TEST_F(Poll, ClosedPortEndsEachAttemptOnIcmp) {
  start();
  closed_port_fails_fast(false);
}

TEST_F(Poll, ClosedIpv6PortEndsEachAttemptOnIcmp) {
  if (!responder::ipv6_available())
    GTEST_SKIP() << "no ::1 on this machine";
  start();
  closed_port_fails_fast(true);
}

TEST_F(Poll, FailureLinesAreRateLimitedAndCounted) {
  // A dead server fails every poll of its zones: 300 ERRORs within about
  // a second log at most 50 lines a second; the next line, in a later
  // second, says how many were held back.
  start();
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  constexpr int n = 300;
  for (int i = 0; i < n; ++i)
    pm->send(poll_cast("dead" + std::to_string(i) + ".test.", 1,
                       r.destination(), 0.05, 0, 0));
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(receive(*pm)) << "only " << i << " replies";
  auto logged = mdns->count_lines("ERROR after");
  EXPECT_GE(logged, 1u);
  EXPECT_LE(logged, 100u); // the 300 may straddle two seconds
  // 1.1 s later, in another second: one more line, with the count of
  // what is still held back (nothing, when the 300 straddled two seconds
  // and the first line of the second one carried the count).
  auto got = poll_once(*pm, poll_cast("last.test.", 1, r.destination(), 1.1));
  ASSERT_TRUE(got);
  std::string line;
  ASSERT_TRUE(mdns->wait_for_line("last.test.", reply_wait, &line));
  // Every ERROR is either logged or counted in a later line.
  size_t held_back = 0;
  std::istringstream log{mdns->log()};
  for (std::string l; std::getline(log, l);)
    if (auto at = l.find(" similar line(s) not logged");
        at != std::string::npos)
      held_back += std::stoul(l.substr(l.rfind('(', at) + 1));
  EXPECT_GE(held_back, size_t{n} - 100) << mdns->log();
  EXPECT_EQ(held_back + logged, size_t{n}) << mdns->log();
}

TEST_F(Poll, SeveralPollsOfOneZoneRunSideBySide) {
  start();
  responder r;
  zone_script s;
  s.serial = 10;
  r.script("same.test.", s);
  // Different expectations for the same zone and server, each its own
  // outcome.
  pm->send(
      poll_cast("same.test.", 10, r.destination(), 1.0, 0, 0, mp_str("eq")));
  pm->send(
      poll_cast("same.test.", 9, r.destination(), 1.0, 0, 0, mp_str("old")));
  pm->send(
      poll_cast("same.test.", 11, r.destination(), 1.0, 0, 0, mp_str("ahead")));
  std::map<std::string, reply_frame> by_id;
  for (int i = 0; i < 3; ++i) {
    auto got = receive(*pm);
    ASSERT_TRUE(got);
    by_id[as_str(got->r.raw_request_id)] = *got;
  }
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id["eq"].r.detail, "matched");
  EXPECT_EQ(by_id["old"].r.detail, "newer");
  EXPECT_EQ(by_id["ahead"].r.status, "ERROR");
  EXPECT_EQ(by_id["ahead"].r.detail, "lower serial");
}

// ---------------------------------------------------------------------------
// Spoofing: replies with a wrong ID or from a wrong port are not answers.

TEST_F(Spoof, ReplyWithWrongIdIsIgnored) {
  start();
  responder r;
  zone_script s;
  s.serial = 7;
  s.spoof_wrong_id = true;
  s.spoof_serial = 9; // taken, it would make the poll succeed with 9
  r.script("id.test.", s);
  auto got = poll_once(*pm, poll_cast("id.test.", 7, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 7u) << "the spoofed answer was taken";
  EXPECT_EQ(got->r.detail, "matched");
}

TEST_F(Spoof, ReplyFromWrongPortIsIgnored) {
  start();
  responder r;
  zone_script s;
  s.serial = 7;
  s.spoof_wrong_port = true;
  s.spoof_serial = 9;
  r.script("port.test.", s);
  auto got = poll_once(*pm, poll_cast("port.test.", 7, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 7u) << "the spoofed answer was taken";
  EXPECT_EQ(got->r.detail, "matched");
}

TEST_F(Spoof, ReplyFromWrongAddressIsIgnored) {
  start();
  responder r;
  if (!r.has_other_address())
    GTEST_SKIP() << "127.0.0.2 cannot be bound here";
  zone_script s;
  s.serial = 7;
  s.spoof_wrong_address = true; // right ID, right port, from 127.0.0.2
  s.spoof_serial = 9;
  r.script("addr.test.", s);
  auto got = poll_once(*pm, poll_cast("addr.test.", 7, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 7u) << "the spoofed answer was taken";
}

TEST_F(Spoof, MalformedRepliesAreIgnored) {
  // Right ID and port, but: another question, QR clear, another opcode.
  start();
  responder r;
  zone_script base;
  base.serial = 7;
  base.spoof_serial = 9;
  zone_script question = base;
  question.spoof_wrong_question = true;
  r.script("question.test.", question);
  zone_script no_qr = base;
  no_qr.spoof_no_qr = true;
  r.script("noqr.test.", no_qr);
  zone_script opcode = base;
  opcode.spoof_wrong_opcode = true;
  r.script("opcode.test.", opcode);
  for (const char* zone : {"question.test.", "noqr.test.", "opcode.test."}) {
    auto got = poll_once(*pm, poll_cast(zone, 7, r.destination()));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->r.status, "SUCCESS") << zone;
    EXPECT_EQ(got->r.actual_serial, 7u)
        << zone << ": the spoofed answer was taken";
  }
}

TEST_F(Spoof, OnlySpoofedRepliesEndInTimeout) {
  start();
  responder r;
  zone_script s;
  s.spoof_wrong_id = true;
  s.spoof_wrong_port = true;
  s.spoof_wrong_address = true;
  s.spoof_wrong_question = true;
  s.spoof_no_qr = true;
  s.spoof_wrong_opcode = true;
  s.spoof_serial = 9;
  s.real_answer = false;
  r.script("spoofonly.test.", s);
  auto got = poll_once(
      *pm, poll_cast("spoofonly.test.", 7, r.destination(), 0.05, 0, 2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_FALSE(got->r.actual_serial) << got->json();
  EXPECT_EQ(got->r.detail, "timeout");
  barrier(r);
  EXPECT_EQ(r.count_for("spoofonly.test."), 3u);
}

TEST_F(Spoof, SpoofedNotifyAcknowledgementIsIgnored) {
  start();
  responder r;
  zone_script s;
  s.spoof_wrong_id = true;
  s.spoof_wrong_port = true;
  s.real_answer = false; // only spoofed NOERRORs
  r.script("spoofnotify.test.", s);
  pm->send(notify_cast("spoofnotify.test.", r.destination(), 0.05, 0, 2));
  EXPECT_TRUE(mdns->wait_for_line("notify spoofnotify.test. -> " +
                                      r.destination() +
                                      ": gave up after 3 attempt(s): timeout",
                                  reply_wait))
      << mdns->log();
  barrier(r);
  EXPECT_EQ(r.count_for("spoofnotify.test."), 3u);
}

// ---------------------------------------------------------------------------
// Bad input: one reply each, naming the field; the daemon keeps serving.

class BadInput : public daemon_test {
protected:
  void SetUp() override {
    start();
    r = std::make_unique<responder>();
  }

  void TearDown() override {
    // Still serving, and no reply came twice.
    if (r) {
      auto extra = barrier(*r);
      EXPECT_TRUE(extra.empty()) << "extra replies:\n" << summary(extra);
      EXPECT_EQ(r->count_for("f.test."), 0u)
          << "an invalid cast was carried out";
    }
    daemon_test::TearDown();
  }

  std::string dest() const { return r->destination(); }

  /// Sends `frame`; expects {"method":"error"} with an error starting with
  /// `prefix` and the given request_id (raw, empty for none).
  void expect_error(const std::string& frame, const std::string& prefix,
                    const std::string& raw_request_id = {}) {
    pm->send(frame);
    check_error(prefix, raw_request_id);
  }

  void check_error(const std::string& prefix,
                   const std::string& raw_request_id = {}) {
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "no reply; expected error " << prefix;
    EXPECT_EQ(got->r.method, "error") << got->json();
    EXPECT_TRUE(starts_with(got->r.error, prefix))
        << "expected '" << prefix << "...', got " << got->json();
    EXPECT_EQ(got->r.raw_request_id, raw_request_id) << got->json();
    EXPECT_TRUE(got->r.status.empty()) << got->json();
  }

  /// Sends the poll `f` (which must have a readable context and domain),
  /// or `frame` instead when given; expects an update_status ERROR "invalid
  /// cast" whose error starts with `prefix`, echoing context, domain,
  /// destination and request_id as in `f`.
  void expect_invalid_poll(const fields& f, const std::string& prefix,
                           const std::optional<std::string>& frame = {}) {
    pm->send(frame ? *frame : f.encode());
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "no reply; expected " << prefix;
    EXPECT_EQ(got->r.method, "update_status") << got->json();
    EXPECT_EQ(got->r.status, "ERROR") << got->json();
    EXPECT_EQ(got->r.detail, "invalid cast") << got->json();
    EXPECT_FALSE(got->r.actual_serial) << got->json();
    EXPECT_TRUE(starts_with(got->r.error, prefix))
        << "expected '" << prefix << "...', got " << got->json();
    std::string context, dom, destination, rid;
    for (const auto& [k, v] : f.entries) {
      if (k == "context")
        context = v;
      else if (k == "domain")
        dom = v;
      else if (k == "destination")
        destination = v;
      else if (k == "request_id")
        rid = v;
    }
    EXPECT_EQ(got->r.raw_context, context) << got->json();
    EXPECT_EQ(got->r.raw_domain, dom) << got->json();
    EXPECT_EQ(got->r.raw_destination,
              destination.empty() ? mp_nil : destination)
        << got->json();
    EXPECT_EQ(got->r.raw_request_id, rid) << got->json();
    std::vector<std::string> keys{"method", "context", "domain", "destination"};
    if (!rid.empty())
      keys.emplace_back("request_id");
    for (const char* k : {"status", "actual_serial", "detail", "error"})
      keys.emplace_back(k);
    EXPECT_EQ(reply_keys(got->raw), keys) << got->json();
  }

  std::unique_ptr<responder> r;
};

TEST_F(BadInput, GarbageBytes) {
  expect_error(std::string("\xc1\xff garbage \x00\x01", 14), "frame");
  expect_error("hello, minidns", "frame");
}

TEST_F(BadInput, EmptyFrame) {
  expect_error("", "frame is empty");
}

TEST_F(BadInput, NotAMap) {
  expect_error(mp_array({mp_str("poll_for_serial_number")}),
               "frame is not a msgpack map");
  expect_error(mp_str("poll_for_serial_number"), "frame is not a msgpack map");
  expect_error(mp_int(5), "frame is not a msgpack map");
  expect_error(mp_nil, "frame is not a msgpack map");
}

TEST_F(BadInput, TruncatedAndTrailingBytes) {
  auto good = poll_fields(dest()).set("request_id", mp_int(3)).encode();
  auto got = std::string(good, 0, good.size() - 3);
  pm->send(got);
  auto reply = receive(*pm);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->r.method, "error") << reply->json();
  EXPECT_NE(reply->r.error.find("truncated msgpack"), std::string::npos)
      << reply->json();
  // Looks like a poll, but bytes follow the map: an error, not a status.
  expect_error(good + std::string(1, '\0'), "trailing bytes after the cast map",
               mp_int(3));
  expect_error(good + good, "trailing bytes after the cast map", mp_int(3));
}

TEST_F(BadInput, KeyNotAStringAndDuplicateKeys) {
  auto f = poll_fields(dest());
  std::vector<kv> raw_entries{{mp_int(3), mp_str("x")}};
  for (const auto& [k, v] : f.entries)
    raw_entries.emplace_back(mp_str(k), v);
  // The poll's context and domain are readable: an update_status.
  expect_invalid_poll(f, "frame: key 1 is not a string",
                      mp_map_raw(raw_entries));
  // Without a method: an error reply.
  expect_error(mp_map_raw({{mp_int(3), mp_str("x")}}),
               "frame: key 1 is not a string");
  expect_invalid_poll(poll_fields(dest()).add("timeout", mp_f64(0.2)),
                      "timeout: duplicate key");
}

TEST_F(BadInput, Limits) {
  // 70,000 bytes: over the 64 KiB frame limit (and under ZeroMQ's 1 MiB).
  auto big =
      poll_fields(dest()).set("context", mp_bin(std::string(70000, 'x')));
  expect_error(big.encode(), "frame too large");
  std::vector<std::string> items(300, mp_int(1));
  auto wide = poll_fields(dest()).set("context", mp_array(items));
  expect_error(wide.encode(), "context: array with 300 entries");
  std::string deep = mp_int(1);
  for (int i = 0; i < 20; ++i)
    deep = mp_array({deep});
  expect_error(poll_fields(dest()).set("context", deep).encode(),
               "context: nested deeper than 16 levels");
  // A declared size far beyond the frame: refused by its header.
  expect_error(poll_fields(dest())
                   .set("context", std::string("\xdd\xff\xff\xff\xff"))
                   .encode(),
               "context:");
}

TEST_F(BadInput, LimitsAreInclusive) {
  // Exactly at each limit: valid (zone limit.test., not f.test.).
  auto at_size = [&](size_t size) {
    auto f = poll_fields(dest(), "limit.test.").set("context", mp_bin(""));
    auto base = f.encode().size();
    // An empty bin is 2 bytes, a bin32 header 5: size the payload so that
    // the frame is `size` bytes in all.
    std::string payload(size - (base - 2) - 5, 'y');
    std::string bin32 = "\xc6";
    for (int shift = 24; shift >= 0; shift -= 8)
      bin32 += static_cast<char>((payload.size() >> shift) & 0xff);
    f.set("context", bin32 + payload);
    return f;
  };
  auto exact = at_size(messages::max_frame_size);
  ASSERT_EQ(exact.encode().size(), messages::max_frame_size);
  auto got = poll_once(*pm, exact.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->r.error;
  auto over = at_size(messages::max_frame_size + 1);
  ASSERT_EQ(over.encode().size(), messages::max_frame_size + 1);
  expect_error(over.encode(), "frame too large");

  std::vector<std::string> items(256, mp_int(1));
  got = poll_once(*pm, poll_fields(dest(), "limit.test.")
                           .set("context", mp_array(items))
                           .encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->r.error;
  items.push_back(mp_int(1));
  expect_error(poll_fields(dest()).set("context", mp_array(items)).encode(),
               "context: array with 257 entries");

  // The cast map is level 1: 15 nested arrays in context make 16 levels.
  std::string deep = mp_int(1);
  for (int i = 0; i < 15; ++i)
    deep = mp_array({deep});
  got = poll_once(
      *pm, poll_fields(dest(), "limit.test.").set("context", deep).encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->r.error;
  expect_error(poll_fields(dest()).set("context", mp_array({deep})).encode(),
               "context: nested deeper than 16 levels");
}

TEST_F(BadInput, RequestIdEchoRules) {
  // A frame cut after its request_id still gets it echoed.
  auto f = poll_fields(dest());
  std::vector<kv> entries{{"request_id", mp_str("cut")}};
  entries.insert(entries.end(), f.entries.begin(), f.entries.end());
  auto frame = mp_map(entries);
  expect_error(frame.substr(0, frame.size() - 4), "", mp_str("cut"));
  // Given twice: not echoed.
  auto twice = poll_fields(dest())
                   .set("request_id", mp_int(1))
                   .add("request_id", mp_int(2));
  pm->send(twice.encode());
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_TRUE(starts_with(got->r.error, "request_id: duplicate key"))
      << got->json();
  EXPECT_TRUE(got->r.raw_request_id.empty()) << got->json();
}

TEST_F(BadInput, MultiFrameMessages) {
  auto poll = poll_cast("f.test.", 1, dest());
  pm->send_frames({poll, poll});
  check_error("frame: expected one frame holding one msgpack map, got 2");
  pm->send_frames({"a", "b", "c"});
  check_error("frame: expected one frame holding one msgpack map, got 3");
}

TEST_F(BadInput, Method) {
  expect_error(poll_fields(dest()).drop("method").encode(), "method: missing");
  expect_error(poll_fields(dest()).set("method", mp_int(1)).encode(),
               "method: must be a string");
  expect_error(poll_fields(dest()).set("method", mp_str("foo")).encode(),
               "method: unknown 'foo'");
  // The request_id of a refused frame is echoed.
  expect_error(poll_fields(dest())
                   .set("method", mp_str("reload"))
                   .set("request_id", mp_str("r-1"))
                   .encode(),
               "method: unknown 'reload'", mp_str("r-1"));
}

TEST_F(BadInput, ContextAndDomainUnreadable) {
  // Without context or a domain map, a poll cannot get an update_status.
  expect_error(poll_fields(dest()).drop("context").encode(),
               "context: missing");
  expect_error(poll_fields(dest()).set("domain", mp_str("f.test.")).encode(),
               "domain: must be a map");
  expect_error(poll_fields(dest()).drop("domain").encode(), "domain: missing");
}

TEST_F(BadInput, DomainName) {
  auto with_name = [&](const std::string& raw_name) {
    return poll_fields(dest()).set(
        "domain", mp_map({{"name", raw_name}, {"serial", mp_int(1)}}));
  };
  expect_invalid_poll(
      poll_fields(dest()).set("domain", mp_map({{"serial", mp_int(1)}})),
      "domain.name: missing");
  expect_invalid_poll(with_name(mp_int(5)), "domain.name: must be a string");
  expect_invalid_poll(with_name(mp_str(std::string(64, 'a') + ".test.")),
                      "domain.name: label longer than 63 octets");
  expect_invalid_poll(with_name(mp_str("a..b")),
                      "domain.name: empty label in 'a..b'");
  std::string long_name;
  for (int i = 0; i < 5; ++i)
    long_name += std::string(60, 'b') + ".";
  expect_invalid_poll(with_name(mp_str(long_name)), "domain.name:");
  expect_invalid_poll(with_name(mp_str("")), "domain.name:");
  expect_invalid_poll(
      poll_fields(dest()).set("domain", mp_map({{"name", mp_str("f.test.")},
                                                {"serial", mp_int(1)},
                                                {"name", mp_str("g.test.")}})),
      "domain.name: duplicate key");
}

TEST_F(BadInput, DomainSerial) {
  auto with_serial = [&](const std::string& raw_serial) {
    return poll_fields(dest()).set(
        "domain",
        mp_map({{"name", mp_str("f.test.")}, {"serial", raw_serial}}));
  };
  expect_invalid_poll(
      poll_fields(dest()).set("domain", mp_map({{"name", mp_str("f.test.")}})),
      "domain.serial: missing");
  expect_invalid_poll(with_serial(mp_str("5")),
                      "domain.serial: must be an integer");
  expect_invalid_poll(with_serial(mp_f64(5.0)),
                      "domain.serial: must be an integer");
  expect_invalid_poll(with_serial(mp_true),
                      "domain.serial: must be an integer");
  expect_invalid_poll(with_serial(mp_int(-1)),
                      "domain.serial: out of range 0..4294967295");
  expect_invalid_poll(with_serial(mp_uint(4294967296ull)),
                      "domain.serial: out of range 0..4294967295");
}

TEST_F(BadInput, Destination) {
  expect_invalid_poll(poll_fields(dest()).drop("destination"),
                      "destination: missing");
  expect_invalid_poll(poll_fields(dest()).set("destination", mp_int(53)),
                      "destination: must be a string");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str("ns1.example.com")),
      "destination: not an IP literal: 'ns1.example.com'");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str("127.0.0.1:0")),
      "destination: port out of range 1..65535");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str("127.0.0.1:70000")),
      "destination: port out of range 1..65535");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str("fe80::1%lo")),
      "destination:");
  expect_invalid_poll(
      poll_fields(dest()).set("destination", mp_str(" 127.0.0.1")),
      "destination:");
  expect_invalid_poll(poll_fields(dest()).set("destination", mp_str("")),
                      "destination:");
}

TEST_F(BadInput, Timeout) {
  auto with = [&](const std::string& raw) {
    return poll_fields(dest()).set("timeout", raw);
  };
  expect_invalid_poll(poll_fields(dest()).drop("timeout"), "timeout: missing");
  expect_invalid_poll(with(mp_int(0)), "timeout: must be > 0 seconds");
  expect_invalid_poll(with(mp_f64(0.0)), "timeout: must be > 0 seconds");
  expect_invalid_poll(with(mp_f64(-1.5)), "timeout: must be > 0 seconds");
  expect_invalid_poll(with(mp_int(3601)),
                      "timeout: must be at most 3600 seconds");
  expect_invalid_poll(with(mp_str("5")),
                      "timeout: must be a number of seconds");
  expect_invalid_poll(with(mp_nil), "timeout: must be a number of seconds");
  expect_invalid_poll(with(mp_true), "timeout: must be a number of seconds");
  expect_invalid_poll(with(mp_f64(std::nan(""))),
                      "timeout: must be a finite number of seconds");
  expect_invalid_poll(with(mp_f32(std::numeric_limits<float>::infinity())),
                      "timeout: must be a finite number of seconds");
}

TEST_F(BadInput, RetryInterval) {
  auto with = [&](const std::string& raw) {
    return poll_fields(dest()).set("retry_interval", raw);
  };
  expect_invalid_poll(poll_fields(dest()).drop("retry_interval"),
                      "retry_interval: missing");
  expect_invalid_poll(with(mp_int(-1)), "retry_interval: must be >= 0");
  expect_invalid_poll(with(mp_f64(-0.001)), "retry_interval: must be >= 0");
  expect_invalid_poll(with(mp_int(3601)), "retry_interval: must be at most");
  expect_invalid_poll(with(mp_str("1")), "retry_interval:");
}

TEST_F(BadInput, MaxRetries) {
  auto with = [&](const std::string& raw) {
    return poll_fields(dest()).set("max_retries", raw);
  };
  expect_invalid_poll(poll_fields(dest()).drop("max_retries"),
                      "max_retries: missing");
  expect_invalid_poll(with(mp_int(-1)), "max_retries: out of range 0..10000");
  expect_invalid_poll(with(mp_int(10001)),
                      "max_retries: out of range 0..10000");
  expect_invalid_poll(with(mp_int(1000000000)),
                      "max_retries: out of range 0..10000");
  expect_invalid_poll(with(mp_f64(3.0)), "max_retries: must be an integer");
  expect_invalid_poll(with(mp_true), "max_retries: must be an integer");
}

TEST_F(BadInput, FirstProblemInFieldOrderIsReported) {
  // timeout and destination both bad: destination comes first.
  expect_invalid_poll(poll_fields(dest())
                          .set("timeout", mp_int(0))
                          .set("destination", mp_str("host.example")),
                      "destination:");
  // With a request_id: echoed, 9 keys.
  expect_invalid_poll(poll_fields(dest())
                          .set("max_retries", mp_int(-1))
                          .set("request_id", mp_array({mp_int(1), mp_int(2)})),
                      "max_retries:");
}

TEST_F(BadInput, InvalidNotifyGetsAnErrorReply) {
  // A notify has no update_status: an invalid one gets an error reply,
  // with its request_id.
  expect_error(notify_fields(dest())
                   .set("timeout", mp_int(0))
                   .set("request_id", mp_int(42))
                   .encode(),
               "timeout: must be > 0 seconds", mp_int(42));
  expect_error(notify_fields(dest())
                   .set("destination", mp_str("127.0.0.1:70000"))
                   .encode(),
               "destination: port out of range");
  expect_error(
      notify_fields(dest())
          .set("domain", mp_map({{"name", mp_str(std::string(64, 'n'))}}))
          .encode(),
      "domain.name: label longer than 63 octets");
}

TEST_F(BadInput, ManyBadFramesInARowThenAValidPoll) {
  // Replies keep coming for a burst of junk, one each, and in between a
  // valid poll is carried out.
  constexpr int junk = 200;
  for (int i = 0; i < junk; ++i)
    pm->send(poll_fields(dest())
                 .set("timeout", mp_int(-i))
                 .set("request_id", mp_int(i))
                 .encode());
  pm->send(poll_cast("valid.test.", 1, dest(), 0.5, 0, 0, mp_str("valid")));
  std::vector<int> seen(junk, 0);
  bool valid_seen = false;
  for (int i = 0; i < junk + 1; ++i) {
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "only " << i << " replies";
    if (got->r.raw_request_id == mp_str("valid")) {
      EXPECT_FALSE(valid_seen);
      valid_seen = true;
      EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
      continue;
    }
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, junk);
    EXPECT_EQ(++seen[static_cast<size_t>(id)], 1);
    EXPECT_EQ(got->r.detail, "invalid cast");
  }
  EXPECT_TRUE(valid_seen);
}

// ---------------------------------------------------------------------------
// Drain on SIGTERM.

TEST_F(Drain, InFlightPollsEndWithShutdownAndLateCastsAreRefused) {
  start({"--minidns.drain-timeout=300ms"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  constexpr int n = 20;
  for (int i = 0; i < n; ++i)
    pm->send(poll_cast("drain" + std::to_string(i) + ".test.", 1,
                       r.destination(), 60, 0, 0, mp_int(i)));
  ASSERT_TRUE(r.wait_for_count(n, reply_wait)) << "polls not in flight";
  auto t0 = clock_type::now();
  mdns->signal(SIGTERM);
  ASSERT_TRUE(mdns->wait_for_line("draining:", reply_wait)) << mdns->log();

  // Replies by raw request_id, in order of arrival.
  std::map<std::string, std::vector<reply_frame>> replies;
  auto wait_for = [&](const std::string& rid, milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (replies.count(rid) == 0) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                           clock_type::now());
      auto got = receive(*pm, std::max(left, milliseconds(0)));
      if (!got)
        return false;
      replies[got->r.raw_request_id].push_back(std::move(*got));
    }
    return true;
  };
  // A poll sent while draining is refused at once, without a query. The
  // "draining:" line is logged just before the ZeroMQ thread starts
  // refusing casts, so a poll sent right after it may still be taken as a
  // normal request (it then ends with "shutdown" at the drain timeout, like
  // those in flight): late polls go out until one is refused, which shows
  // at once, long before the drain timeout.
  std::vector<std::string> late_zones;
  bool refused = false;
  for (int i = 0; i < 3 && !refused; ++i) {
    late_zones.push_back("late" + std::to_string(i) + ".test.");
    pm->send(poll_cast(late_zones.back(), 1, r.destination(), 60, 0, 0,
                       mp_str(late_zones.back())));
    refused = wait_for(mp_str(late_zones.back()), 60ms);
  }
  ASSERT_TRUE(refused) << "no late poll was refused while draining";
  EXPECT_EQ(r.count_for(late_zones.back()), 0u)
      << "the refused late poll was carried out";
  // A notify sent while draining gets an error reply.
  pm->send(notify_cast("late.test.", r.destination(), 60, 0, 0,
                       mp_str("late-notify")));
  ASSERT_TRUE(wait_for(mp_str("late-notify"), reply_wait));
  for (const auto& zone : late_zones)
    ASSERT_TRUE(wait_for(mp_str(zone), reply_wait)) << "no reply for " << zone;
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(wait_for(mp_int(i), reply_wait)) << "no reply for poll " << i;
  auto drained = clock_type::now() - t0;

  for (const auto& zone : late_zones) {
    const auto& late = replies[mp_str(zone)].at(0);
    EXPECT_EQ(late.r.method, "update_status") << late.json();
    EXPECT_EQ(late.r.status, "ERROR") << late.json();
    EXPECT_EQ(late.r.detail, "shutdown") << late.json();
    EXPECT_FALSE(late.r.actual_serial) << late.json();
  }
  const auto& late_notify = replies[mp_str("late-notify")].at(0);
  EXPECT_EQ(late_notify.r.method, "error") << late_notify.json();
  EXPECT_TRUE(starts_with(late_notify.r.error, "draining:"))
      << late_notify.json();
  for (int i = 0; i < n; ++i) {
    const auto& got = replies[mp_int(i)].at(0);
    EXPECT_EQ(got.r.status, "ERROR") << got.json();
    EXPECT_EQ(got.r.detail, "shutdown") << got.json();
    EXPECT_FALSE(got.r.actual_serial) << got.json();
  }
  EXPECT_GE(drained, 290ms) << "in-flight polls ended before the drain timeout";

  auto status = mdns->wait_exit(reply_wait);
  ASSERT_TRUE(status) << "still running after the drain";
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(r.count_for("late.test."), 0u) << "the late notify was sent";
  EXPECT_EQ(r.count(), size_t{n} + late_zones.size() - 1);
  // The daemon is gone: what it sent has arrived, or does so at once.
  while (auto extra = receive(*pm, 100ms))
    replies[extra->r.raw_request_id].push_back(std::move(*extra));
  EXPECT_EQ(replies.size(), size_t{n} + late_zones.size() + 1);
  for (const auto& [rid, list] : replies)
    EXPECT_EQ(list.size(), 1u) << "replies to one cast:\n" << summary(list);
}

TEST_F(Drain, RequestsFinishingWithinTheDrainTimeoutEndNormally) {
  start({"--minidns.drain-timeout=5s"});
  responder r;
  zone_script s;
  s.drop_first = 1;
  s.serial = 3;
  r.script("finish.test.", s);
  pm->send(
      poll_cast("finish.test.", 3, r.destination(), 0.2, 0, 3, mp_str("f")));
  ASSERT_TRUE(r.wait_for_count("finish.test.", 1, reply_wait));
  auto t0 = clock_type::now();
  mdns->signal(SIGTERM);
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 3u);
  EXPECT_GE(r.count_for("finish.test."), 2u) << "the retry went out";
  auto status = mdns->wait_exit(reply_wait);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_LT(clock_type::now() - t0, 4s)
      << "waited for the drain timeout with nothing in flight";
  EXPECT_EQ(mdns->count_lines("drain timeout"), 0u) << mdns->log();
}

TEST_F(Drain, CastsQueuedBehindMaxInFlightAreAnsweredToo) {
  // Two in flight; eight wait in ZeroMQ. On SIGTERM the waiting ones are
  // read and refused, the two in flight end at the drain timeout: ten
  // replies, one each.
  start({"--minidns.max-in-flight=2", "--minidns.drain-timeout=300ms"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  constexpr int n = 10;
  for (int i = 0; i < n; ++i)
    pm->send(poll_cast("queued" + std::to_string(i) + ".test.", 1,
                       r.destination(), 60, 0, 0, mp_int(i)));
  ASSERT_TRUE(r.wait_for_count(2, reply_wait));
  mdns->signal(SIGTERM);
  std::vector<int> seen(n, 0);
  for (int i = 0; i < n; ++i) {
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "only " << i << " replies";
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, n);
    EXPECT_EQ(++seen[static_cast<size_t>(id)], 1) << got->json();
    EXPECT_EQ(got->r.status, "ERROR") << got->json();
    EXPECT_EQ(got->r.detail, "shutdown") << got->json();
  }
  auto status = mdns->wait_exit(reply_wait);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(r.count(), 2u) << "a queued cast was carried out while draining";
}

TEST_F(Drain, SecondSignalEndsRequestsNow) {
  start({"--minidns.drain-timeout=30s"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("stuck.test.", silent);
  pm->send(
      poll_cast("stuck.test.", 1, r.destination(), 600, 0, 0, mp_str("stuck")));
  ASSERT_TRUE(r.wait_for_count("stuck.test.", 1, reply_wait));
  auto t0 = clock_type::now();
  mdns->signal(SIGTERM);
  ASSERT_TRUE(mdns->wait_for_line("draining:", reply_wait));
  mdns->signal(SIGTERM);
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.detail, "shutdown");
  auto status = mdns->wait_exit(reply_wait);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_LT(clock_type::now() - t0, 10s);
}

// ---------------------------------------------------------------------------
// Configuration: bad settings refuse to start with exit code 2.

run_result run_daemon(std::vector<std::string> args) {
  args.insert(args.begin(),
              {minidns_binary, "--minidns.endpoint=tcp://127.0.0.1:*"});
  return run_program(args, 20000ms);
}

TEST_F(Config, MaxInFlightZeroIsRefused) {
  auto res = run_daemon({"--minidns.max-in-flight=0"});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.max-in-flight"), std::string::npos)
      << res.err;
}

TEST_F(Config, BadCommandLineValuesAreRefused) {
  for (const char* arg :
       {"--minidns.log-level=loud", "--minidns.udp-sockets=0",
        "--minidns.source-v4=localhost", "--minidns.endpoint=127.0.0.1:1"}) {
    auto res = run_program({minidns_binary, arg}, 20000ms);
    std::string key =
        std::string(arg).substr(2, std::string(arg).find('=') - 2);
    EXPECT_EQ(res.status, 2) << arg << "\n" << res.err;
    EXPECT_NE(res.err.find(key), std::string::npos) << arg << "\n" << res.err;
  }
}

TEST_F(Config, FileWithWrongTypeIsRefused) {
  auto path =
      write_config("wrong-type", "[minidns]\nmax-in-flight = \"abc\"\n");
  auto res = run_daemon({"--config-file=" + path});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.max-in-flight"), std::string::npos)
      << res.err;
  ::unlink(path.c_str());
}

TEST_F(Config, FileWithUnknownKeyIsRefused) {
  auto path = write_config("unknown", "[minidns]\nno-such-setting = 1\n");
  auto res = run_daemon({"--config-file=" + path});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.no-such-setting"), std::string::npos)
      << res.err;
  ::unlink(path.c_str());
}

TEST_F(Config, FileWithNestedGroupIsRefused) {
  auto path = write_config("nested", "[minidns.notify]\ntimeout = 1\n");
  auto res = run_daemon({"--config-file=" + path});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.notify"), std::string::npos) << res.err;
  ::unlink(path.c_str());
}

TEST_F(Config, ValidFileIsUsed) {
  auto path = write_config("valid", "[minidns]\nmax-in-flight = 7\n"
                                    "log-level = \"debug\"\n");
  start({"--config-file=" + path});
  EXPECT_TRUE(mdns->wait_for_line("max-in-flight 7", 0ms)) << mdns->log();
  responder r;
  EXPECT_TRUE(barrier(r).empty());
  // log-level debug from the file: the poll's SUCCESS is logged.
  EXPECT_TRUE(mdns->wait_for_line("barrier.test.", reply_wait)) << mdns->log();
  ::unlink(path.c_str());
}

TEST_F(Config, EndpointInUseFailsToStart) {
  start();
  auto res = run_program(
      {minidns_binary, "--minidns.endpoint=" + mdns->endpoint()}, 20000ms);
  EXPECT_NE(res.status, 0) << res.err;
  EXPECT_NE(res.err.find("minidns.endpoint"), std::string::npos) << res.err;
}

// ---------------------------------------------------------------------------
// minidns-ctl: `minidns-ctl [--endpoint=E] [--timeout=S] [--retry-interval=S]
// [--max-retries=N] [--grace=S] poll ZONE SERIAL DEST | notify ZONE DEST |
// batch FILE`; one JSON line per reply on stdout; exit 0 when all
// SUCCESS, 1 on any ERROR, error or client timeout, 2 on usage errors.

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    if (end > pos)
      lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class Ctl : public daemon_test {
protected:
  void SetUp() override {
    ASSERT_EQ(::access(minidns_ctl_binary, X_OK), 0)
        << minidns_ctl_binary << " is not built";
    start();
  }

  run_result ctl(std::vector<std::string> args) {
    args.insert(args.begin(),
                {minidns_ctl_binary, "--endpoint=" + mdns->endpoint()});
    return run_program(args, 30000ms);
  }
};

TEST_F(Ctl, PollSuccessExitsZero) {
  responder r;
  zone_script s;
  s.serial = 10;
  r.script("ctl.test.", s);
  auto res = ctl({"--timeout=1", "--max-retries=0", "poll", "ctl.test.", "10",
                  r.destination()});
  EXPECT_EQ(res.status, 0) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 1u) << res.out;
  EXPECT_TRUE(contains(lines[0], "\"method\":\"update_status\"")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"status\":\"SUCCESS\"")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"actual_serial\":10")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"detail\":\"matched\"")) << lines[0];
  EXPECT_EQ(r.count_for("ctl.test."), 1u);
}

TEST_F(Ctl, PollErrorExitsOne) {
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("ctlsilent.test.", silent);
  auto res = ctl({"--timeout=0.1", "--retry-interval=0", "--max-retries=1",
                  "poll", "ctlsilent.test.", "10", r.destination()});
  EXPECT_EQ(res.status, 1) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 1u) << res.out;
  EXPECT_TRUE(contains(lines[0], "\"status\":\"ERROR\"")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"actual_serial\":null")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"detail\":\"timeout\"")) << lines[0];
  EXPECT_EQ(r.count_for("ctlsilent.test."), 2u) << "--max-retries=1";
}

TEST_F(Ctl, InvalidCastReplyExitsOne) {
  responder r;
  // minidns refuses the destination: its update_status "invalid cast" is
  // printed and counts as an ERROR.
  auto res =
      ctl({"--timeout=0.1", "poll", "ctl.test.", "1", "127.0.0.1:70000"});
  EXPECT_EQ(res.status, 1) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 1u) << res.out;
  EXPECT_TRUE(contains(lines[0], "\"detail\":\"invalid cast\"")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"error\":\"destination: port out of range"))
      << lines[0];
}

TEST_F(Ctl, NotifyIsSent) {
  responder r;
  auto res = ctl({"--timeout=0.1", "--max-retries=0", "--grace=0.2", "notify",
                  "ctlnotify.test.", r.destination()});
  EXPECT_EQ(res.status, 0) << res.out << res.err;
  EXPECT_EQ(res.out, "") << "a notify gets no reply";
  ASSERT_TRUE(r.wait_for_count("ctlnotify.test.", 1, reply_wait));
  EXPECT_EQ(r.queries_for("ctlnotify.test.").at(0).opcode, 4);
}

TEST_F(Ctl, ClientTimeoutExitsOne) {
  // A ROUTER that takes the cast and never answers: minidns-ctl gives up on
  // its own deadline (the cast's budget plus its queueing margin).
  zmq::context_t ctx(1);
  zmq::socket_t mute(ctx, zmq::socket_type::router);
  mute.set(zmq::sockopt::linger, 0);
  mute.bind("tcp://127.0.0.1:*");
  auto endpoint = mute.get(zmq::sockopt::last_endpoint);
  auto res =
      run_program({minidns_ctl_binary, "--endpoint=" + endpoint,
                   "--timeout=0.1", "--retry-interval=0", "--max-retries=0",
                   "--grace=0.1", "poll", "ctl.test.", "1", "127.0.0.1:9"},
                  30000ms);
  EXPECT_EQ(res.status, 1) << res.out << res.err;
}

TEST_F(Ctl, UnreachableDaemonFails) {
  // Nothing listens on port 1 of loopback. The spec asks for 1 on a client
  // timeout; minidns-ctl documents 3 for "minidns not reachable at all".
  auto res = run_program({minidns_ctl_binary, "--endpoint=tcp://127.0.0.1:1",
                          "--timeout=0.1", "--max-retries=0", "--grace=0.1",
                          "poll", "ctl.test.", "1", "127.0.0.1:9"},
                         30000ms);
  EXPECT_TRUE(res.status == 1 || res.status == 3) << res.out << res.err;
}

TEST_F(Ctl, BatchFileOfPolls) {
  // The batch file holds one cast per line, as on the command line;
  // blank lines and '#' comments are skipped.
  responder r;
  zone_script s;
  s.serial = 7;
  r.default_script(s);
  auto path = write_config("batch-ok",
                           "# three polls\npoll b1.test. 5 " + r.destination() +
                               "\n\npoll b2.test. 6 " + r.destination() +
                               "\npoll b3.test. 7 " + r.destination() + "\n");
  auto res = ctl({"--timeout=1", "--max-retries=1", "batch", path});
  EXPECT_EQ(res.status, 0) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 3u) << res.out;
  for (const char* zone : {"b1.test.", "b2.test.", "b3.test."}) {
    auto n = std::count_if(lines.begin(), lines.end(), [&](auto& l) {
      return contains(l, std::string("\"name\":\"") + zone + "\"");
    });
    EXPECT_EQ(n, 1) << zone << " in\n" << res.out;
    EXPECT_EQ(r.count_for(zone), 1u) << zone;
  }
  for (const auto& l : lines)
    EXPECT_TRUE(contains(l, "\"status\":\"SUCCESS\"")) << l;
  ::unlink(path.c_str());
}

TEST_F(Ctl, LongBatchShowsProgressAndASummary) {
  // Answers come 400 ms after the queries: the progress lines in between
  // show every poll sent and in flight, none done yet.
  responder r;
  zone_script slow;
  slow.delay = 400ms;
  r.default_script(slow);
  std::string batch;
  for (int i = 0; i < 20; ++i)
    batch += "poll p" + std::to_string(i) + ".test. 1 " + r.destination() + "\n";
  auto path = write_config("batch-progress", batch);
  auto res = ctl({"--timeout=5", "--progress=0.1", "batch", path});
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(lines_of(res.out).size(), 20u);
  EXPECT_TRUE(contains(res.err, "progress: sent 20, done 0 (success 0, error "
                                "0, timeout 0), in flight 20, 0/s"))
      << res.err;
  EXPECT_TRUE(contains(res.err, "sent 20, success 20, error 0, timeout 0"))
      << res.err;
  // Without --progress and with stderr not a terminal: no progress lines.
  res = ctl({"--timeout=5", "batch", path});
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_FALSE(contains(res.err, "progress:")) << res.err;
  ::unlink(path.c_str());
}

TEST_F(Ctl, BatchWithOneFailureExitsOne) {
  responder r;
  zone_script s;
  s.serial = 7;
  r.default_script(s);
  auto path = write_config("batch-fail", "poll ok.test. 7 " + r.destination() +
                                             "\npoll behind.test. 8 " +
                                             r.destination() + "\n");
  auto res = ctl({"--timeout=1", "--max-retries=0", "batch", path});
  EXPECT_EQ(res.status, 1) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 2u) << res.out;
  auto errors = std::count_if(lines.begin(), lines.end(), [](auto& l) {
    return contains(l, "\"status\":\"ERROR\"");
  });
  EXPECT_EQ(errors, 1) << res.out;
  ::unlink(path.c_str());
}

TEST_F(Ctl, BadUsageExitsTwo) {
  const std::vector<std::vector<std::string>> bad{
      {},
      {"poll"},
      {"poll", "ctl.test."},
      {"poll", "ctl.test.", "1"},
      {"poll", "ctl.test.", "not-a-serial", "127.0.0.1:53"},
      {"frobnicate"},
      {"--no-such-option", "poll", "ctl.test.", "1", "127.0.0.1:53"},
      {"batch"},
  };
  for (const auto& args : bad) {
    auto res = ctl(args);
    std::string shown;
    for (const auto& a : args)
      shown += a + " ";
    EXPECT_EQ(res.status, 2) << "minidns-ctl " << shown << "\n"
                             << res.out << res.err;
  }
  responder r;
  EXPECT_EQ(r.count(), 0u);
  EXPECT_TRUE(barrier(r).empty());
}

} // namespace

// ---------------------------------------------------------------------------
// Allowlist: minidns.allow-destinations keeps minidns from being a packet
// cannon aimed anywhere.

class Allowlist : public daemon_test {};

TEST_F(Allowlist, CastsToOtherDestinationsAreRefusedAndNothingIsSent) {
  responder r; // on 127.0.0.1, inside the list
  // A server outside the list: 127.0.0.9 is loopback too, but not listed.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(0x7F000009);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  socklen_t len = sizeof(sin);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  auto outside = "127.0.0.9:" + std::to_string(ntohs(sin.sin_port));
  auto cfg = write_config(
      "allowlist",
      "[minidns]\nallow-destinations=[\"127.0.0.1/32\", \"::1\"]\n");
  start({"--config-file=" + cfg});

  auto got = poll_once(*pm, poll_cast("deny.test.", 1, outside, 0.2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "update_status");
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_FALSE(got->r.actual_serial);
  EXPECT_EQ(got->r.error, "destination: " + outside +
                              " is not in minidns.allow-destinations");

  pm->send(notify_cast("deny.test.", outside));
  got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "error");
  EXPECT_EQ(got->r.error.rfind("destination: ", 0), 0u) << got->r.error;

  // A destination inside the list still works; once its reply is in,
  // anything minidns sent to the outside server would have arrived.
  barrier(r);
  char buf[512];
  EXPECT_LT(::recv(fd, buf, sizeof(buf), 0), 0)
      << "a packet left for " << outside;
  ::close(fd);
}

TEST_F(Config, BadAllowlistEntryIsRefused) {
  auto cfg = write_config("bad-allowlist",
                          "[minidns]\nallow-destinations=[\"10.0.0.1/8\"]\n");
  auto res = run_daemon({"--config-file=" + cfg});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.allow-destinations: host bits set"),
            std::string::npos)
      << res.err;
}
