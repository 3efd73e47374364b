// Tests of shared SOA queries (actors/udp/shared_queries.hpp): one leader
// per key, riders while it is in flight, closed on answer, failure, timeout
// or the leader's end.

#include "actors/udp/shared_queries.hpp"

#include <gtest/gtest.h>

namespace {

using namespace minidns;

net::endpoint dest(uint16_t port = 53) {
  net::endpoint e;
  e.addr[10] = 0xff;
  e.addr[11] = 0xff;
  e.addr[12] = 192;
  e.addr[15] = 1;
  e.port = port;
  return e;
}

share_key key(const std::string& zone = "\x04zone\x00", uint16_t port = 53,
              uint16_t tsig = 0, net::transport t = net::transport::udp) {
  return net::make_query_key(std::string(zone.data(), zone.size() + 1),
                             dest(port), tsig, t);
}

TEST(SharedQueries, TheFirstLeadsTheOthersRide) {
  shared_queries s;
  EXPECT_FALSE(s.join(key(), 1, 1)) << "nothing in flight: it leads";
  auto lead = s.join(key(), 2, 1);
  ASSERT_TRUE(lead);
  EXPECT_EQ(lead->token, 1u);
  EXPECT_EQ(lead->attempt, 1u);
  ASSERT_TRUE(s.join(key(), 3, 4)) << "any attempt of another request rides";
  auto riders = s.answered(1, 1);
  ASSERT_EQ(riders.size(), 2u);
  EXPECT_EQ(riders[0].token, 2u);
  EXPECT_EQ(riders[1].token, 3u);
  EXPECT_EQ(riders[1].attempt, 4u) << "each rider keeps its attempt number";
  EXPECT_EQ(s.open(), 0u);
  // Answered: the next one leads a new query.
  EXPECT_FALSE(s.join(key(), 2, 2));
}

TEST(SharedQueries, EveryPartOfTheKeyCounts) {
  shared_queries s;
  EXPECT_FALSE(s.join(key(), 1, 1));
  EXPECT_FALSE(s.join(key("\x05other\x00"), 2, 1));
  EXPECT_FALSE(s.join(key("\x04zone\x00", 5353), 3, 1));
  EXPECT_FALSE(s.join(key("\x04zone\x00", 53, 1), 4, 1));
  EXPECT_FALSE(s.join(key("\x04zone\x00", 53, 0, net::transport::tcp), 5, 1));
  EXPECT_EQ(s.open(), 5u);
  // The zone's case does not (RFC 4343).
  EXPECT_TRUE(s.join(key("\x04ZoNe\x00"), 6, 1));
}

TEST(SharedQueries, LateAnswersToEarlierAttemptsHaveNoRiders) {
  shared_queries s;
  EXPECT_FALSE(s.join(key(), 1, 1));
  EXPECT_TRUE(s.join(key(), 2, 1));
  EXPECT_TRUE(s.closed(1, 1).size() == 1) << "timed out: closed";
  EXPECT_FALSE(s.join(key(), 1, 2)) << "its next attempt leads again";
  EXPECT_TRUE(s.answered(1, 1).empty()) << "late answer to attempt 1";
  EXPECT_TRUE(s.join(key(), 3, 1));
  EXPECT_EQ(s.answered(1, 2).size(), 1u);
}

TEST(SharedQueries, ALeaderThatEndsTakesNoMoreRiders) {
  shared_queries s;
  EXPECT_FALSE(s.join(key(), 1, 1));
  EXPECT_TRUE(s.join(key(), 2, 1));
  s.forget(1);
  EXPECT_EQ(s.open(), 0u);
  EXPECT_TRUE(s.answered(1, 1).empty());
  EXPECT_FALSE(s.join(key(), 2, 2)) << "the rider asks for itself next time";
  s.forget(99); // not a leader: nothing
  EXPECT_EQ(s.open(), 1u);
}

} // namespace
