// Integration tests of the drain on SIGTERM: requests in flight get up to
// drain-timeout, late casts are refused, every cast gets one reply.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <algorithm>
#include <csignal>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

class Drain : public daemon_test {};

TEST_F(Drain, InFlightPollsEndWithShutdownAndLateCastsAreRefused) {
  start({"--minidns.drain-timeout=300ms"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  constexpr int n = 20;
  for (int i = 0; i < n; ++i)
    pm->send(poll_cast("drain" + std::to_string(i) + ".test.", 1,
                       r.destination(), 60, 0, 0, mp_int(i)));
  ASSERT_TRUE(r.wait_for_count(n, reply_wait)) << "polls not in flight";
  auto t0 = clock_type::now();
  mdns->signal(SIGTERM);
  ASSERT_TRUE(mdns->wait_for_line("draining:", reply_wait)) << mdns->log();

  // Replies by raw request_id, in order of arrival.
  std::map<std::string, std::vector<reply_frame>> replies;
  auto wait_for = [&](const std::string& rid, milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (replies.count(rid) == 0) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                           clock_type::now());
      auto got = receive(*pm, std::max(left, milliseconds(0)));
      if (!got)
        return false;
      replies[got->r.raw_request_id].push_back(std::move(*got));
    }
    return true;
  };
  // A poll sent while draining is refused at once, without a query. The
  // "draining:" line is logged just before the ZeroMQ thread starts
  // refusing casts, so a poll sent right after it may still be taken as a
  // normal request (it then ends with "shutdown" at the drain timeout, like
  // those in flight): late polls go out until one is refused, which shows
  // at once, long before the drain timeout.
  std::vector<std::string> late_zones;
  bool refused = false;
  for (int i = 0; i < 3 && !refused; ++i) {
    late_zones.push_back("late" + std::to_string(i) + ".test.");
    pm->send(poll_cast(late_zones.back(), 1, r.destination(), 60, 0, 0,
                       mp_str(late_zones.back())));
    refused = wait_for(mp_str(late_zones.back()), 60ms);
  }
  ASSERT_TRUE(refused) << "no late poll was refused while draining";
  EXPECT_EQ(r.count_for(late_zones.back()), 0u)
      << "the refused late poll was carried out";
  // A notify sent while draining gets an error reply.
  pm->send(notify_cast("late.test.", r.destination(), 60, 0, 0,
                       mp_str("late-notify")));
  ASSERT_TRUE(wait_for(mp_str("late-notify"), reply_wait));
  for (const auto& zone : late_zones)
    ASSERT_TRUE(wait_for(mp_str(zone), reply_wait)) << "no reply for " << zone;
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(wait_for(mp_int(i), reply_wait)) << "no reply for poll " << i;
  auto drained = clock_type::now() - t0;

  for (const auto& zone : late_zones) {
    const auto& late = replies[mp_str(zone)].at(0);
    EXPECT_EQ(late.r.method, "update_status") << late.json();
    EXPECT_EQ(late.r.status, "ERROR") << late.json();
    EXPECT_EQ(late.r.detail, "shutdown") << late.json();
    EXPECT_FALSE(late.r.actual_serial) << late.json();
  }
  const auto& late_notify = replies[mp_str("late-notify")].at(0);
  EXPECT_EQ(late_notify.r.method, "error") << late_notify.json();
  EXPECT_TRUE(starts_with(late_notify.r.error, "draining:"))
      << late_notify.json();
  for (int i = 0; i < n; ++i) {
    const auto& got = replies[mp_int(i)].at(0);
    EXPECT_EQ(got.r.status, "ERROR") << got.json();
    EXPECT_EQ(got.r.detail, "shutdown") << got.json();
    EXPECT_FALSE(got.r.actual_serial) << got.json();
  }
  EXPECT_GE(drained, 290ms) << "in-flight polls ended before the drain timeout";

  auto status = mdns->wait_exit(reply_wait);
  ASSERT_TRUE(status) << "still running after the drain";
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(r.count_for("late.test."), 0u) << "the late notify was sent";
  EXPECT_EQ(r.count(), size_t{n} + late_zones.size() - 1);
  // The daemon is gone: what it sent has arrived, or does so at once.
  while (auto extra = receive(*pm, 100ms))
    replies[extra->r.raw_request_id].push_back(std::move(*extra));
  EXPECT_EQ(replies.size(), size_t{n} + late_zones.size() + 1);
  for (const auto& [rid, list] : replies)
    EXPECT_EQ(list.size(), 1u) << "replies to one cast:\n" << summary(list);
}

TEST_F(Drain, RequestsFinishingWithinTheDrainTimeoutEndNormally) {
  start({"--minidns.drain-timeout=5s"});
  responder r;
  zone_script s;
  s.drop_first = 1;
  s.serial = 3;
  r.script("finish.test.", s);
  pm->send(
      poll_cast("finish.test.", 3, r.destination(), 0.2, 0, 3, mp_str("f")));
  ASSERT_TRUE(r.wait_for_count("finish.test.", 1, reply_wait));
  auto t0 = clock_type::now();
  mdns->signal(SIGTERM);
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 3u);
  EXPECT_GE(r.count_for("finish.test."), 2u) << "the retry went out";
  auto status = mdns->wait_exit(reply_wait);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_LT(clock_type::now() - t0, 4s)
      << "waited for the drain timeout with nothing in flight";
  EXPECT_EQ(mdns->count_lines("drain timeout"), 0u) << mdns->log();
}

TEST_F(Drain, CastsQueuedBehindMaxInFlightAreAnsweredToo) {
  // Two in flight; eight wait in ZeroMQ. On SIGTERM the waiting ones are
  // read and refused, the two in flight end at the drain timeout: ten
  // replies, one each.
  start({"--minidns.max-in-flight=2", "--minidns.drain-timeout=300ms"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  constexpr int n = 10;
  for (int i = 0; i < n; ++i)
    pm->send(poll_cast("queued" + std::to_string(i) + ".test.", 1,
                       r.destination(), 60, 0, 0, mp_int(i)));
  ASSERT_TRUE(r.wait_for_count(2, reply_wait));
  mdns->signal(SIGTERM);
  std::vector<int> seen(n, 0);
  for (int i = 0; i < n; ++i) {
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "only " << i << " replies";
    auto id = as_int(got->r.raw_request_id);
    ASSERT_GE(id, 0);
    ASSERT_LT(id, n);
    EXPECT_EQ(++seen[static_cast<size_t>(id)], 1) << got->json();
    EXPECT_EQ(got->r.status, "ERROR") << got->json();
    EXPECT_EQ(got->r.detail, "shutdown") << got->json();
  }
  auto status = mdns->wait_exit(reply_wait);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(r.count(), 2u) << "a queued cast was carried out while draining";
}

TEST_F(Drain, SecondSignalEndsRequestsNow) {
  start({"--minidns.drain-timeout=30s"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("stuck.test.", silent);
  pm->send(
      poll_cast("stuck.test.", 1, r.destination(), 600, 0, 0, mp_str("stuck")));
  ASSERT_TRUE(r.wait_for_count("stuck.test.", 1, reply_wait));
  auto t0 = clock_type::now();
  mdns->signal(SIGTERM);
  ASSERT_TRUE(mdns->wait_for_line("draining:", reply_wait));
  mdns->signal(SIGTERM);
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_EQ(got->r.detail, "shutdown");
  auto status = mdns->wait_exit(reply_wait);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_LT(clock_type::now() - t0, 10s);
}

} // namespace

namespace {

TEST_F(Drain, AnIdleMinidnsStopsAtOnce) {
  // Nothing in flight: the drain has nothing to wait for, whatever its
  // timeout (it once slept until the timeout, in its first turn).
  start({"--minidns.drain-timeout=20s"});
  responder r;
  barrier(r); // a poll answered: the daemon has worked and is idle again
  auto t0 = clock_type::now();
  mdns->signal(SIGTERM);
  auto status = mdns->wait_exit(5000ms);
  ASSERT_TRUE(status) << "still running 5 s after SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_LT(clock_type::now() - t0, 2000ms);
  mdns.reset();
}

} // namespace
