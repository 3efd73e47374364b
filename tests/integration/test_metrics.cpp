// The Prometheus endpoint of the real daemon: scraped before, during and
// after traffic, its counters must move exactly as the traffic says, and
// promtool must accept the page.

#include "fixture.hpp"

#include <cstdio>
#include <fstream>
#include <thread>
#include <tuple>

namespace {

using namespace minidns;
using namespace minidns::it;

class Metrics : public daemon_test {
protected:
  void SetUp() override {
    start({"--minidns.metrics-endpoint=127.0.0.1:0"});
    std::tie(host, port) = mdns->metrics_address();
    ASSERT_NE(port, 0) << mdns->log();
    EXPECT_EQ(host, "127.0.0.1");
  }

  /// GET /metrics; fails the test on anything but 200 with Prometheus's
  /// text format.
  std::string scrape() {
    auto res = http_get(host, port, "/metrics", 10000ms);
    EXPECT_TRUE(res) << "no answer from /metrics";
    if (!res)
      return {};
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->content_type, "text/plain; version=0.0.4; charset=utf-8");
    return res->body;
  }

  std::string host;
  uint16_t port = 0;
};

TEST_F(Metrics, CountersFollowTheTrafficAndPromtoolAcceptsThePage) {
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("silent.test.", silent);
  zone_script refuse;
  refuse.notify_rcode = 5;
  r.script("refuse.test.", refuse);
  zone_script forged;
  forged.spoof_wrong_id = true;
  r.script("forged.test.", forged);

  auto before = scrape();
  EXPECT_EQ(metric_value(before, "minidns_requests_in_flight"), 0);
  EXPECT_EQ(metric_value(before, "minidns_requests_in_flight_limit"), 100000);
  // (Connections are checked after traffic: the DEALER connects in the
  // background, and minidns may not have seen it yet.)
  EXPECT_GE(metric_value(before, "minidns_zmq_connections"), 0);

  // Two polls to a silent zone stay in flight to the end of the test (the
  // drain ends them): seen mid-run and at the end, however slow the
  // machine. (With 5 s they once ended first under ASan at ctest -j4.)
  // Two zones: identical polls would share one query.
  r.script("silent2.test.", silent);
  pm->send(poll_cast("silent.test.", 1, r.destination(), 60.0, 0, 0,
                     mp_str("slow-1")));
  pm->send(poll_cast("silent2.test.", 1, r.destination(), 60.0, 0, 0,
                     mp_str("slow-2")));
  ASSERT_TRUE(r.wait_for_count("silent.test.", 1, reply_wait));
  ASSERT_TRUE(r.wait_for_count("silent2.test.", 1, reply_wait));
  auto during = scrape();
  EXPECT_EQ(metric_value(during, "minidns_requests_in_flight"), 2);
  EXPECT_EQ(
      metric_value(during,
                   "minidns_casts_total{method=\"poll_for_serial_number\"}"),
      2);

  // Three polls that succeed (one after a forged reply), one that times
  // out after two attempts, a notify answered, a notify refused, two
  // invalid casts.
  for (const char* z : {"a.test.", "b.test.", "forged.test."}) {
    auto got = poll_once(*pm, poll_cast(z, 1, r.destination()));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  }
  // Both its attempts ride on slow-1's query, in flight all along.
  auto got =
      poll_once(*pm, poll_cast("silent.test.", 1, r.destination(), 0.05, 0, 1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  pm->send(notify_cast("n.test.", r.destination()));
  pm->send(notify_cast("refuse.test.", r.destination()));
  ASSERT_TRUE(r.wait_for_count("refuse.test.", 1, reply_wait));
  pm->send("garbage");
  auto bad = poll_fields(r.destination());
  bad.set("timeout", mp_int(-1));
  pm->send(bad.encode());
  ASSERT_TRUE(receive(*pm));
  ASSERT_TRUE(receive(*pm));
  // Both notifies have ended once a later poll is answered.
  EXPECT_TRUE(barrier(r).empty());

  // The ZeroMQ thread counts a reply just after it hands it over, and
  // publishes in-flight at the end of its turn: the barrier's reply can
  // arrive a moment before both (seen under ASan). Scrape until they
  // settle, for at most reply_wait; the checks below tell if they never do.
  std::string after;
  for (auto give_up = std::chrono::steady_clock::now() + reply_wait;;) {
    after = scrape();
    if ((metric_value(after, "minidns_replies_sent_total") == 5 + 2 &&
         metric_value(after, "minidns_requests_in_flight") == 2) ||
        std::chrono::steady_clock::now() > give_up)
      break;
    std::this_thread::sleep_for(5ms);
  }
  const std::string poll = "method=\"poll_for_serial_number\"";
  const std::string notify = "method=\"notify_zone_changed\"";
  EXPECT_EQ(metric_value(after, "minidns_casts_total{" + poll + "}"),
            2 + 4 + 1);
  EXPECT_EQ(metric_value(after, "minidns_casts_total{" + notify + "}"), 2);
  EXPECT_EQ(
      metric_value(after, "minidns_invalid_casts_total{reason=\"frame\"}"), 1);
  EXPECT_EQ(
      metric_value(after, "minidns_invalid_casts_total{reason=\"timeout\"}"),
      1);
  EXPECT_EQ(metric_value(after, "minidns_requests_total{" + poll +
                                    ",status=\"SUCCESS\",detail=\"matched\"}"),
            3 + 1); // and the barrier
  EXPECT_EQ(metric_value(after, "minidns_requests_total{" + poll +
                                    ",status=\"ERROR\",detail=\"timeout\"}"),
            1);
  EXPECT_EQ(
      metric_value(after, "minidns_requests_total{" + notify +
                              ",status=\"SUCCESS\",detail=\"acknowledged\"}"),
      1);
  EXPECT_EQ(
      metric_value(after, "minidns_requests_total{" + notify +
                              ",status=\"ERROR\",detail=\"rcode REFUSED\"}"),
      1);
  EXPECT_EQ(metric_value(after, "minidns_requests_in_flight"), 2);
  // Queries: 2 slow + 3 + the barrier; 2 notifies. The two attempts of
  // the poll that timed out shared slow-1's query.
  EXPECT_EQ(metric_value(after, "minidns_dns_queries_total{kind=\"soa\"}"), 6);
  EXPECT_EQ(metric_value(after, "minidns_shared_attempts_total"), 2);
  EXPECT_EQ(metric_value(after, "minidns_shared_answers_total"), 0);
  EXPECT_EQ(metric_value(after, "minidns_dns_queries_total{kind=\"notify\"}"),
            2);
  EXPECT_EQ(
      metric_value(after, "minidns_dns_attempts_timed_out_total{kind=\"soa\"}"),
      2);
  EXPECT_EQ(metric_value(after, "minidns_dns_replies_total{rcode=\"NOERROR\"}"),
            3 + 1 + 1);
  EXPECT_EQ(metric_value(after, "minidns_dns_replies_total{rcode=\"REFUSED\"}"),
            1);
  EXPECT_EQ(
      metric_value(after,
                   "minidns_dns_replies_dropped_total{reason=\"unmatched\"}"),
      1);
  EXPECT_EQ(
      metric_value(after, "minidns_dns_round_trip_seconds_count{kind=\"soa\"}"),
      4);
  // One lateness sample per attempt that timed out, none for answered ones.
  EXPECT_EQ(metric_value(after,
                         "minidns_dns_attempt_timer_lateness_seconds_count{"
                         "kind=\"soa\"}"),
            2);
  // (Present; its value depends on how busy the machine is.)
  EXPECT_GE(metric_value(after, "minidns_cast_intake_pauses_total"), 0);
  EXPECT_EQ(metric_value(after, "minidns_request_duration_seconds_count{" +
                                    poll + "}"),
            5);
  EXPECT_EQ(metric_value(after, "minidns_request_duration_seconds_bucket{" +
                                    poll + ",le=\"+Inf\"}"),
            5);
  EXPECT_EQ(metric_value(after, "minidns_replies_sent_total"), 5 + 2);
  EXPECT_EQ(metric_value(after, "minidns_zmq_connections"),
            1); // the fixture's pm

  // promtool, from Debian's prometheus package, checks the format.
  auto path = ::testing::TempDir() + "minidns-metrics-" +
              std::to_string(::getpid()) + ".txt";
  std::ofstream(path) << after;
  auto res = run_program({"/bin/sh", "-c", "promtool check metrics < " + path},
                         10000ms);
  EXPECT_EQ(res.status, 0) << "promtool: " << res.out << res.err;
  std::remove(path.c_str());
}

TEST_F(Metrics, OtherPathsAre404) {
  auto res = http_get(host, port, "/", 10000ms);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

} // namespace
