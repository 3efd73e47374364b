// minidns against NSD with response rate limiting on, as NSD ships it but
// stricter (rrl-ratelimit 20, rrl-slip 1: every answer over the limit is
// an empty one with TC=1). Truncated answers are asked again over TCP
// (RFC 7766), where no rate limit applies: every poll succeeds.

#include "server_test.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::server_tests;

using Truncation = ServerTest;

TEST_F(Truncation, RateLimitedPollsAreAskedAgainOverTcpAndSucceed) {
  servers::server_config cfg;
  cfg.kind = server_kind::nsd;
  cfg.address = primary_address;
  cfg.primary_zones = {{"rrl.test.", 7}};
  cfg.rrl_ratelimit = 20;
  cfg.rrl_slip = 1;
  auto& nsd = start(cfg);
  // Each poll its own query: shared ones would never reach the rate limit.
  auto& md = start_minidns({"--minidns.share-queries=false"}, "info");
  it::pool_manager pm(md.endpoint());

  // Single attempts: a truncated answer left as it is would end ERROR.
  std::vector<poll_case> polls(1000,
                               poll_case{"rrl.test.", 7, nsd.destination(), 0});
  auto replies = run_polls(pm, polls, milliseconds(120000));
  EXPECT_EQ(count_successes(replies, 7), polls.size());
  // The rate limit did bite, and TCP answered what it truncated.
  auto page = md.scrape();
  EXPECT_GT(it::metric_value(page, "minidns_dns_tcp_queries_total"), 100)
      << page;
  EXPECT_EQ(md.stop(), 0);
}

} // namespace
