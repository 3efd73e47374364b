/// The request actor's retry schedule on simulated time: attempt timeouts,
/// the pause before each retry, the delay before the first attempt, and
/// late, duplicate or stale answers and timers. The fixture and its doubles
/// are in request_fixture.hpp.

#include "request_fixture.hpp"

using namespace minidns;
using namespace minidns::request_tests;
using namespace std::chrono_literals;

TEST_F(RequestTest, StartedRequestRetriesAfterItsFirstTimeout) {
  req = start_request(
      sys, 9,
      make_cast(messages::method::poll_for_serial_number, 100, 1.0, 0.5, 1),
      udp, sink);
  advance(std::chrono::milliseconds(1499));
  EXPECT_EQ(attempts(), 1u);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(attempts(), 2u);
  advance(std::chrono::seconds(1));
  EXPECT_EQ(final_reply().status, "ERROR");
  EXPECT_EQ(final_reply().detail, "timeout");
}

TEST_F(RequestTest, SilentDestinationGetsOnePlusMaxRetriesAttempts) {
  // timeout 1 s, retry_interval 0.5 s: attempts at 0, 1.5 and 3.0 s; the
  // request ends when the third times out at 4.0 s.
  start_poll(100, 1.0, 0.5, 2);
  advance(1499ms);
  EXPECT_EQ(attempts(), 1u);
  advance(1ms);
  EXPECT_EQ(attempts(), 2u);
  EXPECT_EQ(udp_seen->queries[1].attempt, 2u);
  advance(1499ms);
  EXPECT_EQ(attempts(), 2u);
  advance(1ms);
  EXPECT_EQ(attempts(), 3u);
  advance(999ms);
  EXPECT_TRUE(sink_seen->done.empty());
  advance(1ms);
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_FALSE(r.actual_serial);
  EXPECT_EQ(r.detail, "timeout");
  // No wait after the last attempt, and nothing more afterwards.
  advance(10s);
  EXPECT_EQ(attempts(), 3u);
  EXPECT_EQ(sink_seen->done.size(), 1u);
}

TEST_F(RequestTest, TheRetryPauseIsAskedOfTheUdpSideWithItsTimeout) {
  // One timer home: the request hands both its attempt timeout and the
  // pause before a retry to the UDP side, and sets no timer of its own.
  start_poll(100, 1.0, 0.5, 2);
  EXPECT_EQ(udp_seen->queries.at(0).timeout_ns, 1'000'000'000);
  EXPECT_TRUE(udp_seen->pauses.empty());
  advance(1s); // attempt 1 times out
  ASSERT_EQ(udp_seen->pauses.size(), 1u);
  EXPECT_EQ(udp_seen->pauses[0].token, 7u);
  EXPECT_EQ(udp_seen->pauses[0].attempt, 1u);
  EXPECT_EQ(udp_seen->pauses[0].delay_ns, 500'000'000);
}

TEST_F(RequestTest, DelayIsAPauseBeforeTheFirstAttempt) {
  auto c =
      make_cast(messages::method::poll_for_serial_number, 100, 1.0, 0.5, 1);
  c.delay = 2s;
  req = start_request(sys, 7, std::move(c), udp, sink);
  sched.run();
  EXPECT_EQ(attempts(), 0u) << "nothing leaves before the delay";
  ASSERT_EQ(udp_seen->pauses.size(), 1u);
  EXPECT_EQ(udp_seen->pauses[0].attempt, 0u);
  EXPECT_EQ(udp_seen->pauses[0].delay_ns, 2'000'000'000);
  advance(1999ms);
  EXPECT_EQ(attempts(), 0u);
  advance(1ms);
  ASSERT_EQ(attempts(), 1u);
  EXPECT_EQ(udp_seen->queries[0].attempt, 1u);
  // From there the budget runs as usual: attempt 2 after timeout + pause.
  advance(1499ms);
  EXPECT_EQ(attempts(), 1u);
  advance(1ms);
  EXPECT_EQ(attempts(), 2u);
  advance(1s);
  EXPECT_EQ(final_reply().detail, "timeout");
}

TEST_F(RequestTest, ShutdownDuringTheDelayEndsThePollWithoutAQuery) {
  auto c =
      make_cast(messages::method::poll_for_serial_number, 100, 1.0, 0.5, 1);
  c.delay = 10s;
  req = start_request(sys, 7, std::move(c), udp, sink);
  sched.run();
  caf::anon_send(req, shutdown_atom::value);
  sched.run();
  EXPECT_EQ(final_reply().detail, "shutdown");
  EXPECT_EQ(attempts(), 0u);
  advance(20s);
  EXPECT_EQ(attempts(), 0u) << "the delay's end sends nothing once ended";
}

TEST_F(RequestTest, MaxRetriesZeroMeansSendOnce) {
  start_poll(100, 0.2, 5.0, 0);
  advance(200ms);
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(attempts(), 1u);
}

TEST_F(RequestTest, AnsweredAttemptRetriesAfterRetryIntervalFromTheAnswer) {
  start_poll(100, 1.0, 0.5, 2);
  advance(200ms);
  answer(1, soa_reply(99)); // older: ask again 0.5 s after this answer
  advance(499ms);
  EXPECT_EQ(attempts(), 1u);
  advance(1ms);
  ASSERT_EQ(attempts(), 2u);
  answer(2, soa_reply(98));
  advance(500ms);
  ASSERT_EQ(attempts(), 3u);
  answer(3, soa_reply(99));
  // The last attempt was answered and did not settle: ERROR at once.
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.actual_serial, 99u);
  EXPECT_EQ(r.detail, "lower serial");
}

TEST_F(RequestTest, ErrorCarriesLastSerialSeenEvenAfterLaterTimeout) {
  start_poll(100, 1.0, 0.5, 1);
  answer(1, soa_reply(42));
  advance(500ms);
  ASSERT_EQ(attempts(), 2u);
  advance(1s);
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.actual_serial, 42u);
  EXPECT_EQ(r.detail, "timeout");
}

TEST_F(RequestTest, LateReplyToEarlierAttemptStillSucceeds) {
  start_poll(100, 1.0, 0.5, 3);
  advance(1500ms);
  ASSERT_EQ(attempts(), 2u);
  answer(1, soa_reply(101)); // attempt 1's reply, late
  auto r = final_reply();
  EXPECT_EQ(r.status, "SUCCESS");
  EXPECT_EQ(r.actual_serial, 101u);
}

TEST_F(RequestTest, LateUnsettlingReplyDoesNotCutTheCurrentAttemptShort) {
  start_poll(100, 1.0, 0.5, 3);
  advance(1500ms);
  ASSERT_EQ(attempts(), 2u);
  answer(1, soa_reply(50)); // late and older: informs only
  advance(1499ms);
  EXPECT_EQ(attempts(), 2u); // attempt 2 still has its full timeout + pause
  advance(1ms);
  EXPECT_EQ(attempts(), 3u);
  EXPECT_TRUE(sink_seen->done.empty());
}

TEST_F(RequestTest, LateReplyDuringThePauseDoesNotAddAnAttempt) {
  start_poll(100, 1.0, 0.5, 1);
  advance(1s); // attempt 1 timed out; attempt 2 is due at 1.5 s
  answer(1, soa_reply(60));
  advance(500ms);
  EXPECT_EQ(attempts(), 2u);
  advance(1s);
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.actual_serial, 60u);
  EXPECT_EQ(attempts(), 2u);
}

TEST_F(RequestTest, DuplicateRepliesToOneAttemptCountOnce) {
  start_poll(100, 1.0, 0.5, 2);
  answer(1, soa_reply(1));
  answer(1, soa_reply(1));
  advance(500ms);
  EXPECT_EQ(attempts(), 2u);
  advance(499ms);
  EXPECT_EQ(attempts(), 2u);
}

TEST_F(RequestTest, StaleTimeoutAfterAnswerIsIgnored) {
  start_poll(100, 1.0, 2.0, 1);
  answer(1, soa_reply(1)); // next attempt due at 2.0 s
  advance(1s);             // attempt 1's timeout fires now: stale
  EXPECT_EQ(attempts(), 1u);
  advance(1s);
  EXPECT_EQ(attempts(), 2u);
}

TEST_F(RequestTest, SendErrorFailsTheAttemptAtOnce) {
  start_poll(100, 1.0, 0.5, 1);
  caf::anon_send(caf::actor_cast<request_actor>(udp_seen->senders[0]),
                 send_error_atom::value, uint32_t{1}, ENETUNREACH);
  sched.run();
  advance(500ms);
  EXPECT_EQ(attempts(), 2u);
  advance(1s);
  auto r = final_reply();
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.detail, "timeout");
}
