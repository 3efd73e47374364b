// Faults around minidns with real servers (issue 14's crashes and
// restarts): a DNS server that goes away mid-poll and comes back within the
// polls' budget, and a minidns killed during its drain that must start
// again at once on the same ports. (A pool manager that comes back with
// its routing id collects its held statuses: tests/integration/
// test_reconnect.cpp. Instances killed under a pool manager:
// tests/cluster/.)

#include "server_test.hpp"

#include <csignal>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::server_tests;

class Faults : public ServerTest {};

TEST_F(Faults, ADnsServerStoppedMidPollAndStartedAgainWithinTheBudgetIsPolled) {
  const std::vector<std::string> zones{"f0.test.", "f1.test.", "f2.test."};
  std::map<std::string, uint32_t> at1;
  for (const auto& z : zones)
    at1[z] = 1;
  auto* nsd = &start_primary(at1);
  const auto dest = nsd->destination();
  auto& md = start_minidns({}, "info");
  it::pool_manager pm(md.endpoint());

  // Polls for serial 2, with 20 s of budget: NSD serves 1 for now.
  constexpr int per_zone = 10;
  for (int i = 0; i < per_zone; ++i)
    for (const auto& z : zones)
      pm.send(messages::encode_cast(messages::method::poll_for_serial_number, z,
                                    2, dest, 0.5, 0.25, 40));
  ASSERT_TRUE(metric_reaches(
      md, "the first answers (serial 1)",
      [](const std::string& page) {
        return it::metric_sum(page, "minidns_dns_replies_total") >= 3 ? 1.0
                                                                      : 0.0;
      },
      1));

  // NSD goes away mid-poll (its port is closed: ICMP ends the attempts
  // early), and comes back on the same port with serial 2.
  auto cfg = nsd->config();
  cfg.port = nsd->port();
  for (auto& [z, serial] : cfg.primary_zones)
    serial = 2;
  nsd->stop();
  ASSERT_TRUE(metric_reaches(
      md, "an ICMP error or a timeout",
      [](const std::string& page) {
        return it::metric_value(
                   page, "minidns_dns_icmp_errors_total{matched=\"true\"}") +
                           it::metric_sum(page,
                                          "minidns_dns_attempts_timed_out_"
                                          "total") >
                       0
                   ? 1.0
                   : 0.0;
      },
      1));
  nsd = &start(cfg);

  size_t success = 0;
  for (size_t n = 0; n < zones.size() * per_zone; ++n) {
    auto r = pm.receive(milliseconds(30000));
    ASSERT_TRUE(r) << "only " << n << " statuses";
    EXPECT_EQ(r->status, "SUCCESS") << r->detail;
    EXPECT_EQ(r->actual_serial, 2u);
    success += r->status == "SUCCESS" ? 1 : 0;
  }
  EXPECT_EQ(success, zones.size() * per_zone);
  EXPECT_FALSE(pm.receive(milliseconds(200)).has_value()) << "one each";
  EXPECT_EQ(md.stop(), 0);
}

TEST_F(Faults, AMinidnsKilledDuringItsDrainStartsAgainAtOnceOnItsPorts) {
  auto* nsd = &start_primary({{"k.test.", 1}});
  const auto endpoint =
      "tcp://127.0.0.1:" + std::to_string(servers::free_port());
  const auto metrics = "127.0.0.1:" + std::to_string(servers::free_port());
  const std::vector<std::string> args{"--minidns.endpoint=" + endpoint,
                                      "--minidns.metrics-endpoint=" + metrics,
                                      "--minidns.drain-timeout=30s"};
  {
    it::daemon_process md(args);
    it::pool_manager pm(md.endpoint());
    // Long polls (serial 2 never comes): the drain would wait for them.
    for (int i = 0; i < 20; ++i)
      pm.send(messages::encode_cast(messages::method::poll_for_serial_number,
                                    "k.test.", 2, nsd->destination(), 0.5, 0.5,
                                    100));
    ASSERT_TRUE(metric_reaches(md, "minidns_requests_in_flight", 20));
    md.signal(SIGTERM);
    ASSERT_TRUE(md.wait_for_line("draining", milliseconds(10000))) << md.log();
    EXPECT_EQ(md.stop(SIGKILL), 128 + SIGKILL);
  }
  // Nothing left behind blocks the same endpoint and /metrics port.
  it::daemon_process again(args);
  EXPECT_EQ(again.endpoint(), endpoint);
  EXPECT_EQ(again.metrics_address().second,
            static_cast<uint16_t>(std::stoi(metrics.substr(10))));
  it::pool_manager pm(again.endpoint());
  pm.send(messages::encode_cast(messages::method::get_serial_number, "k.test.",
                                std::nullopt, nsd->destination(), 0.5, 0, 2));
  auto r = pm.receive(milliseconds(10000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, "SUCCESS") << r->detail;
  EXPECT_EQ(r->actual_serial, 1u);
  EXPECT_EQ(again.stop(), 0);
}

} // namespace
