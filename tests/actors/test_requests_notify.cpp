/// The request actor's NOTIFYs: what ends them (NOERROR, refusals), what
/// is retried (SERVFAIL, silence). The fixture and its doubles are in
/// request_fixture.hpp.

#include "request_fixture.hpp"

using namespace minidns;
using namespace minidns::request_tests;
using namespace std::chrono_literals;

TEST_F(RequestTest, NotifySendsNotifyAndEndsOnNoerror) {
  start_notify(1.0, 0.5, 3);
  ASSERT_EQ(attempts(), 1u);
  EXPECT_EQ(udp_seen->queries[0].kind, net::query_kind::notify);
  answer(1, rcode_reply(net::rcode_noerror));
  ASSERT_EQ(sink_seen->done.size(), 1u);
  EXPECT_TRUE(sink_seen->done[0].second.empty()); // a cast: no reply
  advance(10s);
  EXPECT_EQ(attempts(), 1u);
}

TEST_F(RequestTest, NotifyRefusalsAreFinal) {
  for (uint8_t rc :
       {net::rcode_notauth, net::rcode_refused, net::rcode_nxdomain,
        net::rcode_notimp, net::rcode_formerr}) {
    udp_seen->queries.clear();
    udp_seen->senders.clear();
    sink_seen->done.clear();
    start_notify(1.0, 0.5, 3);
    answer(1, rcode_reply(rc));
    EXPECT_EQ(sink_seen->done.size(), 1u) << int{rc};
    advance(10s);
    EXPECT_EQ(attempts(), 1u) << int{rc};
  }
}

TEST_F(RequestTest, NotifyServfailIsRetried) {
  start_notify(1.0, 0.5, 1);
  answer(1, rcode_reply(net::rcode_servfail));
  advance(499ms);
  EXPECT_EQ(attempts(), 1u);
  advance(1ms);
  ASSERT_EQ(attempts(), 2u);
  answer(2, rcode_reply(net::rcode_servfail));
  EXPECT_EQ(sink_seen->done.size(), 1u);
  EXPECT_EQ(attempts(), 2u);
}

TEST_F(RequestTest, NotifySilenceUsesTheWholeBudget) {
  start_notify(0.1, 0.2, 4);
  advance(5 * 300ms);
  EXPECT_EQ(attempts(), 5u);
  EXPECT_EQ(sink_seen->done.size(), 1u);
}

TEST_F(RequestTest, NotifyLateNoerrorToEarlierAttemptEndsIt) {
  start_notify(1.0, 0.5, 3);
  advance(1500ms);
  ASSERT_EQ(attempts(), 2u);
  answer(1, rcode_reply(net::rcode_noerror));
  EXPECT_EQ(sink_seen->done.size(), 1u);
  advance(10s);
  EXPECT_EQ(attempts(), 2u);
}

TEST_F(RequestTest, NotifyWithWantStatusReportsItsEnd) {
  auto restart = [&](double timeout, double retry, uint32_t max_retries) {
    udp_seen->queries.clear();
    udp_seen->senders.clear();
    sink_seen->done.clear();
    start_notify(timeout, retry, max_retries, true);
  };
  restart(1.0, 0.5, 3);
  answer(1, rcode_reply(net::rcode_noerror));
  ASSERT_EQ(sink_seen->done.size(), 1u);
  auto r = reply_of(0);
  EXPECT_EQ(r.method, "update_status");
  EXPECT_EQ(r.status, "SUCCESS");
  EXPECT_EQ(r.detail, "acknowledged");
  EXPECT_FALSE(r.actual_serial);

  restart(1.0, 0.5, 3);
  answer(1, rcode_reply(net::rcode_refused));
  ASSERT_EQ(sink_seen->done.size(), 1u);
  r = reply_of(0);
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.detail, "rcode REFUSED");

  restart(0.1, 0.2, 1);
  advance(2 * 300ms);
  ASSERT_EQ(sink_seen->done.size(), 1u);
  r = reply_of(0);
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.detail, "timeout");
  EXPECT_FALSE(r.actual_serial);
}
