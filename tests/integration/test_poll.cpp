// Integration tests of poll_for_serial_number (SOA serials, RFC 1982): the
// query on the wire, serial comparison, the retry budget and what counts as
// an answer. The fixture is in poll_fixture.hpp; test_poll_casts.cpp has
// the tests of the cast's fields, names, destinations and failure logs.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "poll_fixture.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

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

TEST_F(Poll, TruncatedIsAskedAgainOverTcp) {
  // The responder answers over UDP only, always with TC=1: each attempt
  // asks again over TCP, where nobody listens, and fails with that.
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
  EXPECT_EQ(got->r.detail, "port unreachable") << "TCP connection refused";
  barrier(r);
  EXPECT_EQ(r.count_for("tc.test."), 2u);
  EXPECT_EQ(metric("minidns_dns_tcp_queries_total"), 2);
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

} // namespace
