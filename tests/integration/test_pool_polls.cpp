// Integration tests of the pool-level casts (docs/protocol.md): one poll
// across several destinations with a threshold, polls for absence,
// get_serial_number, cancel, shared queries, and their bad input. Scripted
// responders on loopback stand in for a pool's servers; the same rules
// against NSD, Knot and BIND are in tests/servers/test_servers_pool.cpp.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "apps/minidns-ctl/client_codec.hpp"
#include "fixture.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

/// A poll of `zone` for `serial` across `dests`.
std::string pool_poll(const std::string& zone, uint32_t serial,
                      const std::vector<std::string>& dests,
                      std::optional<unsigned> threshold, double timeout,
                      double retry_interval, uint32_t max_retries,
                      const std::string& raw_request_id = {},
                      const std::string& expect = {}) {
  return messages::encode_pool_poll(zone, serial, dests, threshold, timeout,
                                    retry_interval, max_retries, raw_request_id,
                                    expect);
}

std::string get_serial(const std::string& zone, const std::string& dest,
                       double timeout = 0.3, uint32_t max_retries = 1,
                       const std::string& raw_request_id = {}) {
  return messages::encode_cast(method::get_serial_number, zone, std::nullopt,
                               dest, timeout, 0, max_retries, {},
                               raw_request_id);
}

zone_script serial_script(uint32_t serial) {
  zone_script s;
  s.serial = serial;
  return s;
}

zone_script rcode_script(uint8_t rcode, bool aa = true) {
  zone_script s;
  s.rcode = rcode;
  s.aa = aa;
  return s;
}

/// Three responders, a pool's servers.
class PoolPoll : public daemon_test {
protected:
  std::vector<std::string> dests() const {
    return {r[0].destination(), r[1].destination(), r[2].destination()};
  }
  responder r[3];
};

TEST_F(PoolPoll, ThresholdMetGivesTheConsensusAndTheLaggingOnePending) {
  start();
  // The two at the serial answer 100 ms late: the lagging one has answered
  // by then, and its line shows what it said.
  auto late = [](uint32_t serial) {
    auto s = serial_script(serial);
    s.delay = 100ms;
    return s;
  };
  r[0].script("pool.test.", late(7));
  r[1].script("pool.test.", late(9));
  r[2].script("pool.test.", serial_script(5)); // behind: its NOTIFY withheld
  pm->send(pool_poll("pool.test.", 7, dests(), 66, 0.5, 0.2, 50));
  auto got = receive(*pm, reply_wait);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "update_status") << got->json();
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.detail, "threshold met") << got->json();
  EXPECT_EQ(got->r.actual_serial, 7u) << "the lowest of those at the serial";
  EXPECT_EQ(
      reply_keys(got->raw),
      (std::vector<std::string>{"method", "context", "domain", "status",
                                "actual_serial", "detail", "destinations"}));
  ASSERT_EQ(got->r.destinations.size(), 3u) << got->json();
  const auto& d = got->r.destinations;
  EXPECT_EQ(d[0].destination, r[0].destination());
  EXPECT_EQ(d[0].status, "SUCCESS");
  EXPECT_EQ(d[0].actual_serial, 7u);
  EXPECT_EQ(d[0].detail, "matched");
  EXPECT_EQ(d[1].status, "SUCCESS");
  EXPECT_EQ(d[1].actual_serial, 9u);
  EXPECT_EQ(d[1].detail, "newer");
  EXPECT_EQ(d[2].status, "PENDING") << got->json();
  EXPECT_EQ(d[2].actual_serial, 5u) << got->json();
  EXPECT_EQ(d[2].detail, "lower serial") << got->json();

  // Decided: the lagging server is asked no more, though its budget had 50
  // resends every 0.2 s left.
  auto asked = r[2].queries_for("pool.test.").size();
  EXPECT_GE(asked, 1u);
  EXPECT_TRUE(quiet_period(r[0], 1.0).empty());
  EXPECT_EQ(r[2].queries_for("pool.test.").size(), asked)
      << "queries left after the outcome was decided";
  EXPECT_TRUE(
      wait_for_metric("minidns_pool_polls_total{status=\"SUCCESS\"}", 1));
}

TEST_F(PoolPoll, ThresholdHundredIsAnErrorWithEveryDestinationsDetail) {
  start();
  r[0].script("pool.test.", serial_script(7));
  r[1].script("pool.test.", serial_script(7));
  r[2].script("pool.test.", serial_script(5));
  pm->send(pool_poll("pool.test.", 7, dests(), std::nullopt, 0.3, 0.05, 2,
                     mp_int(4)));
  auto got = receive(*pm, reply_wait);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "threshold missed") << got->json();
  EXPECT_EQ(got->r.actual_serial, 5u) << "the lowest serial seen";
  EXPECT_EQ(got->r.raw_request_id, mp_int(4));
  ASSERT_EQ(got->r.destinations.size(), 3u) << got->json();
  EXPECT_EQ(got->r.destinations[0].status, "SUCCESS");
  EXPECT_EQ(got->r.destinations[1].status, "SUCCESS");
  EXPECT_EQ(got->r.destinations[2].status, "ERROR");
  EXPECT_EQ(got->r.destinations[2].detail, "lower serial");
  EXPECT_EQ(got->r.destinations[2].actual_serial, 5u);
  EXPECT_EQ(r[2].queries_for("pool.test.").size(), 3u) << "its whole budget";
}

TEST_F(PoolPoll, AnErrorThatCanNoLongerBeAvoidedEndsTheRestAtOnce) {
  start();
  // Two silent servers with a long budget, one failing fast: with a
  // threshold of 100 the poll is lost as soon as that one fails.
  zone_script silent;
  silent.silent = true;
  r[0].script("pool.test.", silent);
  r[1].script("pool.test.", silent);
  r[2].script("pool.test.", serial_script(5));
  auto t0 = clock_type::now();
  pm->send(pool_poll("pool.test.", 7, dests(), 100, 5.0, 0, 1));
  auto got = receive(*pm, reply_wait);
  ASSERT_TRUE(got);
  EXPECT_LT(clock_type::now() - t0, 4500ms) << "not after the 5 s timeouts";
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  ASSERT_EQ(got->r.destinations.size(), 3u);
  EXPECT_EQ(got->r.destinations[0].status, "PENDING");
  EXPECT_EQ(got->r.destinations[0].detail, "pending") << got->json();
  EXPECT_EQ(got->r.destinations[0].actual_serial, std::nullopt);
  EXPECT_EQ(got->r.destinations[2].status, "ERROR");
}

TEST_F(PoolPoll, AbsenceShowsWhichServersStillServeTheZone) {
  start();
  r[0].script("gone.test.", rcode_script(5));       // REFUSED
  r[1].script("gone.test.", rcode_script(3, true)); // NXDOMAIN, AA
  r[2].script("gone.test.", serial_script(12));     // still serves it
  pm->send(pool_poll("gone.test.", 0, dests(), std::nullopt, 0.3, 0.05, 1, {},
                     "absent"));
  auto got = receive(*pm, reply_wait);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  ASSERT_EQ(got->r.destinations.size(), 3u);
  EXPECT_EQ(got->r.destinations[0].status, "SUCCESS");
  EXPECT_EQ(got->r.destinations[0].detail, "rcode REFUSED");
  EXPECT_EQ(got->r.destinations[1].status, "SUCCESS");
  EXPECT_EQ(got->r.destinations[1].detail, "rcode NXDOMAIN");
  EXPECT_EQ(got->r.destinations[2].status, "ERROR");
  EXPECT_EQ(got->r.destinations[2].detail, "zone served");
  EXPECT_EQ(got->r.destinations[2].actual_serial, 12u);

  // Two of three is enough at 66%.
  pm->send(pool_poll("gone.test.", 0, dests(), 66, 0.3, 0.05, 1, {}, "absent"));
  got = receive(*pm, reply_wait);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, std::nullopt) << got->json();
}

TEST_F(PoolPoll, AbsenceOfOneDestination) {
  start();
  r[0].script("gone.test.", rcode_script(9));        // NOTAUTH
  r[1].script("gone.test.", rcode_script(2));        // SERVFAIL: not an answer
  r[2].script("gone.test.", rcode_script(3, false)); // NXDOMAIN, not AA
  auto one = [&](const std::string& dest) {
    auto f = poll_fields(dest, "gone.test.");
    f.set("expect", mp_str("absent"));
    f.set("max_retries", mp_int(1));
    f.set("timeout", mp_f64(0.3));
    return poll_once(*pm, f.encode());
  };
  auto got = one(r[0].destination());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.detail, "rcode NOTAUTH");
  got = one(r[1].destination());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "rcode SERVFAIL");
  EXPECT_EQ(r[1].queries_for("gone.test.").size(), 2u) << "asked again";
  got = one(r[2].destination());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "not authoritative");
  // A poll for absence needs no serial.
  auto f = poll_fields(r[0].destination(), "gone.test.");
  f.set("domain", domain("gone.test.", std::nullopt));
  f.set("expect", mp_str("absent"));
  got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
}

TEST_F(PoolPoll, GetSerialNumber) {
  start();
  r[0].script("read.test.", serial_script(42));
  zone_script silent;
  silent.silent = true;
  r[1].script("read.test.", silent);
  zone_script not_aa = serial_script(3);
  not_aa.aa = false;
  r[2].script("read.test.", not_aa);
  auto got = poll_once(*pm, get_serial("read.test.", r[0].destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "update_status");
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 42u);
  EXPECT_EQ(got->r.detail, "serial read");
  got = poll_once(*pm, get_serial("read.test.", r[1].destination(), 0.2, 1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "timeout");
  EXPECT_EQ(got->r.actual_serial, std::nullopt);
  EXPECT_EQ(r[1].queries_for("read.test.").size(), 2u);
  got = poll_once(*pm, get_serial("read.test.", r[2].destination(), 0.2, 2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "not authoritative");
  EXPECT_EQ(r[2].queries_for("read.test.").size(), 3u);
}

TEST_F(PoolPoll, CancelEndsTheCastsOfThatRequestId) {
  start();
  zone_script silent;
  silent.silent = true;
  r[0].script("long.test.", silent);
  r[1].script("long.test.", silent);
  const auto rid = mp_str("zone-change-17");
  pm->send(poll_cast("long.test.", 3, r[0].destination(), 0.2, 0, 1000, rid));
  pm->send(pool_poll("long.test.", 3, {r[0].destination(), r[1].destination()},
                     std::nullopt, 0.2, 0, 1000, rid));
  const auto other = mp_str("zone-change-18");
  pm->send(poll_cast("long.test.", 3, r[1].destination(), 0.2, 0, 1000, other));
  // All are running once their first queries have left (and the first
  // attempts timed out: the lines then say "timeout").
  ASSERT_TRUE(r[0].wait_for_count("long.test.", 4, reply_wait));
  ASSERT_TRUE(r[1].wait_for_count("long.test.", 4, reply_wait));
  // Another pool manager's cancel of the same id ends nothing.
  pool_manager stranger(mdns->endpoint());
  stranger.send(messages::encode_cancel(rid));
  auto none = receive(stranger, reply_wait);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->r.method, "cancelled") << none->json();
  EXPECT_EQ(none->r.count, 0u) << none->json();

  pm->send(messages::encode_cancel(rid));
  std::vector<reply_frame> got;
  while (got.size() < 3) {
    auto one = receive(*pm, reply_wait);
    ASSERT_TRUE(one) << summary(got);
    got.push_back(std::move(*one));
  }
  EXPECT_EQ(got[0].r.method, "update_status") << summary(got);
  EXPECT_EQ(got[0].r.status, "ERROR");
  EXPECT_EQ(got[0].r.detail, "cancelled");
  EXPECT_EQ(got[1].r.detail, "cancelled") << summary(got);
  EXPECT_EQ(got[2].r.method, "cancelled")
      << "after the statuses: " << summary(got);
  EXPECT_EQ(got[2].r.raw_request_id, rid);
  EXPECT_EQ(got[2].r.count, 2u);
  bool pool_seen = false;
  for (const auto& g : got)
    if (!g.r.destinations.empty()) {
      pool_seen = true;
      EXPECT_EQ(g.r.destinations[0].status, "PENDING") << g.json();
      EXPECT_EQ(g.r.destinations[0].detail, "timeout") << g.json();
    }
  EXPECT_TRUE(pool_seen) << summary(got);
  EXPECT_TRUE(wait_for_metric("minidns_casts_cancelled_total", 2));
  // The other request_id still runs: cancel it too.
  pm->send(messages::encode_cancel(other));
  auto last = receive(*pm, reply_wait);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->r.detail, "cancelled") << last->json();
  last = receive(*pm, reply_wait);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->r.count, 1u) << last->json();
}

TEST_F(PoolPoll, BadInputNamesTheField) {
  start();
  auto expect_error = [&](const fields& f, const std::string& prefix) {
    auto got = poll_once(*pm, f.encode());
    ASSERT_TRUE(got) << prefix;
    EXPECT_EQ(got->r.status, "ERROR") << got->json();
    EXPECT_EQ(got->r.detail, "invalid cast") << got->json();
    EXPECT_TRUE(starts_with(got->r.error, prefix))
        << "expected '" << prefix << "...', got " << got->json();
  };
  const auto a = mp_str("127.0.0.1:5301");
  auto f = poll_fields("127.0.0.1:5300");
  f.drop("destination");
  f.set("destinations", mp_array({a, mp_str("127.0.0.1:5302"), a}));
  expect_error(f, "destinations[2]: 127.0.0.1:5301 duplicates destinations[0]");
  f.set("destinations",
        mp_array({a, mp_str("127.0.0.1:53"), mp_str("127.0.0.1")}));
  expect_error(f, "destinations[2]: 127.0.0.1:53 duplicates destinations[1]");
  f.set("destinations", mp_array({}));
  expect_error(f, "destinations: must list 1 to 1000 destinations, got 0");
  f.set("destinations", mp_array({a, mp_str("not an address")}));
  expect_error(f, "destinations[1]: ");
  f.set("destinations", mp_array({a}));
  f.set("threshold_percentage", mp_int(0));
  expect_error(f, "threshold_percentage: out of range 1..100");
  f.set("threshold_percentage", mp_int(101));
  expect_error(f, "threshold_percentage: out of range 1..100");
  f.set("threshold_percentage", mp_f64(50));
  expect_error(f, "threshold_percentage: must be an integer");
  f.set("threshold_percentage", mp_int(50));
  f.set("destination", a);
  expect_error(f, "destinations: give destination or destinations, not both");
  auto g = poll_fields("127.0.0.1:5300");
  g.set("expect", mp_str("present"));
  expect_error(g, "expect: unknown 'present'");
  auto c = fields{{{"method", mp_str("cancel")}}};
  auto got = poll_once(*pm, c.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "error");
  EXPECT_EQ(got->r.error, "request_id: missing (cancel ends the casts that "
                          "carry it)");
  EXPECT_TRUE(wait_for_metric(
      "minidns_invalid_casts_total{reason=\"destinations\"}", 5));
  EXPECT_TRUE(wait_for_metric(
      "minidns_invalid_casts_total{reason=\"threshold_percentage\"}", 3));
  EXPECT_TRUE(
      wait_for_metric("minidns_invalid_casts_total{reason=\"expect\"}", 1));
}

TEST_F(PoolPoll, IdenticalPollsShareTheirQueries) {
  start();
  // Answers take 300 ms: every poll below arrives while the first query is
  // in flight.
  zone_script slow = serial_script(5);
  slow.delay = 300ms;
  r[0].script("shared.test.", slow);
  constexpr int n = 100;
  for (int i = 0; i < n; ++i) {
    // Half expect serial 5 (reached), half serial 6 (behind: one more
    // attempt each, and then ERROR): each by its own rules.
    const bool behind = i % 2 == 1;
    pm->send(poll_cast("shared.test.", behind ? 6 : 5, r[0].destination(), 2.0,
                       0, behind ? 1 : 0, mp_int(i)));
  }
  int success = 0;
  int error = 0;
  for (int i = 0; i < n; ++i) {
    auto got = receive(*pm, reply_wait);
    ASSERT_TRUE(got) << "only " << i << " replies";
    const bool behind = as_int(got->r.raw_request_id) % 2 == 1;
    EXPECT_EQ(got->r.actual_serial, 5u) << got->json();
    if (behind) {
      EXPECT_EQ(got->r.status, "ERROR") << got->json();
      EXPECT_EQ(got->r.detail, "lower serial") << got->json();
      ++error;
    } else {
      EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
      ++success;
    }
  }
  EXPECT_EQ(success, n / 2);
  EXPECT_EQ(error, n / 2);
  // 100 first attempts asked one query; the 50 second attempts another.
  EXPECT_EQ(r[0].count_for("shared.test."), 2u)
      << summary(r[0].queries_for("shared.test."));
  EXPECT_TRUE(
      wait_for_metric("minidns_shared_attempts_total", n - 1 + n / 2 - 1));
  EXPECT_EQ(metric("minidns_shared_answers_total"), n - 1 + n / 2 - 1);
}

TEST_F(PoolPoll, SharingCanBeTurnedOff) {
  start({"--minidns.share-queries=false"});
  zone_script slow = serial_script(5);
  slow.delay = 200ms;
  r[0].script("shared.test.", slow);
  for (int i = 0; i < 10; ++i)
    pm->send(
        poll_cast("shared.test.", 5, r[0].destination(), 2.0, 0, 0, mp_int(i)));
  for (int i = 0; i < 10; ++i) {
    auto got = receive(*pm, reply_wait);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  }
  EXPECT_EQ(r[0].count_for("shared.test."), 10u);
  EXPECT_EQ(metric("minidns_shared_attempts_total"), 0);
}

TEST_F(PoolPoll, APoolPollThatNeverStartsListsEveryDestinationPending) {
  start(
      {"--minidns.max-in-flight=1", "--minidns.max-queued-per-pool-manager=1"});
  zone_script silent;
  silent.silent = true;
  r[0].default_script(silent);
  // One request runs (the limit), one pool poll waits, the next is busy.
  pm->send(poll_cast("hold.test.", 1, r[0].destination(), 5.0, 0, 0,
                     mp_str("hold")));
  ASSERT_TRUE(r[0].wait_for_count(1, reply_wait));
  const auto two =
      std::vector<std::string>{r[1].destination(), r[2].destination()};
  pm->send(pool_poll("wait.test.", 1, two, 50, 1.0, 0, 0, mp_str("queued")));
  pm->send(pool_poll("busy.test.", 1, two, 50, 1.0, 0, 0, mp_str("busy")));
  auto busy = receive(*pm, reply_wait);
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->r.raw_request_id, mp_str("busy")) << busy->json();
  EXPECT_EQ(busy->r.status, "ERROR");
  EXPECT_EQ(busy->r.detail, "busy");
  EXPECT_TRUE(starts_with(busy->r.error, "busy: ")) << busy->json();
  ASSERT_EQ(busy->r.destinations.size(), 2u) << busy->json();
  EXPECT_EQ(busy->r.destinations[1].status, "PENDING");
  EXPECT_EQ(busy->r.destinations[1].detail, "pending");
  // The queued one, cancelled before it started.
  pm->send(messages::encode_cancel(mp_str("queued")));
  auto cancelled = receive(*pm, reply_wait);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->r.raw_request_id, mp_str("queued"));
  EXPECT_EQ(cancelled->r.detail, "cancelled") << cancelled->json();
  ASSERT_EQ(cancelled->r.destinations.size(), 2u) << cancelled->json();
  EXPECT_EQ(cancelled->r.destinations[0].status, "PENDING");
  auto count = receive(*pm, reply_wait);
  ASSERT_TRUE(count);
  EXPECT_EQ(count->r.method, "cancelled");
  EXPECT_EQ(count->r.count, 1u);
  EXPECT_EQ(r[1].count() + r[2].count(), 0u) << "neither ever asked";
}

} // namespace
