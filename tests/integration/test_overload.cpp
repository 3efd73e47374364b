// Overload (issue 14): casts offered at three times the rate minidns can
// sustain with its limits, for a few seconds. Memory stays bounded by
// max-in-flight and the intake queue, every cast gets exactly one reply (a
// status, or `busy` at once past the queue's cap), nothing crashes, and a
// poll after the overload is answered as fast as before it. The 60-second
// curve (casts in, statuses out, RSS, in flight) is bench/'s overload run.
// A burst's freed memory goes back to the system once the burst is over.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

class Overload : public daemon_test {};

/// VmRSS of `pid` in bytes; 0 when unreadable.
uint64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool asan = true; // its quarantine and shadow memory grow RSS
#else
constexpr bool asan = false;
#endif

TEST_F(Overload, ThreeTimesTheSustainableRateLosesNothingAndRecovers) {
  // 500 requests in flight, each answered after 50 ms: 10,000 polls/s at
  // most. Offered: 30,000/s for 4 s.
  constexpr uint64_t max_in_flight = 500, queue_cap = 2000;
  start({"--minidns.max-in-flight=" + std::to_string(max_in_flight),
         "--minidns.max-queued-per-pool-manager=" + std::to_string(queue_cap)});
  responder r;
  zone_script slow;
  slow.delay = 50ms;
  r.default_script(slow);
  const auto dest = r.destination();

  auto poll_time = [&](const std::string& zone) {
    auto t0 = clock_type::now();
    auto got = poll_once(*pm, poll_cast(zone, 1, dest, 2.0, 0, 0));
    EXPECT_TRUE(got && got->r.status == "SUCCESS");
    return clock_type::now() - t0;
  };
  const auto before = poll_time("before.test.");
  const uint64_t rss0 = rss_bytes(mdns->pid());

  constexpr double rate = 30000, seconds = 4;
  const auto total = static_cast<uint64_t>(rate * seconds);
  std::vector<uint8_t> replies(total, 0);
  uint64_t sent = 0, received = 0, busy = 0, success = 0, peak_rss = 0;
  double peak_in_flight = 0;
  auto take = [&](milliseconds wait) {
    while (auto raw = pm->receive_raw(wait)) {
      wait = 0ms;
      auto rep = decode_or_throw(*raw);
      auto id = static_cast<uint64_t>(as_int(rep.raw_request_id));
      ASSERT_LT(id, total);
      EXPECT_EQ(++replies[id], 1) << "a second reply to cast " << id;
      ++received;
      if (rep.status == "SUCCESS")
        ++success;
      else if (rep.detail == "busy")
        ++busy;
      else
        ADD_FAILURE() << "cast " << id << ": " << rep.status << " "
                      << rep.detail;
    }
  };
  const auto t0 = clock_type::now();
  auto next_sample = t0;
  while (sent < total) {
    const auto now = clock_type::now();
    const auto due = std::min<uint64_t>(
        total, static_cast<uint64_t>(
                   rate * std::chrono::duration<double>(now - t0).count()) +
                   1);
    for (; sent < due; ++sent) // blocks when minidns and ZeroMQ are full
      pm->send(poll_cast("z" + std::to_string(sent % 1000) + ".test.", 1, dest,
                         2.0, 0, 0, mp_uint(sent)));
    take(1ms);
    if (now >= next_sample) {
      next_sample = now + 250ms;
      peak_rss = std::max(peak_rss, rss_bytes(mdns->pid()));
      peak_in_flight =
          std::max(peak_in_flight, metric("minidns_requests_in_flight"));
    }
  }
  const auto offered =
      std::chrono::duration<double>(clock_type::now() - t0).count();
  while (received < total) {
    const auto before_take = received;
    take(2000ms);
    if (received == before_take)
      break;
  }
  EXPECT_EQ(received, total) << "casts without a reply";
  EXPECT_EQ(success + busy, total);
  // Bounded by the limits: in flight at most max-in-flight; memory by what
  // the limits let in (each request a few KB), not by what was offered.
  EXPECT_LE(peak_in_flight, static_cast<double>(max_in_flight));
  if (!asan)
    EXPECT_LT(peak_rss, rss0 + (uint64_t{64} << 20))
        << "RSS grew from " << rss0 << " to " << peak_rss;
  // Recovered at once: a poll now takes as long as one before.
  const auto after = poll_time("after.test.");
  EXPECT_LT(after, before + 200ms)
      << std::chrono::duration<double>(after).count() << " s after vs "
      << std::chrono::duration<double>(before).count() << " s before";
  EXPECT_EQ(metric("minidns_requests_in_flight"), 0);
  std::cout << "[ overload ] " << total << " casts offered in " << offered
            << " s: " << success << " SUCCESS, " << busy
            << " busy; peak in flight " << peak_in_flight << ", RSS "
            << (rss0 >> 20) << " -> " << (peak_rss >> 20) << " MiB\n";
}

TEST_F(Overload, MemoryABurstFreedGoesBackToTheSystem) {
  // glibc keeps what a burst freed; without minidns's trim, RSS would stay
  // at the burst's peak for good (the soak's ratchet, bench/RESULTS.md).
  if (asan)
    GTEST_SKIP() << "ASan's allocator is not glibc's: nothing to trim";
  constexpr uint64_t burst = 60000;
  start({"--minidns.max-in-flight=" + std::to_string(burst),
         "--minidns.max-queued-per-pool-manager=" + std::to_string(burst),
         "--minidns.max-outstanding-per-destination=0"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  const uint64_t rss0 = rss_bytes(mdns->pid());
  // A timeout long enough for the whole burst to be in flight at once,
  // however fast this machine takes it in (60,000 requests: about 80 MiB).
  for (uint64_t i = 0; i < burst; ++i)
    pm->send(poll_cast("z" + std::to_string(i) + ".test.", 1, r.destination(),
                       2.0, 0, 0, mp_uint(i)));
  uint64_t received = 0, peak_rss = 0;
  while (received < burst) {
    auto raw = pm->receive_raw(5000ms);
    if (!raw)
      break;
    auto rep = decode_or_throw(*raw);
    EXPECT_EQ(rep.detail, "timeout");
    if (++received % 5000 == 0)
      peak_rss = std::max(peak_rss, rss_bytes(mdns->pid()));
  }
  ASSERT_EQ(received, burst);
  ASSERT_GT(peak_rss, rss0 + (uint64_t{64} << 20))
      << "the burst was too small to show the trim";
  // Within a few seconds of the last status, most of it is returned
  // (without the trim, RSS stays at the peak).
  const double bound = static_cast<double>(rss0 + (peak_rss - rss0) / 2);
  EXPECT_TRUE(wait_for_metric(
      "process_resident_memory_bytes at most " + std::to_string(bound),
      [bound](const std::string& page) {
        auto v = metric_value(page, "process_resident_memory_bytes");
        return v > 0 && v <= bound ? 1.0 : 0.0;
      },
      1, 5000ms));
  // (glibc returns some on its own, depending on where the burst's memory
  // lies; then a trim may not be needed, so the count is not asserted.)
  std::cout << "[ trim ] RSS " << (rss0 >> 20) << " -> " << (peak_rss >> 20)
            << " MiB at the burst's peak -> " << (rss_bytes(mdns->pid()) >> 20)
            << " MiB after, " << metric("minidns_memory_trims_total")
            << " trim(s)\n";
}

} // namespace
