// Integration tests of the service as a whole: start, stop, several pool
// managers, load, backpressure.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <algorithm>
#include <csignal>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

class Service : public daemon_test {};

TEST_F(Service, StartsOnEphemeralPortAndStopsCleanly) {
  start();
  EXPECT_TRUE(starts_with(mdns->endpoint(), "tcp://127.0.0.1:"))
      << mdns->endpoint();
  EXPECT_NE(mdns->endpoint(), "tcp://127.0.0.1:*");
  responder r;
  EXPECT_TRUE(barrier(r).empty());
  EXPECT_EQ(mdns->stop(SIGTERM), 0);
  EXPECT_TRUE(mdns->wait_for_line("minidns stopped", 0ms)) << mdns->log();
}

TEST_F(Service, SigintAlsoDrainsAndExitsZero) {
  start();
  EXPECT_EQ(mdns->stop(SIGINT), 0);
  EXPECT_TRUE(mdns->wait_for_line("minidns stopped", 0ms)) << mdns->log();
}

TEST_F(Service, TwoPoolManagersGetOnlyTheirOwnReplies) {
  start();
  pool_manager other(mdns->endpoint());
  responder r;
  zone_script slow;
  // Every zone's first reply comes late, after a resend. One zone per poll:
  // identical polls would share their queries.
  slow.drop_first = 1;
  r.default_script(slow);
  constexpr int per_manager = 50;
  for (int i = 0; i < per_manager; ++i) {
    auto n = std::to_string(i);
    pm->send(poll_cast("a" + n + ".test.", 1, r.destination(), 0.2, 0, 3,
                       mp_str("A-" + n)));
    other.send(poll_cast("b" + n + ".test.", 1, r.destination(), 0.2, 0, 3,
                         mp_str("B-" + n)));
  }
  auto collect = [&](pool_manager& p, const std::string& prefix) {
    std::set<std::string> ids;
    for (int i = 0; i < per_manager; ++i) {
      auto got = receive(p);
      ASSERT_TRUE(got) << prefix << ": only " << i << " replies";
      auto id = as_str(got->r.raw_request_id);
      EXPECT_TRUE(starts_with(id, prefix)) << "foreign reply: " << got->json();
      EXPECT_TRUE(ids.insert(id).second) << "duplicate reply: " << got->json();
      EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
    }
  };
  collect(*pm, "A-");
  collect(other, "B-");
  EXPECT_TRUE(barrier(r).empty());
  auto extra = barrier(r, &other);
  EXPECT_TRUE(extra.empty()) << summary(extra);
}

TEST_F(Service, PoolManagerThatLeavesDoesNotDisturbOthers) {
  start();
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  zone_script answers;
  r.script("stay.test.", answers);
  r.script("barrier.test.", answers);
  {
    pool_manager leaver(mdns->endpoint());
    for (int i = 0; i < 10; ++i) // one zone each: no shared queries
      leaver.send(poll_cast("left" + std::to_string(i) + ".test.", 1,
                            r.destination(), 0.1, 0, 0, mp_int(i)));
    ASSERT_TRUE(r.wait_for_count(10, reply_wait));
  } // gone before its replies
  auto got = poll_once(*pm, poll_cast("stay.test.", 1, r.destination(), 1.0, 0,
                                      0, mp_str("stay")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.raw_request_id, mp_str("stay")) << got->json();
  EXPECT_EQ(got->r.status, "SUCCESS");
  // The leaver's replies are dropped (not sent to us) once their polls end.
  auto others = quiet_period(r, 0.2);
  EXPECT_TRUE(others.empty()) << summary(others);
}

/// Sends `total` polls through `slow` whose replies carry a 16 KiB context:
/// more than the socket buffers between minidns and `slow` hold, so that
/// replies pile up in minidns while `slow` does not read. Returns once the
/// responder has answered them all.
void pile_up_replies(pool_manager& slow, responder& r, int total) {
  const std::string context = mp_bin(std::string(16384, 'c'));
  for (int i = 0; i < total; ++i) // one zone each: no shared queries
    slow.send(poll_cast("pile" + std::to_string(i) + ".test.", 1,
                        r.destination(), 1.0, 0, 3, mp_int(i), context));
  ASSERT_TRUE(r.wait_for_count(static_cast<size_t>(total), reply_wait));
}

/// Reads the `total` replies of pile_up_replies(): each exactly once.
void read_piled_replies(pool_manager& slow, int total) {
  std::vector<int> seen(static_cast<size_t>(total), 0);
  for (int i = 0; i < total; ++i) {
    auto got = receive(slow);
    ASSERT_TRUE(got) << "only " << i << " replies";
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, total);
    EXPECT_EQ(++seen[static_cast<size_t>(id)], 1);
    EXPECT_EQ(got->r.status, "SUCCESS");
  }
}

TEST_F(Service, SlowReaderGetsEveryReply) {
  // Tiny high-water marks on both ends and a pool manager that reads
  // nothing until all its polls have been answered: minidns must keep the
  // replies until they can go.
  start({"--minidns.zmq-hwm=4"});
  pool_manager slow(mdns->endpoint(), 4);
  responder r;
  constexpr int total = 2000;
  pile_up_replies(slow, r, total);
  read_piled_replies(slow, total);
  auto extra = barrier(r, &slow);
  EXPECT_TRUE(extra.empty()) << extra.size() << " extra replies";
}

// Replies that cannot be sent at once wait in a queue per pool manager
// (actors/zmq/reply_router.cpp): a pool manager that stops
// reading (slow, hung, or stuck but still connected) holds up only its own
// replies. Other pool managers keep getting theirs.
TEST_F(Service, SlowPoolManagerDoesNotStallOthers) {
  start({"--minidns.zmq-hwm=4"});
  pool_manager slow(mdns->endpoint(), 4);
  responder r;
  constexpr int total = 2000;
  pile_up_replies(slow, r, total);
  // `slow` still reads nothing; `pm` must be served meanwhile.
  auto others = barrier(r);
  EXPECT_TRUE(others.empty()) << summary(others);
  read_piled_replies(slow, total);
}

TEST_F(Service, TenThousandPollsEachAnsweredExactlyOnce) {
  start();
  responder r;
  zone_script s;
  s.serial = 2024010100;
  r.default_script(s);
  constexpr int total = 10000;
  constexpr int window = 2000;
  constexpr int zones = 100;
  std::vector<int> seen(total, 0);
  int sent = 0, received = 0, successes = 0;
  while (received < total) {
    while (sent < total && sent - received < window) {
      // Half expect the serial the server has, half an older one.
      uint32_t expected = 2024010100 - static_cast<uint32_t>(sent % 2);
      pm->send(poll_cast("z" + std::to_string(sent % zones) + ".bulk.test.",
                         expected, r.destination(), 1.0, 0, 5, mp_int(sent)));
      ++sent;
    }
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "no reply after " << received << " of " << total;
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, total);
    ++seen[static_cast<size_t>(id)];
    EXPECT_EQ(seen[static_cast<size_t>(id)], 1) << "duplicate " << got->json();
    if (got->r.status == "SUCCESS" && got->r.actual_serial == 2024010100u &&
        got->r.detail == (id % 2 == 0 ? "matched" : "newer"))
      ++successes;
    else
      ADD_FAILURE() << got->json();
    ++received;
  }
  EXPECT_EQ(successes, total);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), total);
  auto extra = barrier(r);
  EXPECT_TRUE(extra.empty()) << extra.size() << " extra replies";
}

TEST_F(Service, BackpressureStillAnswersEveryCast) {
  start({"--minidns.max-in-flight=10"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  constexpr int total = 100;
  auto t0 = clock_type::now();
  for (int i = 0; i < total; ++i) // one zone each: no shared queries
    pm->send(poll_cast("slow" + std::to_string(i) + ".test.", 1,
                       r.destination(), 0.05, 0, 0, mp_int(i)));
  std::vector<int> seen(total, 0);
  for (int i = 0; i < total; ++i) {
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "only " << i << " replies";
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, total);
    EXPECT_EQ(++seen[static_cast<size_t>(id)], 1) << got->json();
    EXPECT_EQ(got->r.status, "ERROR") << got->json();
    EXPECT_EQ(got->r.detail, "timeout") << got->json();
  }
  // At most 10 at a time, each taking its 50 ms timeout: at least 10
  // rounds. Without the limit all 100 would end after about 50 ms.
  auto elapsed = clock_type::now() - t0;
  EXPECT_GE(elapsed, 450ms);
  auto extra = barrier(r);
  EXPECT_TRUE(extra.empty()) << summary(extra);
  EXPECT_EQ(r.count() - r.count_for("barrier.test."), size_t{total});
}

} // namespace
