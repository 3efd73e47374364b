// Fair intake across pool managers, seen from outside: one pool manager's
// backlog of polls to a silent server does not hold up another's poll, and
// casts past a pool manager's queue are answered `busy` at once, naming
// the limit. How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <string>

namespace {

using namespace minidns;
using namespace minidns::it;

class Fairness : public daemon_test {};

TEST_F(Fairness, OnePoolManagersBacklogDoesNotDelayAnother) {
  // The case from issue 12: max-in-flight 20,000 and one pool manager's
  // 40,000 polls to a silent server (5 s timeouts). It once held up
  // another pool manager's poll until those timed out.
  start({"--minidns.max-in-flight=20000"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("silent.test.", silent);
  for (int i = 0; i < 40000; ++i)
    pm->send(poll_cast("silent.test.", 1, r.destination(), 5.0, 0, 0));
  // 20,000 run, 10,000 wait (max-queued-per-pool-manager), the rest are
  // told busy at once.
  ASSERT_TRUE(wait_for_metric("minidns_casts_busy_total", 10000, 20000ms))
      << scrape();
  EXPECT_EQ(metric("minidns_requests_in_flight"), 20000);
  EXPECT_EQ(metric("minidns_casts_waiting"), 10000);
  auto first = receive(*pm, 1000ms);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->r.status, "ERROR") << first->json();
  EXPECT_EQ(first->r.detail, "busy") << first->json();
  EXPECT_NE(first->r.error.find("minidns.max-queued-per-pool-manager"),
            std::string::npos)
      << first->json();

  // Another pool manager's poll to a healthy server.
  pool_manager other(mdns->endpoint());
  responder healthy;
  zone_script three;
  three.serial = 3;
  healthy.script("healthy.test.", three);
  auto t0 = clock_type::now();
  other.send(poll_cast("healthy.test.", 3, healthy.destination(), 1.0, 0, 0));
  auto got = receive(other, 5000ms);
  auto took = clock_type::now() - t0;
  ASSERT_TRUE(got) << "no reply within 5 s";
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  // Held up until the silent polls time out, it took over 5 s; fair, a
  // round trip (the bound leaves room for a loaded sanitizer build).
  EXPECT_LT(took, 500ms);
  RecordProperty(
      "other_poll_us",
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
}

TEST_F(Fairness, BusyNotifiesGetAnErrorNamingTheLimit) {
  start(
      {"--minidns.max-in-flight=1", "--minidns.max-queued-per-pool-manager=1"});
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  // One runs, one waits, the third is busy.
  for (int i = 0; i < 3; ++i)
    pm->send(notify_cast("n" + std::to_string(i) + ".test.", r.destination(),
                         2.0, 0, 0, mp_int(i)));
  auto got = receive(*pm, 2000ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "error") << got->json();
  EXPECT_EQ(got->r.error.rfind("busy: 1 casts of this pool manager wait", 0),
            0u)
      << got->json();
  EXPECT_EQ(got->r.raw_request_id, mp_int(2));
  EXPECT_EQ(metric("minidns_casts_busy_total"), 1);
}

} // namespace
