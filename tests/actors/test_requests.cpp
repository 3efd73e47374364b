/// Deterministic tests of the request actor: CAF's test_coordinator runs
/// every actor on the test's thread and time only moves when the test says,
/// so the retry schedule is checked to the microsecond without sleeping.
/// The UDP engine and the ZeroMQ link are recording doubles implementing
/// the real ports (actors/ports.hpp).

#include "actors/request.hpp"
#include "apps/minidns-ctl/client_codec.hpp"
#include "messages/register.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>
#include <memory>
#include <vector>

using namespace minidns;
using namespace std::chrono_literals;

namespace {

/// What the request handed to the UDP side.
struct udp_log {
  std::vector<dns_query> queries;
  std::vector<caf::strong_actor_ptr> senders;
  std::vector<uint64_t> releases;
  struct pause_call {
    uint64_t token;
    uint32_t attempt;
    int64_t delay_ns;
  };
  std::vector<pause_call> pauses; ///< retry pauses asked of the UDP side
};

/// The UDP engine's place: records queries and releases. Calls come from
/// the request actor, which the test coordinator runs on the test's thread.
class mock_udp : public query_port {
public:
  explicit mock_udp(std::shared_ptr<udp_log> log) : log_(std::move(log)) {}
  void query(caf::strong_actor_ptr owner, dns_query q) override {
    // The engine's timer, on CAF's (simulated) clock.
    if (q.timeout_ns > 0)
      caf::delayed_anon_send(caf::actor_cast<request_actor>(owner),
                             std::chrono::nanoseconds(q.timeout_ns),
                             timeout_atom::value, q.attempt);
    log_->queries.push_back(std::move(q));
    log_->senders.push_back(std::move(owner));
  }
  void pause(caf::strong_actor_ptr owner, uint64_t token, uint32_t attempt,
             int64_t delay_ns) override {
    // The engine's pause, on CAF's (simulated) clock.
    log_->pauses.push_back({token, attempt, delay_ns});
    caf::delayed_anon_send(caf::actor_cast<request_actor>(owner),
                           std::chrono::nanoseconds(delay_ns),
                           retry_atom::value, attempt);
  }
  void release(uint64_t token) override { log_->releases.push_back(token); }

private:
  std::shared_ptr<udp_log> log_;
};

/// What the request reported at its end.
struct sink_log {
  std::vector<std::pair<uint64_t, std::string>> done;
};

/// The ZeroMQ link's place: records each end.
class mock_sink : public status_port {
public:
  explicit mock_sink(std::shared_ptr<sink_log> log) : log_(std::move(log)) {}
  void done(uint64_t token, std::string frame) override {
    log_->done.emplace_back(token, std::move(frame));
  }

private:
  std::shared_ptr<sink_log> log_;
};

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.inline-output", true);
    register_message_types(*this);
  }
};

net::reply_info soa_reply(uint32_t serial, uint8_t rcode = net::rcode_noerror,
                          bool aa = true) {
  net::reply_info r;
  r.match = net::reply_match::accepted;
  r.rcode = rcode;
  r.aa = aa;
  r.soa = net::soa_state::found;
  r.serial = serial;
  return r;
}

net::reply_info rcode_reply(uint8_t rcode) {
  net::reply_info r;
  r.match = net::reply_match::accepted;
  r.rcode = rcode;
  r.aa = true;
  return r;
}

class RequestTest : public ::testing::Test {
protected:
  RequestTest()
      : sys(cfg),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        udp_seen(std::make_shared<udp_log>()),
        sink_seen(std::make_shared<sink_log>()) {
    udp = std::make_shared<mock_udp>(udp_seen);
    sink = std::make_shared<mock_sink>(sink_seen);
  }

  ~RequestTest() override {
    // Requests still waiting on a timer would keep the system alive.
    if (req)
      caf::anon_send_exit(req, caf::exit_reason::user_shutdown);
    sched.run();
    sys.await_actors_before_shutdown(false);
  }

  /// Builds a cast the way the bridge gets it: encoded, then decoded.
  static messages::cast make_cast(messages::method m, uint32_t serial,
                                  double timeout, double retry,
                                  uint32_t max_retries) {
    auto frame =
        messages::encode_cast(m, "example.com.", serial, "192.0.2.1:5300",
                              timeout, retry, max_retries);
    auto decoded = messages::decode_cast(frame.data(), frame.size());
    EXPECT_TRUE(decoded.ok) << decoded.error;
    return std::move(*decoded.ok);
  }

  void start_poll(uint32_t serial, double timeout, double retry,
                  uint32_t max_retries) {
    req = start_request(sys, 7,
                        make_cast(messages::method::poll_for_serial_number,
                                  serial, timeout, retry, max_retries),
                        udp, sink);
    sched.run();
  }

  void start_notify(double timeout, double retry, uint32_t max_retries) {
    req = start_request(sys, 7,
                        make_cast(messages::method::notify_zone_changed, 0,
                                  timeout, retry, max_retries),
                        udp, sink);
    sched.run();
  }

  /// Moves simulated time by `d`, stopping at every timer on the way and
  /// running what it triggered, as real time would.
  void advance(caf::timespan d) {
    auto& clock = sched.clock();
    auto target = clock.now() + d;
    while (!clock.schedule().empty() &&
           clock.schedule().begin()->first <= target) {
      sched.advance_time(clock.schedule().begin()->first - clock.now());
      sched.run();
    }
    sched.advance_time(target - clock.now());
    sched.run();
  }

  /// Delivers a reply for `attempt` as the UDP thread would.
  void answer(uint32_t attempt, const net::reply_info& info) {
    ASSERT_GE(udp_seen->senders.size(), attempt);
    caf::anon_send(
        caf::actor_cast<request_actor>(udp_seen->senders[attempt - 1]),
        answer_atom::value, attempt, info);
    sched.run();
  }

  size_t attempts() const { return udp_seen->queries.size(); }

  /// The single status the request reported.
  messages::reply final_reply() {
    EXPECT_EQ(sink_seen->done.size(), 1u);
    std::string err;
    auto& frame = sink_seen->done.at(0).second;
    auto r = messages::decode_reply(frame.data(), frame.size(), err);
    EXPECT_TRUE(r) << err;
    return r ? *r : messages::reply{};
  }

  test_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  std::shared_ptr<udp_log> udp_seen;
  std::shared_ptr<sink_log> sink_seen;
  std::shared_ptr<query_port> udp;
  std::shared_ptr<status_port> sink;
  request_actor req;
};

} // namespace

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
