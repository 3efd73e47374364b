// Tests of NOTIFY coalescing (actors/zmq/notify_coalescer.hpp): one stream
// per zone, destination, key and transport; at most one follow-up.

#include "actors/zmq/notify_coalescer.hpp"

#include <gtest/gtest.h>
#include <string>

namespace {

using namespace minidns;
using action = notify_coalescer::action;

net::endpoint dest(const std::string& text) {
  std::string err;
  return *net::parse_destination(text, err);
}

notify_key key(const std::string& zone_wire, const std::string& d = "192.0.2.1",
               uint16_t tsig = 0, net::transport t = net::transport::udp) {
  return net::make_query_key(zone_wire, dest(d), tsig, t);
}

const std::string zone("\7example\3com\0", 13);

TEST(NotifyCoalescer, OneFollowUpHowManyEverArrive) {
  notify_coalescer c;
  uint64_t into = 0;
  EXPECT_EQ(c.arrive(key(zone), 1, into), action::start);
  EXPECT_EQ(c.arrive(key(zone), 2, into), action::follow);
  EXPECT_EQ(c.waiting(), 1u);
  for (uint64_t t = 3; t < 10; ++t) {
    into = 0;
    EXPECT_EQ(c.arrive(key(zone), t, into), action::merge);
    EXPECT_EQ(into, 2u);
  }
  // 1 ends: 2 starts (with 3..9 merged into it); nothing waits any more.
  EXPECT_EQ(c.ended(1), 2u);
  EXPECT_EQ(c.waiting(), 0u);
  EXPECT_EQ(c.running(), 1u);
  // While 2 runs, a new one waits again.
  EXPECT_EQ(c.arrive(key(zone), 10, into), action::follow);
  EXPECT_EQ(c.ended(2), 10u);
  EXPECT_EQ(c.ended(10), std::nullopt);
  EXPECT_EQ(c.running(), 0u);
  // All quiet: the next one starts at once.
  EXPECT_EQ(c.arrive(key(zone), 11, into), action::start);
}

TEST(NotifyCoalescer, ZoneCaseDoesNotMatterTheRestDoes) {
  notify_coalescer c;
  uint64_t into = 0;
  EXPECT_EQ(c.arrive(key(zone), 1, into), action::start);
  EXPECT_EQ(c.arrive(key(std::string("\7EXAMPLE\3Com\0", 13)), 2, into),
            action::follow);
  EXPECT_EQ(c.arrive(key(zone, "192.0.2.2"), 3, into), action::start);
  EXPECT_EQ(c.arrive(key(zone, "192.0.2.1:5353"), 4, into), action::start);
  EXPECT_EQ(c.arrive(key(zone, "192.0.2.1", 1), 5, into), action::start);
  EXPECT_EQ(c.arrive(key(zone, "192.0.2.1", 0, net::transport::tcp), 6, into),
            action::start);
  EXPECT_EQ(c.arrive(key(std::string("\3org\0", 5)), 7, into), action::start);
  EXPECT_EQ(c.running(), 6u);
  EXPECT_EQ(c.waiting(), 1u);
}

TEST(NotifyCoalescer, OtherRequestsEndingChangeNothing) {
  notify_coalescer c;
  uint64_t into = 0;
  EXPECT_EQ(c.ended(42), std::nullopt);
  c.arrive(key(zone), 1, into);
  c.arrive(key(zone), 2, into);
  EXPECT_EQ(c.ended(42), std::nullopt) << "a poll, say";
  EXPECT_EQ(c.ended(2), std::nullopt) << "2 waits; it has not run";
  EXPECT_EQ(c.waiting(), 1u);
}

TEST(NotifyCoalescer, TheDrainDropsWhatWaits) {
  notify_coalescer c;
  uint64_t into = 0;
  c.arrive(key(zone), 1, into);
  c.arrive(key(zone), 2, into);
  c.arrive(key(zone, "192.0.2.9"), 3, into);
  c.arrive(key(zone, "192.0.2.9"), 4, into);
  auto dropped = c.drop_waiting();
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(c.waiting(), 0u);
  EXPECT_EQ(c.ended(1), std::nullopt) << "nothing follows any more";
  EXPECT_EQ(c.ended(3), std::nullopt);
  EXPECT_EQ(c.running(), 0u);
}

} // namespace
