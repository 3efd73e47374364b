/// The request actor's polls: the SOA query it sends, how an answer's
/// serial, rcode and AA bit settle the poll, and its end on shutdown. The
/// fixture and its doubles are in request_fixture.hpp.

#include "request_fixture.hpp"

using namespace minidns;
using namespace minidns::request_tests;
using namespace std::chrono_literals;

TEST_F(RequestTest, PollSendsOneSoaQueryAtOnce) {
  start_poll(100, 1.0, 0.5, 2);
  ASSERT_EQ(attempts(), 1u);
  auto& q = udp_seen->queries[0];
  EXPECT_EQ(q.kind, net::query_kind::soa);
  EXPECT_EQ(q.attempt, 1u);
  EXPECT_EQ(q.token, 7u);
  EXPECT_EQ(q.destination.to_string(), "192.0.2.1:5300");
  EXPECT_EQ(q.qname_wire, std::string("\7example\3com\0", 13));
  EXPECT_TRUE(sink_seen->done.empty());
}

TEST_F(RequestTest, StartedRequestSendsAttemptOneBeforeItsActorRuns) {
  req = start_request(
      sys, 9,
      make_cast(messages::method::poll_for_serial_number, 100, 1.0, 0.5, 2),
      udp, sink);
  // Attempt 1 went out from this thread, and nothing was scheduled.
  ASSERT_EQ(attempts(), 1u);
  EXPECT_EQ(udp_seen->queries[0].attempt, 1u);
  EXPECT_EQ(udp_seen->queries[0].token, 9u);
  EXPECT_EQ(udp_seen->senders[0], caf::actor_cast<caf::strong_actor_ptr>(req));
  EXPECT_FALSE(sched.has_job());
  // Its answer wakes the actor, which settles the poll as usual.
  answer(1, soa_reply(100));
  EXPECT_EQ(final_reply().status, "SUCCESS");
  EXPECT_EQ(final_reply().actual_serial, 100u);
  EXPECT_EQ(sink_seen->done.at(0).first, 9u);
  EXPECT_EQ(attempts(), 1u);
}

TEST_F(RequestTest, PollSucceedsOnEqualSerial) {
  start_poll(100, 1.0, 0.5, 2);
  answer(1, soa_reply(100));
  auto r = final_reply();
  EXPECT_EQ(r.status, "SUCCESS");
  EXPECT_EQ(r.actual_serial, 100u);
  EXPECT_EQ(r.detail, "matched");
  EXPECT_EQ(attempts(), 1u);
  ASSERT_EQ(udp_seen->releases.size(), 1u);
  EXPECT_EQ(udp_seen->releases[0], 7u);
}

TEST_F(RequestTest, PollSucceedsOnNewerSerialAcrossWrap) {
  start_poll(0xFFFFFFFFu, 1.0, 0.5, 0);
  answer(1, soa_reply(5));
  auto r = final_reply();
  EXPECT_EQ(r.status, "SUCCESS");
  EXPECT_EQ(r.actual_serial, 5u);
  EXPECT_EQ(r.detail, "newer");
}

TEST_F(RequestTest, UndefinedSerialDistanceIsNotYet) {
  start_poll(0, 1.0, 0.5, 0);
  answer(1, soa_reply(0x80000000u));
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.actual_serial, 0x80000000u);
  EXPECT_EQ(r.detail, "serial undefined");
}

TEST_F(RequestTest, UnusableAnswersAreRetriedWithTheirReason) {
  start_poll(100, 1.0, 0.0, 2);
  answer(1, rcode_reply(net::rcode_refused));
  ASSERT_EQ(attempts(), 2u); // retry_interval 0: at once
  answer(2, soa_reply(100, net::rcode_noerror, false));
  ASSERT_EQ(attempts(), 3u);
  answer(3, rcode_reply(net::rcode_nxdomain));
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_FALSE(r.actual_serial);
  EXPECT_EQ(r.detail, "rcode NXDOMAIN");
}

TEST_F(RequestTest, NotAuthoritativeIsTheDetailWhenLast) {
  start_poll(100, 1.0, 0.0, 0);
  answer(1, soa_reply(100, net::rcode_noerror, false));
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.detail, "not authoritative");
  EXPECT_FALSE(r.actual_serial);
}

TEST_F(RequestTest, ShutdownEndsAPollWithErrorShutdown) {
  start_poll(100, 10.0, 10.0, 5);
  answer(1, soa_reply(3));
  caf::anon_send(req, shutdown_atom::value);
  sched.run();
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.detail, "shutdown");
  EXPECT_EQ(r.actual_serial, 3u);
  EXPECT_EQ(udp_seen->releases.size(), 1u);
}
