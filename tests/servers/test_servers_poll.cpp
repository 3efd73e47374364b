// minidns's polls of real NSD, Knot and BIND (server_test.hpp): serials
// compared with each server's answers, over IPv4 and IPv6, and at scale.

#include "server_test.hpp"

#include <chrono>
#include <cstdint>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::server_tests;

/// A server that polls are sent to.
enum class target {
  nsd_primary,
  nsd_secondary,
  knot_secondary,
  bind_secondary
};

std::string target_name(target t) {
  switch (t) {
  case target::nsd_primary:
    return "NsdPrimary";
  case target::nsd_secondary:
    return "NsdSecondary";
  case target::knot_secondary:
    return "KnotSecondary";
  case target::bind_secondary:
    return "BindSecondary";
  }
  return "Unknown";
}

std::string param_name(const ::testing::TestParamInfo<target>& info) {
  return target_name(info.param);
}

/// Shows the target's name in ctest's list instead of its bytes.
void PrintTo(target t, std::ostream* os) {
  *os << target_name(t);
}

class Polls : public ServerTest, public ::testing::WithParamInterface<target> {
protected:
  static constexpr uint32_t serial = 2024010101;
  /// Served with a serial just past the RFC 1982 wrap.
  static constexpr uint32_t wrapped_serial = 5;

  /// The server under test, serving poll.test. and wrap.test.
  dns_server& start_target() {
    std::map<std::string, uint32_t> zones{{"poll.test.", serial},
                                          {"wrap.test.", wrapped_serial}};
    auto& primary = start_primary(zones);
    switch (GetParam()) {
    case target::nsd_primary:
      return primary;
    case target::nsd_secondary:
      return start_secondary(server_kind::nsd, primary, zones);
    case target::knot_secondary:
      return start_secondary(server_kind::knot, primary, zones);
    case target::bind_secondary:
      return start_secondary(server_kind::bind, primary, zones);
    }
    throw std::logic_error("unknown target");
  }
};

// Equal, newer (also across the serial wrap) and older serials, and a zone
// the server does not have (every one of them answers REFUSED).
TEST_P(Polls, SerialsAndAnUnknownZone) {
  auto& s = start_target();
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  const auto dest = s.destination();
  // Polls that cannot succeed get a short budget.
  auto r = run_polls(pm, {{"poll.test.", serial, dest},
                          {"poll.test.", serial - 1, dest},
                          {"wrap.test.", wrapped_serial - 10, dest},
                          {"poll.test.", serial + 1, dest, 2},
                          {"nosuch.test.", serial, dest, 2}});
  ASSERT_EQ(r.size(), 5u);
  expect_status(r[0], "SUCCESS", serial, "matched", "equal serial");
  expect_status(r[1], "SUCCESS", serial, "newer", "newer serial");
  expect_status(r[2], "SUCCESS", wrapped_serial, "newer",
                "newer serial across the wrap");
  expect_status(r[3], "ERROR", serial, "lower serial", "older serial");
  expect_status(r[4], "ERROR", std::nullopt, "rcode REFUSED", "unknown zone");
  // Logged before the reply is sent, but read from minidns's stderr by
  // another thread: give it a moment.
  EXPECT_TRUE(md.wait_for_line("ERROR after 3 attempt(s): lower serial",
                               milliseconds(5000)));
}

TEST_P(Polls, OverIPv6) {
  if (!servers::ipv6_loopback_available())
    GTEST_SKIP() << "no IPv6 on loopback (::1)";
  auto& s = start_target();
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  const auto dest = s.destination_v6();
  auto r = run_polls(pm, {{"poll.test.", serial, dest},
                          {"poll.test.", serial - 1, dest},
                          {"poll.test.", serial + 1, dest, 2}});
  ASSERT_EQ(r.size(), 3u);
  expect_status(r[0], "SUCCESS", serial, "matched", dest + " equal serial");
  expect_status(r[1], "SUCCESS", serial, "newer", dest + " newer serial");
  expect_status(r[2], "ERROR", serial, "lower serial", dest + " older serial");
}

INSTANTIATE_TEST_SUITE_P(Servers, Polls,
                         ::testing::Values(target::nsd_primary,
                                           target::nsd_secondary,
                                           target::knot_secondary,
                                           target::bind_secondary),
                         param_name);

using Scale = ServerTest;

// 10,000 polls over 1,000 zones served by NSD, sent at once: every poll is
// answered exactly once, with SUCCESS and the zone's serial.
TEST_F(Scale, TenThousandPollsOverAThousandZones) {
  constexpr size_t zones = 1000, polls_per_zone = 10;
  std::map<std::string, uint32_t> served;
  std::vector<std::string> names;
  for (size_t z = 0; z < zones; ++z) {
    names.push_back("z" + std::to_string(z) + ".scale.test.");
    served[names.back()] = static_cast<uint32_t>(1000 + z);
  }
  auto& nsd = start_primary(served);
  auto& md = start_minidns({}, "info");
  it::pool_manager pm(md.endpoint());

  std::vector<poll_case> polls;
  for (size_t k = 0; k < zones * polls_per_zone; ++k) {
    const auto& zone = names[k % zones];
    // Every other poll asks for an older serial than served: "newer".
    uint32_t asked = served[zone] - static_cast<uint32_t>((k / zones) % 2);
    polls.push_back({zone, asked, nsd.destination()});
  }
  auto start = std::chrono::steady_clock::now();
  auto replies = run_polls(pm, polls, milliseconds(120000));
  auto took = std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - start);

  size_t success = 0;
  for (size_t k = 0; k < polls.size(); ++k) {
    const auto& r = replies[k];
    if (r && r->status == "SUCCESS" &&
        r->actual_serial == served[polls[k].zone]) {
      ++success;
      continue;
    }
    if (k - success <= 20) // report the first few only
      ADD_FAILURE() << "poll " << k << " (" << polls[k].zone << " "
                    << polls[k].serial
                    << "): " << (r ? r->status + " " + r->detail : "no reply");
  }
  EXPECT_EQ(success, polls.size());

  // No reply beyond one per poll: with nothing left in flight, minidns
  // counts what it sent, and nothing else arrives once it has flushed
  // everything and exited.
  const auto n = static_cast<double>(polls.size());
  EXPECT_TRUE(metric_reaches(md, "minidns_requests_in_flight", 0));
  EXPECT_TRUE(metric_reaches(md, "minidns_replies_sent_total", n));
  auto page = md.scrape();
  auto queries = it::metric_sum(page, "minidns_dns_queries_total");
  auto shared = it::metric_value(page, "minidns_shared_attempts_total");
  EXPECT_EQ(md.stop(), 0);
  EXPECT_FALSE(pm.receive_raw(milliseconds(200)).has_value());
  ASSERT_GE(queries, 0) << "no minidns_dns_queries_total in:\n" << page;
  ASSERT_GE(shared, 0) << "no minidns_shared_attempts_total in:\n" << page;
  // Each attempt asked a query of its own or rode on an identical one.
  auto sent = static_cast<uint64_t>(queries);
  auto rode = static_cast<uint64_t>(shared);
  EXPECT_GE(sent + rode, polls.size());
  std::cout << "[ scale    ] " << polls.size() << " polls in " << took.count()
            << " ms; " << sent << " queries sent, " << rode
            << " attempts rode on identical queries ("
            << (sent + rode - polls.size()) << " resends)\n";
  RecordProperty("milliseconds", static_cast<int>(took.count()));
  RecordProperty("queries_sent", static_cast<int>(sent));
}

// A burst of 100,000 single-attempt polls for one zone to one NSD, sent at
// once: with flow control per destination (at most 500 outstanding, the
// rest queued) NSD's socket buffer never overflows, so every one succeeds.
// (With max-outstanding-per-destination=0 this test fails: thousands end
// ERROR "timeout".)
TEST_F(Scale, HundredThousandSingleAttemptPollsToOneNsdAllSucceed) {
  auto& nsd = start_primary({{"burst.test.", 9}});
  auto& md = start_minidns({}, "info");
  it::pool_manager pm(md.endpoint());
  std::vector<poll_case> polls(
      100000, poll_case{"burst.test.", 9, nsd.destination(), 0});
  auto replies = run_polls(pm, polls, milliseconds(240000));
  EXPECT_EQ(count_successes(replies, 9), polls.size());
  EXPECT_EQ(md.stop(), 0);
}

} // namespace
