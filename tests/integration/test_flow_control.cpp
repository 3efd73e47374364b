// Flow control per destination, seen from outside: the cap on queries
// outstanding to one server, its queue (in /metrics), a timeout that starts
// when the query leaves, a rate, and that a silent server holds up no
// other. How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

class FlowControlLive : public daemon_test {};

/// Receives `n` replies (or fewer, failing the test), keyed by request_id.
std::map<std::string, reply_frame> collect(pool_manager& pm, size_t n,
                                           milliseconds wait) {
  std::map<std::string, reply_frame> out;
  while (out.size() < n) {
    auto got = receive(pm, wait);
    if (!got) {
      ADD_FAILURE() << "only " << out.size() << " of " << n << " replies";
      break;
    }
    out.emplace(got->r.raw_request_id, *got);
  }
  return out;
}

TEST_F(FlowControlLive,
       PastTheCapQueriesWaitAndTheirTimeoutStartsWhenTheyLeave) {
  start({"--minidns.max-outstanding-per-destination=2"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  // Five single-attempt polls with a 400 ms timeout to a silent server:
  // two go out, three wait; each pair leaves when the previous one times
  // out. Five zones: identical polls would share one query.
  for (int i = 0; i < 5; ++i)
    pm->send(poll_cast("silent" + std::to_string(i) + ".test.", 1,
                       r.destination(), 0.4, 0, 0,
                       mp_str("p" + std::to_string(i))));
  ASSERT_TRUE(wait_for_metric("minidns_dns_queries_waiting", 3)) << scrape();
  EXPECT_EQ(metric("minidns_dns_queries_outstanding"), 2);
  EXPECT_EQ(metric("minidns_dns_queries_queued_total"), 3);

  auto replies = collect(*pm, 5, 5s);
  for (auto& [id, rep] : replies) {
    EXPECT_EQ(rep.r.status, "ERROR") << rep.json();
    EXPECT_EQ(rep.r.detail, "timeout") << rep.json() << " (not shutdown)";
  }
  // Never more than two outstanding: the k-th query left no sooner than
  // one timeout after the (k-2)-th.
  auto qs = r.queries();
  ASSERT_EQ(qs.size(), 5u) << summary(qs);
  for (size_t k = 2; k < qs.size(); ++k)
    EXPECT_GE(qs[k].when - qs[k - 2].when, 380ms) << summary(qs);
  EXPECT_EQ(metric("minidns_dns_queries_waiting"), 0);
}

TEST_F(FlowControlLive, ASilentServerHoldsUpNoOther) {
  start({"--minidns.max-outstanding-per-destination=4"});
  responder silent_server;
  zone_script silent;
  silent.silent = true;
  silent_server.default_script(silent);
  for (int i = 0; i < 200; ++i) // one zone each: no shared queries
    pm->send(poll_cast("silent" + std::to_string(i) + ".test.", 1,
                       silent_server.destination(), 5.0, 0, 0,
                       mp_str("s" + std::to_string(i))));
  ASSERT_TRUE(wait_for_metric("minidns_dns_queries_waiting", 196));
  // A poll to another server is answered at once.
  responder healthy;
  auto t0 = clock_type::now();
  auto others = barrier(healthy);
  EXPECT_LT(clock_type::now() - t0, 2s);
  EXPECT_TRUE(others.empty()) << summary(others);
  EXPECT_EQ(silent_server.count(), 4u);
}

TEST_F(FlowControlLive, ARateSpacesNotifiesToOneServer) {
  start({"--minidns.notify-rate=10"}); // one per 100 ms
  responder r;
  // Four zones (identical NOTIFYs would be coalesced), one server.
  for (int i = 0; i < 4; ++i)
    pm->send(notify_cast("paced" + std::to_string(i) + ".test.",
                         r.destination(), 2.0));
  // All four arrive; each no sooner than 100 ms after the one before.
  ASSERT_TRUE(r.wait_for_count(4, 5s));
  auto qs = r.queries();
  ASSERT_EQ(qs.size(), 4u);
  for (size_t k = 1; k < qs.size(); ++k)
    EXPECT_GE(qs[k].when - qs[k - 1].when, 90ms) << summary(qs);
  EXPECT_GE(metric("minidns_dns_queries_queued_total"), 3);
}

} // namespace
