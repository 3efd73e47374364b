#pragma once
/// The RequestTest fixture, shared by test_requests_poll.cpp,
/// test_requests_retry.cpp and test_requests_notify.cpp. gtest needs one
/// fixture class for all the tests of a suite, so it lives here in a named
/// namespace rather than in each file's anonymous one.
///
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

namespace minidns::request_tests {

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
  std::vector<request_end> ends; ///< in the same order
};

/// The ZeroMQ link's place: records each end.
class mock_sink : public status_port {
public:
  explicit mock_sink(std::shared_ptr<sink_log> log) : log_(std::move(log)) {}
  void done(uint64_t token, std::string frame, request_end end) override {
    log_->done.emplace_back(token, std::move(frame));
    log_->ends.push_back(end);
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

inline net::reply_info
soa_reply(uint32_t serial, uint8_t rcode = net::rcode_noerror, bool aa = true) {
  net::reply_info r;
  r.match = net::reply_match::accepted;
  r.rcode = rcode;
  r.aa = aa;
  r.soa = net::soa_state::found;
  r.serial = serial;
  return r;
}

inline net::reply_info rcode_reply(uint8_t rcode) {
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

  /// Starts a notify; with `want_status`, as if its cast said
  /// `want_status: true`.
  void start_notify(double timeout, double retry, uint32_t max_retries,
                    bool want_status = false) {
    auto c = make_cast(messages::method::notify_zone_changed, 0, timeout, retry,
                       max_retries);
    if (want_status) {
      auto frame = messages::encode_cast(
          messages::method::notify_zone_changed, "example.com.", std::nullopt,
          "192.0.2.1:5300", timeout, retry, max_retries);
      frame[0] = static_cast<char>(frame[0] + 1); // one more key
      frame += std::string("\xabwant_status\xc3");
      auto decoded = messages::decode_cast(frame.data(), frame.size());
      EXPECT_TRUE(decoded.ok) << decoded.error;
      c = std::move(*decoded.ok);
      EXPECT_TRUE(c.wants_status);
    }
    req = start_request(sys, 7, std::move(c), udp, sink);
    sched.run();
  }

  /// The reply frame of the request that ended `k`-th, decoded.
  messages::reply reply_of(size_t k) {
    std::string err;
    const auto& frame = sink_seen->done.at(k).second;
    auto r = messages::decode_reply(frame.data(), frame.size(), err);
    EXPECT_TRUE(r) << err;
    return r.value_or(messages::reply{});
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

} // namespace minidns::request_tests
