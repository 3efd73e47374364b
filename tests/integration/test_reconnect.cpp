// Integration tests of replies held for a pool manager that disconnects and
// comes back (minidns.reply-hold, minidns.reply-hold-max).
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <cstdint>
#include <set>
#include <string>

namespace {

using namespace minidns;
using namespace minidns::it;

class Reconnect : public daemon_test {
protected:
  /// Sends `n` polls to a silent zone through a pool manager with routing
  /// id `id`, waits until the responder has them all, disconnects, and
  /// waits until minidns has logged `times` lines with `then` (by default,
  /// once that it holds `n` replies: a debug line).
  void polls_then_leave(responder& r, const std::string& id, int n,
                        std::string then = {}, size_t times = 1) {
    zone_script silent;
    silent.silent = true;
    r.default_script(silent);
    {
      pool_manager leaver(mdns->endpoint(), with_id(id));
      for (int i = 0; i < n; ++i)
        // 1 s: time for minidns to see the leaver go before the statuses
        // come, even on a loaded machine (a status that comes first goes
        // into a pipe that is closing, and is lost with it). One zone
        // each: identical polls would share their queries.
        leaver.send(poll_cast("away" + std::to_string(i) + ".test.", 1,
                              r.destination(), 1.0, 0, 0, mp_int(i)));
      ASSERT_TRUE(r.wait_for_count(static_cast<size_t>(n), reply_wait));
    }
    if (then.empty())
      then = "(" + std::to_string(n) + " held)";
    ASSERT_TRUE(mdns->wait_for_lines(then, times, reply_wait)) << mdns->log();
  }

  static pm_options with_id(const std::string& id) {
    pm_options o;
    o.routing_id = id;
    return o;
  }
};

TEST_F(Reconnect, StatusesFinishedMeanwhileAreDelivered) {
  start({"--minidns.log-level=debug"});
  responder r;
  constexpr int n = 5;
  polls_then_leave(r, "pm-reconnect", n);
  pool_manager back(mdns->endpoint(), with_id("pm-reconnect"));
  std::set<int64_t> ids;
  // Any cast announces it; the held replies come without one too, but the
  // barrier makes the test quick and shows the rest of the service works.
  auto others = barrier(r, &back);
  for (auto& got : others) {
    EXPECT_EQ(got.r.status, "ERROR") << got.json();
    EXPECT_EQ(got.r.detail, "timeout") << got.json();
    ids.insert(as_int(got.r.raw_request_id));
  }
  while (ids.size() < n) {
    auto got = receive(back);
    ASSERT_TRUE(got) << "only " << ids.size() << " held replies";
    ids.insert(as_int(got->r.raw_request_id));
  }
  EXPECT_EQ(ids, (std::set<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(wait_for_metric("minidns_replies_held_delivered_total", 5));
  EXPECT_EQ(metric("minidns_replies_dropped_total"), 0);
  EXPECT_EQ(metric("minidns_replies_held"), 0); // none left to drop
}

TEST_F(Reconnect, HeldRepliesComeWithoutACastToo) {
  start({"--minidns.log-level=debug"});
  responder r;
  polls_then_leave(r, "pm-quiet", 3);
  pool_manager back(mdns->endpoint(), with_id("pm-quiet"));
  for (int i = 0; i < 3; ++i) {
    auto got = receive(back);
    ASSERT_TRUE(got) << "only " << i << " held replies";
    EXPECT_EQ(got->r.status, "ERROR") << got->json();
  }
}

TEST_F(Reconnect, HeldRepliesExpireWithALogLine) {
  start({"--minidns.log-level=debug", "--minidns.reply-hold=300ms"});
  responder r;
  polls_then_leave(r, "pm-late", 2);
  // Both replies expire (each drop is logged: counts 1 and 2 are powers of
  // two). They may have been held a few ms apart, so waiting for the first
  // line only let the second reach the returning pool manager under load.
  ASSERT_TRUE(mdns->wait_for_lines(
      "did not reconnect within minidns.reply-hold", 2, reply_wait));
  pool_manager back(mdns->endpoint(), with_id("pm-late"));
  auto others = barrier(r, &back);
  EXPECT_TRUE(others.empty()) << summary(others);
  EXPECT_TRUE(wait_for_metric("minidns_replies_dropped_total", 2));
  EXPECT_EQ(metric("minidns_replies_held_delivered_total"), 0);
}

TEST_F(Reconnect, AtMostReplyHoldMaxAreKept) {
  start({"--minidns.log-level=debug", "--minidns.reply-hold-max=2"});
  responder r;
  // Holding the 3rd, 4th and 5th reply drops the oldest each time: "(2
  // held)" is logged four times once all five have ended.
  polls_then_leave(r, "pm-many", 5, "(2 held)", 4);
  EXPECT_TRUE(mdns->wait_for_line("more than minidns.reply-hold-max", 0ms));
  pool_manager back(mdns->endpoint(), with_id("pm-many"));
  int got_n = 0;
  auto others = barrier(r, &back);
  got_n += static_cast<int>(others.size());
  while (got_n < 2 && receive(back))
    ++got_n;
  EXPECT_EQ(got_n, 2);
  EXPECT_TRUE(wait_for_metric("minidns_replies_held_delivered_total", 2));
  EXPECT_EQ(metric("minidns_replies_dropped_total"), 3);
}

TEST_F(Reconnect, HoldingOffDropsAtOnce) {
  start({"--minidns.reply-hold=0s"});
  responder r;
  polls_then_leave(r, "pm-gone", 1, "its pool manager is not connected");
  EXPECT_TRUE(wait_for_metric("minidns_replies_dropped_total", 1));
  EXPECT_EQ(metric("minidns_replies_held_delivered_total"), 0);
}

} // namespace
