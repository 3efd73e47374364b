// Pool-level casts against real servers (docs/protocol.md): NSD as
// primary, Knot, BIND and a second NSD as its secondaries, one of them
// lagging (its NOTIFY withheld). One poll across the pool with a
// threshold, polls for absence after a zone is deleted from one
// secondary, get_serial_number, cancel, and shared queries. The scripted
// responder's versions of these rules are in
// tests/integration/test_pool_polls.cpp.

#include "server_test.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::server_tests;

/// A poll of `zone` across `dests` (request_id 1).
std::string pool_poll(const std::string& zone, uint32_t serial,
                      const std::vector<std::string>& dests,
                      std::optional<unsigned> threshold, double timeout,
                      double retry_interval, uint32_t max_retries,
                      const std::string& expect = {}) {
  return messages::encode_pool_poll(zone, serial, dests, threshold, timeout,
                                    retry_interval, max_retries,
                                    msgpack_uint(1), expect);
}

/// The next reply; a test failure (and an empty reply) after 20 s.
messages::reply next_reply(it::pool_manager& pm) {
  auto r = pm.receive(milliseconds(20000));
  EXPECT_TRUE(r) << "no reply within 20 s";
  return r.value_or(messages::reply{});
}

class PoolServers : public Topology {
protected:
  /// The pool's servers: Knot, BIND, NSD; the last one lags.
  std::vector<std::string> dests() const {
    std::vector<std::string> out;
    for (auto* s : secondaries_)
      out.push_back(s->destination());
    return out;
  }

  /// Serial 2 on the primary, NOTIFYs to every secondary but the last (the
  /// lagging NSD), and waits until those two serve it.
  void publish_serial_2(const std::string& zone, it::daemon_process& md,
                        it::pool_manager& pm) {
    primary_->set_serial(zone, 2);
    for (size_t i = 0; i + 1 < secondaries_.size(); ++i)
      pm.send(notify_cast(zone, secondaries_[i]->destination()));
    for (size_t i = 0; i + 1 < secondaries_.size(); ++i) {
      EXPECT_TRUE(md.wait_for_line(
          ack_line(zone, secondaries_[i]->destination()), milliseconds(10000)))
          << secondaries_[i]->describe();
      EXPECT_TRUE(secondaries_[i]->wait_serial(zone, 2, milliseconds(10000)))
          << secondaries_[i]->describe() << " did not transfer serial 2";
    }
  }
};

TEST_F(PoolServers, ThresholdSixtySixSucceedsAndShowsTheLaggingServer) {
  const std::string zone = "pool.test.";
  start_topology(zone, 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  publish_serial_2(zone, md, pm);

  pm.send(pool_poll(zone, 2, dests(), 66, 0.5, 0.5, 20));
  auto r = next_reply(pm);
  EXPECT_EQ(r.status, "SUCCESS") << r.detail;
  EXPECT_EQ(r.detail, "threshold met");
  EXPECT_EQ(r.actual_serial, 2u) << "the consensus serial";
  ASSERT_EQ(r.destinations.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r.destinations[i].status, "SUCCESS")
        << secondaries_[i]->describe();
    EXPECT_EQ(r.destinations[i].actual_serial, 2u);
  }
  // The lagging NSD: not at the serial yet. When its answer came before
  // the other two decided, its line shows the serial it serves; else it
  // had not answered yet.
  const auto& lag = r.destinations[2];
  EXPECT_EQ(lag.destination, secondaries_[2]->destination());
  EXPECT_EQ(lag.status, "PENDING");
  if (lag.actual_serial) {
    EXPECT_EQ(lag.actual_serial, 1u);
    EXPECT_EQ(lag.detail, "lower serial");
  } else {
    EXPECT_EQ(lag.detail, "pending");
  }

  // Decided: no more queries leave for it, though 20 resends were left.
  auto queries = [&] {
    return md.metric("minidns_dns_queries_total{kind=\"soa\"}");
  };
  EXPECT_TRUE(metric_reaches(md, "minidns_requests_in_flight", 0));
  const double after = queries();
  EXPECT_FALSE(pm.receive(milliseconds(1500)).has_value());
  EXPECT_EQ(queries(), after) << "queries after the decision";
  EXPECT_EQ(md.stop(), 0);
}

TEST_F(PoolServers, ThresholdHundredFailsWithEveryServersDetail) {
  const std::string zone = "pool.test.";
  start_topology(zone, 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  publish_serial_2(zone, md, pm);

  pm.send(pool_poll(zone, 2, dests(), std::nullopt, 0.5, 0.1, 2));
  auto r = next_reply(pm);
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.detail, "threshold missed");
  EXPECT_EQ(r.actual_serial, 1u) << "the lowest serial seen";
  ASSERT_EQ(r.destinations.size(), 3u);
  EXPECT_EQ(r.destinations[0].status, "SUCCESS");
  EXPECT_EQ(r.destinations[0].detail, "matched");
  EXPECT_EQ(r.destinations[1].status, "SUCCESS");
  EXPECT_EQ(r.destinations[2].status, "ERROR");
  EXPECT_EQ(r.destinations[2].detail, "lower serial");
  EXPECT_EQ(r.destinations[2].actual_serial, 1u);

  // Once the lagging NSD is told, the pool is at the serial.
  pm.send(notify_cast(zone, secondaries_[2]->destination()));
  ASSERT_TRUE(secondaries_[2]->wait_serial(zone, 2, milliseconds(10000)));
  pm.send(pool_poll(zone, 2, dests(), std::nullopt, 0.5, 0.1, 2));
  r = next_reply(pm);
  EXPECT_EQ(r.status, "SUCCESS") << r.detail;
  EXPECT_EQ(r.actual_serial, 2u);
  EXPECT_EQ(md.stop(), 0);
}

TEST_F(PoolServers, GetSerialNumberFromEachServer) {
  const std::string zone = "read.test.";
  start_topology(zone, 7);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  std::vector<std::string> all{primary_->destination()};
  for (auto d : dests())
    all.push_back(d);
  for (const auto& d : all) {
    pm.send(messages::encode_cast(messages::method::get_serial_number, zone,
                                  std::nullopt, d, 0.5, 0.2, 3));
    auto r = next_reply(pm);
    EXPECT_EQ(r.status, "SUCCESS") << d << ": " << r.detail;
    EXPECT_EQ(r.actual_serial, 7u) << d;
    EXPECT_EQ(r.detail, "serial read") << d;
  }
  // A zone nobody serves: every answer is REFUSED, none is usable.
  pm.send(messages::encode_cast(messages::method::get_serial_number,
                                "nobody.test.", std::nullopt,
                                secondaries_[0]->destination(), 0.5, 0, 1));
  auto r = next_reply(pm);
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.actual_serial, std::nullopt);
  EXPECT_TRUE(r.detail.rfind("rcode ", 0) == 0) << r.detail;
  EXPECT_EQ(md.stop(), 0);
}

TEST_F(PoolServers, AbsenceAfterAZoneIsDeletedFromOneSecondary) {
  const std::string zone = "gone.test.";
  primary_ = &start_primary({{zone, 1}, {"keep.test.", 1}});
  for (auto kind : {server_kind::knot, server_kind::bind, server_kind::nsd})
    secondaries_.push_back(
        &start_secondary(kind, *primary_, {{zone, 1}, {"keep.test.", 1}}));
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());

  // BIND drops the zone: restarted on its port with the other zone only,
  // as after `rndc delzone`.
  auto cfg = secondaries_[1]->config();
  cfg.port = secondaries_[1]->port();
  cfg.secondary_zones.erase(zone);
  secondaries_[1]->stop();
  secondaries_[1] = &start(cfg);

  pm.send(pool_poll(zone, 0, dests(), std::nullopt, 0.5, 0.1, 2, "absent"));
  auto r = next_reply(pm);
  EXPECT_EQ(r.status, "ERROR") << "two servers still serve it";
  ASSERT_EQ(r.destinations.size(), 3u);
  // Knot and NSD still serve it. The first of them to spend its budget
  // decides the outcome (100% can no longer be reached): the other may
  // still be PENDING then.
  for (size_t i : {0, 2}) {
    EXPECT_NE(r.destinations[i].status, "SUCCESS")
        << secondaries_[i]->describe() << " still serves it";
    EXPECT_EQ(r.destinations[i].detail, "zone served")
        << secondaries_[i]->describe();
    EXPECT_EQ(r.destinations[i].actual_serial, 1u)
        << secondaries_[i]->describe();
  }
  EXPECT_TRUE(r.destinations[0].status == "ERROR" ||
              r.destinations[2].status == "ERROR");
  EXPECT_EQ(r.destinations[1].status, "SUCCESS") << "BIND no longer does";
  EXPECT_EQ(r.destinations[1].detail, "rcode REFUSED");
  // One of three is enough at 33%.
  pm.send(pool_poll(zone, 0, dests(), 33, 0.5, 0.1, 2, "absent"));
  r = next_reply(pm);
  EXPECT_EQ(r.status, "SUCCESS") << r.detail;
  EXPECT_EQ(md.stop(), 0);
}

TEST_F(PoolServers, CancelInTheMiddleOfALongPoll) {
  const std::string zone = "long.test.";
  start_topology(zone, 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  primary_->set_serial(zone, 2); // and no NOTIFY: no server reaches it
  // Ten minutes of budget; the cancel ends it at once.
  pm.send(pool_poll(zone, 2, dests(), std::nullopt, 0.5, 0.5, 600));
  // Two rounds of queries have left (each server answered serial 1 once).
  ASSERT_TRUE(metric_reaches(
      md, "six SOA queries",
      [](const std::string& page) {
        return it::metric_value(page,
                                "minidns_dns_queries_total{kind=\"soa\"}") >= 6
                   ? 1.0
                   : 0.0;
      },
      1));
  pm.send(messages::encode_cancel(msgpack_uint(1)));
  auto r = next_reply(pm);
  EXPECT_EQ(r.method, "update_status");
  EXPECT_EQ(r.status, "ERROR");
  EXPECT_EQ(r.detail, "cancelled");
  ASSERT_EQ(r.destinations.size(), 3u);
  for (const auto& d : r.destinations) {
    EXPECT_EQ(d.status, "PENDING");
    EXPECT_EQ(d.actual_serial, 1u);
    EXPECT_EQ(d.detail, "lower serial");
  }
  auto c = next_reply(pm);
  EXPECT_EQ(c.method, "cancelled");
  EXPECT_EQ(c.count, 1u);
  EXPECT_TRUE(metric_reaches(md, "minidns_requests_in_flight", 0));
  EXPECT_EQ(md.stop(), 0);
}

TEST_F(PoolServers, AHundredIdenticalPollsCostTheQueriesOfOne) {
  const std::string zone = "shared.test.";
  start_topology(zone, 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  primary_->set_serial(zone, 2); // the secondaries stay at 1
  // 100 polls for serial 2 at BIND, two attempts each 0.3 s apart: alone,
  // 200 queries.
  const auto bind = secondaries_[1]->destination();
  for (int i = 0; i < 100; ++i)
    pm.send(messages::encode_cast(messages::method::poll_for_serial_number,
                                  zone, 2, bind, 0.3, 0.3, 1, {},
                                  msgpack_uint(static_cast<uint64_t>(i))));
  for (int i = 0; i < 100; ++i) {
    auto r = next_reply(pm);
    EXPECT_EQ(r.status, "ERROR") << r.detail;
    EXPECT_EQ(r.actual_serial, 1u);
  }
  auto page = md.scrape();
  auto sent = it::metric_value(page, "minidns_dns_queries_total{kind=\"soa\"}");
  auto rode = it::metric_value(page, "minidns_shared_attempts_total");
  // At most one query in flight at a time: BIND answers within a
  // millisecond, so a poll read after that answer asks anew (how many do
  // depends on how fast the casts are read: 2-20 here, 26 under ASan), but
  // most ride. Each of the 200 attempts asked or rode. (With a server that
  // answers slowly, 100 identical polls cost exactly the queries of one:
  // PoolPoll.IdenticalPollsShareTheirQueries.)
  EXPECT_LT(sent, 100) << page;
  EXPECT_EQ(sent + rode, 200) << page;
  EXPECT_EQ(md.stop(), 0);
}

} // namespace
