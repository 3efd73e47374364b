/// The attempt table: matching by (socket, destination, ID), random ID
/// choice and its exhaustion, forgetting a request's attempts. Pure: a
/// scripted random source, no sockets.

#include "actors/udp/attempt_table.hpp"

#include <deque>
#include <gtest/gtest.h>
#include <string>

using namespace minidns;

namespace {

/// Hands out the numbers it was given, then repeats the last one.
struct scripted_rng {
  std::deque<uint16_t> next;
  uint16_t last = 0;
  uint16_t next16() {
    if (!next.empty()) {
      last = next.front();
      next.pop_front();
    }
    return last;
  }
};

net::endpoint peer(uint8_t last_octet, uint16_t port = 53) {
  net::endpoint e;
  e.addr = {192, 0, 2, last_octet};
  e.port = port;
  return e;
}

using table = attempt_table<std::string>;
using clock_type = std::chrono::steady_clock;

const std::vector<uint32_t> two_sockets{0, 1};

TEST(AttemptTable, ChoosesTheSocketAndIdTheRandomSourceGives) {
  table t;
  scripted_rng rng{{1, 0x1234}};
  auto key = t.choose(peer(1), two_sockets, rng);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->socket, 1u);
  EXPECT_EQ(key->id, 0x1234);
  EXPECT_EQ(key->peer, peer(1));
}

TEST(AttemptTable, ARecordedAttemptMatchesOnlyItsSocketPeerAndId) {
  table t;
  t.open(7, "owner", net::query_kind::soa,
         "\x07"
         "example\x03"
         "com\x00",
         peer(1));
  wire_key key{peer(1), 1, 0x1234};
  t.add(key, 7, 1, clock_type::time_point{});
  auto m = t.find(key);
  ASSERT_TRUE(m);
  EXPECT_EQ(m.req->owner, "owner");
  EXPECT_EQ(m.att->number, 1u);
  EXPECT_EQ(m.att->token, 7u);
  EXPECT_FALSE(t.find(wire_key{peer(1), 0, 0x1234})) << "other socket";
  EXPECT_FALSE(t.find(wire_key{peer(2), 1, 0x1234})) << "other address";
  EXPECT_FALSE(t.find(wire_key{peer(1, 5300), 1, 0x1234})) << "other port";
  EXPECT_FALSE(t.find(wire_key{peer(1), 1, 0x1235})) << "other ID";
}

TEST(AttemptTable, AnIdInUseForThatPeerAndSocketIsNotChosenAgain) {
  table t;
  t.open(1, "a", net::query_kind::soa, "q", peer(1));
  t.add(wire_key{peer(1), 0, 5}, 1, 1, {});
  // The source offers socket 0 / ID 5 (taken), then socket 0 / ID 6.
  scripted_rng rng{{0, 5, 0, 6}};
  auto key = t.choose(peer(1), two_sockets, rng);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->id, 6);
  // The same ID to another destination is free.
  scripted_rng again{{0, 5}};
  auto other = t.choose(peer(2), two_sockets, again);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->id, 5);
}

TEST(AttemptTable, GivesUpAfterMaxTriesCollisions) {
  table t;
  t.open(1, "a", net::query_kind::soa, "q", peer(1));
  t.add(wire_key{peer(1), 0, 5}, 1, 1, {});
  // One socket and always ID 5: every try collides.
  scripted_rng rng{{5}};
  EXPECT_FALSE(t.choose(peer(1), {0}, rng));
  // With no socket of the family there is nothing to choose.
  scripted_rng any{{0, 9}};
  EXPECT_FALSE(t.choose(peer(1), {}, any));
}

TEST(AttemptTable, EveryIdOfOneSocketTakenIsExhaustion) {
  table t;
  t.open(1, "a", net::query_kind::soa, "q", peer(1));
  for (uint32_t id = 0; id <= 0xffff; ++id)
    t.add(wire_key{peer(1), 0, static_cast<uint16_t>(id)}, 1, id + 1, {});
  EXPECT_EQ(t.attempts(), 65536u);
  struct counting_rng {
    uint16_t n = 0;
    uint16_t next16() { return n++; }
  } rng;
  EXPECT_FALSE(t.choose(peer(1), {0}, rng));
  // Forgetting the request frees every ID at once.
  EXPECT_EQ(t.forget(1), 65536u);
  EXPECT_TRUE(t.choose(peer(1), {0}, rng));
}

TEST(AttemptTable, ForgettingARequestDropsAllItsAttemptsAndNoOther) {
  table t;
  t.open(1, "one", net::query_kind::soa, "q", peer(1));
  t.open(2, "two", net::query_kind::notify, "q", peer(1));
  t.add(wire_key{peer(1), 0, 10}, 1, 1, {});
  t.add(wire_key{peer(1), 1, 11}, 2, 1, {});
  t.add(wire_key{peer(1), 1, 12}, 1, 2, {});
  t.add(wire_key{peer(1), 0, 13}, 1, 3, {});
  EXPECT_EQ(t.attempts(), 4u);
  EXPECT_EQ(t.forget(1), 3u);
  EXPECT_EQ(t.forget(1), 0u) << "forgetting twice is harmless";
  EXPECT_FALSE(t.find(wire_key{peer(1), 0, 10}));
  EXPECT_FALSE(t.find(wire_key{peer(1), 1, 12}));
  EXPECT_FALSE(t.find(wire_key{peer(1), 0, 13}));
  auto m = t.find(wire_key{peer(1), 1, 11});
  ASSERT_TRUE(m);
  EXPECT_EQ(m.req->owner, "two");
  EXPECT_EQ(t.requests(), 1u);
  EXPECT_EQ(t.attempts(), 1u);
}

TEST(AttemptTable, LateRepliesToEarlierAttemptsStillMatch) {
  table t;
  t.open(1, "one", net::query_kind::soa, "q", peer(1));
  t.add(wire_key{peer(1), 0, 10}, 1, 1, {});
  t.add(wire_key{peer(1), 0, 11}, 1, 2, {});
  auto first = t.find(wire_key{peer(1), 0, 10});
  ASSERT_TRUE(first);
  EXPECT_EQ(first.att->number, 1u);
}

TEST(AttemptTable, AKilledAttemptMatchesNothingButKeepsItsIdTaken) {
  table t;
  t.open(1, "one", net::query_kind::soa, "q", peer(1));
  wire_key key{peer(1), 0, 10};
  t.add(key, 1, 1, {});
  t.kill(key);
  EXPECT_FALSE(t.find(key));
  scripted_rng rng{{0, 10, 0, 11}};
  auto fresh = t.choose(peer(1), two_sockets, rng);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->id, 11);
  EXPECT_EQ(t.forget(1), 1u);
}

TEST(AttemptTable, TheRequestKeepsItsNameOnceAndTheFirstOwner) {
  table t;
  auto& r = t.open(1, "first", net::query_kind::notify, "zone", peer(1));
  EXPECT_EQ(r.qname, "zone");
  auto& again = t.open(1, "second", net::query_kind::soa, "other", peer(2));
  EXPECT_EQ(&again, &r);
  EXPECT_EQ(again.owner, "first");
  EXPECT_EQ(again.qname, "zone");
  EXPECT_EQ(again.kind, net::query_kind::notify);
}

} // namespace

namespace {

TEST(AttemptTable, ARequestOpenedWithoutANameTakesTheFirstQuerysName) {
  table t;
  t.open(1, "owner", net::query_kind::soa, "", net::endpoint{});
  auto& r = t.open(1, "other", net::query_kind::notify, "zone", peer(1));
  EXPECT_EQ(r.owner, "owner");
  EXPECT_EQ(r.qname, "zone");
  EXPECT_EQ(r.kind, net::query_kind::notify);
  EXPECT_EQ(r.peer, peer(1));
}

} // namespace
