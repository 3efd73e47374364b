// The ZeroMQ link's intake control, with a stand-in for the UDP engine:
// while the UDP side reports that its attempt timers run late, casts wait
// in ZeroMQ; once it has caught up, they are taken. No sleeps: every wait
// is on a condition the link's thread signals (with a 5 s cap).

#include "actors/zmq_bridge.hpp"
#include "apps/minidns-ctl/client_codec.hpp"
#include "messages/register.hpp"
#include "metrics/registry.hpp"

#include <caf/all.hpp>
#include <condition_variable>
#include <future>
#include <gtest/gtest.h>
#include <mutex>
#include <zmq.hpp>

using namespace minidns;
using namespace std::chrono_literals;

namespace {

/// The UDP engine's place: reports a settable timer lag and records each
/// query with the lag at the time it came.
class lagging_udp : public query_port {
public:
  void query(caf::strong_actor_ptr, dns_query) override {
    std::lock_guard<std::mutex> guard{mtx};
    lag_at_query.push_back(lag);
    cv.notify_all();
  }
  void pause(caf::strong_actor_ptr, uint64_t, uint32_t, int64_t) override {}
  void release(uint64_t) override {}
  int64_t timer_lag_ns() const override {
    std::lock_guard<std::mutex> guard{mtx};
    ++lag_reads;
    cv.notify_all();
    return lag;
  }

  /// Waits until `pred` holds (under the lock); false after 5 s.
  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, 5s, pred);
  }

  mutable std::mutex mtx;
  mutable std::condition_variable cv;
  mutable uint64_t lag_reads = 0;
  int64_t lag = 0;
  std::vector<int64_t> lag_at_query;
};

struct link_config : caf::actor_system_config {
  link_config() {
    set("scheduler.max-threads", 2);
    register_message_types(*this);
  }
};

TEST(ZmqLink, CastsWaitWhileAttemptTimersRunLate) {
  link_config cfg;
  caf::actor_system sys{cfg};
  zmq_bridge_options opts;
  opts.endpoint = "tcp://127.0.0.1:*";
  auto counts = std::make_unique<metrics::registry>();
  opts.metrics = counts.get();
  auto link = bind_zmq_bridge_loop(opts);
  auto udp = std::make_shared<lagging_udp>();
  udp->lag = 50'000'000; // 50 ms behind
  std::promise<void> stopped;
  auto bridge = sys.spawn(zmq_bridge, link, udp, caf::timespan{1s},
                          [&stopped] { stopped.set_value(); });
  // However the test ends, the bridge stops before the actor system waits
  // for it.
  struct stop_bridge {
    zmq_bridge_actor bridge;
    ~stop_bridge() {
      caf::anon_send(bridge, drain_atom::value);
      caf::anon_send(bridge, force_atom::value);
    }
  } guard{bridge};

  zmq::context_t ctx;
  zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(bound_endpoint(*link));
  auto cast =
      messages::encode_cast(messages::method::poll_for_serial_number,
                            "example.com.", 1, "192.0.2.1", 5.0, 1.0, 0);
  dealer.send(zmq::buffer(cast));

  // The link keeps looking at the lag (every millisecond while it is high)
  // and leaves the cast in ZeroMQ.
  uint64_t reads_before = 0;
  {
    std::lock_guard<std::mutex> guard{udp->mtx};
    reads_before = udp->lag_reads;
  }
  ASSERT_TRUE(udp->wait([&] { return udp->lag_reads >= reads_before + 50; }));
  {
    std::lock_guard<std::mutex> guard{udp->mtx};
    EXPECT_TRUE(udp->lag_at_query.empty());
    udp->lag = 0; // caught up
  }
  EXPECT_EQ(counts->casts_total(), 0u);
  EXPECT_EQ(counts->zmq.intake_pauses.load(), 1u);

  // The cast is taken now, and its request started.
  ASSERT_TRUE(udp->wait([&] { return !udp->lag_at_query.empty(); }));
  EXPECT_EQ(udp->lag_at_query, std::vector<int64_t>{0});
  EXPECT_EQ(counts->casts_total(), 1u);

  // Stop: the poll ends with ERROR "shutdown" and its reply goes out.
  caf::anon_send(bridge, drain_atom::value);
  caf::anon_send(bridge, force_atom::value);
  zmq::message_t reply;
  dealer.set(zmq::sockopt::rcvtimeo, 5000);
  ASSERT_TRUE(dealer.recv(reply));
  std::string err;
  auto r = messages::decode_reply(reply.data(), reply.size(), err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->status, "ERROR");
  EXPECT_EQ(r->detail, "shutdown");
  EXPECT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
}

} // namespace
