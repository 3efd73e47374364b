/// Per-destination flow control on a fake clock: the cap on outstanding
/// queries, the FIFO per destination, rates per kind, and that one busy
/// destination holds up no other.

#include "actors/udp/flow_control.hpp"

#include <gtest/gtest.h>

using namespace minidns;
using namespace std::chrono_literals;

namespace {

using kind = net::query_kind;
using tp = flow_control::time_point;

net::endpoint dest(uint8_t last_octet, uint16_t port = 53) {
  net::endpoint e;
  e.addr = {192, 0, 2, last_octet};
  e.port = port;
  return e;
}

flow_control::waiting q(uint64_t token, uint32_t attempt = 1) {
  return {token, attempt, 1'000'000'000};
}

/// The tokens take_ready() hands out now.
std::vector<uint64_t> ready_tokens(flow_control& f, tp now) {
  std::vector<flow_control::ready> out;
  f.take_ready(now, out);
  std::vector<uint64_t> tokens;
  for (auto& r : out)
    tokens.push_back(r.query.token);
  return tokens;
}

const tp t0{std::chrono::seconds(100)};

} // namespace

TEST(FlowControl, WithoutLimitsEverythingLeavesAndNothingIsKept) {
  flow_control f({});
  EXPECT_FALSE(f.active());
  for (uint64_t i = 1; i <= 1000; ++i)
    EXPECT_TRUE(f.admit(dest(1), kind::soa, q(i), t0));
  EXPECT_EQ(f.destinations(), 0u);
  EXPECT_EQ(f.waiting_count(), 0u);
}

TEST(FlowControl, PastTheCapQueriesWaitAndLeaveInArrivalOrder) {
  flow_control f({2, 0, 0});
  EXPECT_TRUE(f.admit(dest(1), kind::soa, q(1), t0));
  EXPECT_TRUE(f.admit(dest(1), kind::notify, q(2), t0));
  EXPECT_FALSE(f.admit(dest(1), kind::soa, q(3), t0));
  EXPECT_FALSE(f.admit(dest(1), kind::notify, q(4), t0));
  EXPECT_FALSE(f.admit(dest(1), kind::soa, q(5), t0));
  EXPECT_EQ(f.outstanding_count(), 2u);
  EXPECT_EQ(f.waiting_count(), 3u);
  EXPECT_TRUE(ready_tokens(f, t0).empty()) << "nothing ended yet";

  f.ended(dest(1), t0);
  EXPECT_EQ(ready_tokens(f, t0), std::vector<uint64_t>{3});
  f.ended(dest(1), t0);
  f.ended(dest(1), t0);
  EXPECT_EQ(ready_tokens(f, t0), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(f.waiting_count(), 0u);
  EXPECT_EQ(f.outstanding_count(), 2u);
}

TEST(FlowControl, ANewQueryDoesNotOvertakeWaitingOnes) {
  flow_control f({1, 0, 0});
  EXPECT_TRUE(f.admit(dest(1), kind::soa, q(1), t0));
  EXPECT_FALSE(f.admit(dest(1), kind::soa, q(2), t0));
  f.ended(dest(1), t0); // 2 is ready but not yet taken: a slot is its
  EXPECT_FALSE(f.admit(dest(1), kind::soa, q(3), t0));
  EXPECT_EQ(ready_tokens(f, t0), std::vector<uint64_t>{2});
}

TEST(FlowControl, AFullDestinationHoldsUpNoOther) {
  flow_control f({1, 0, 0});
  EXPECT_TRUE(f.admit(dest(1), kind::soa, q(1), t0));
  EXPECT_FALSE(f.admit(dest(1), kind::soa, q(2), t0));
  EXPECT_TRUE(f.admit(dest(2), kind::soa, q(3), t0)) << "other address";
  EXPECT_TRUE(f.admit(dest(1, 5353), kind::soa, q(4), t0)) << "other port";
}

TEST(FlowControl, ARateSpacesQueriesAndWakesTheThreadWhenTheNextMayGo) {
  flow_control f({0, 10, 0}); // 10 NOTIFYs per second: one per 100 ms
  EXPECT_TRUE(f.admit(dest(1), kind::notify, q(1), t0));
  EXPECT_FALSE(f.admit(dest(1), kind::notify, q(2), t0));
  EXPECT_FALSE(f.admit(dest(1), kind::notify, q(3), t0));
  ASSERT_TRUE(f.next_due());
  EXPECT_EQ(*f.next_due(), t0 + 100ms);
  EXPECT_TRUE(ready_tokens(f, t0 + 99ms).empty());
  EXPECT_EQ(ready_tokens(f, t0 + 100ms), std::vector<uint64_t>{2});
  EXPECT_EQ(*f.next_due(), t0 + 200ms);
  EXPECT_EQ(ready_tokens(f, t0 + 250ms), std::vector<uint64_t>{3});
  // Polls have no rate here: they are not paced.
  EXPECT_TRUE(f.admit(dest(1), kind::soa, q(4), t0 + 250ms));
}

TEST(FlowControl, ANotifyHeldByItsRateDoesNotHoldUpAPoll) {
  flow_control f({0, 1, 0});
  EXPECT_TRUE(f.admit(dest(1), kind::notify, q(1), t0));
  EXPECT_FALSE(f.admit(dest(1), kind::notify, q(2), t0));
  // The poll queues behind the waiting NOTIFY but leaves at once.
  EXPECT_FALSE(f.admit(dest(1), kind::soa, q(3), t0));
  EXPECT_EQ(ready_tokens(f, t0), std::vector<uint64_t>{3});
  EXPECT_EQ(f.waiting_count(), 1u);
}

TEST(FlowControl, AnIdleDestinationIsForgottenOnceItsRateAllows) {
  flow_control f({4, 0, 0});
  EXPECT_TRUE(f.admit(dest(1), kind::soa, q(1), t0));
  EXPECT_EQ(f.destinations(), 1u);
  f.ended(dest(1), t0);
  EXPECT_EQ(f.destinations(), 0u);
  EXPECT_EQ(f.outstanding_count(), 0u);

  flow_control r({0, 0, 2}); // 2 polls per second
  EXPECT_TRUE(r.admit(dest(1), kind::soa, q(1), t0));
  r.ended(dest(1), t0 + 10ms);
  EXPECT_EQ(r.destinations(), 1u) << "its rate still holds";
  EXPECT_FALSE(r.admit(dest(1), kind::soa, q(2), t0 + 20ms))
      << "an answer does not reset the rate";
  EXPECT_EQ(ready_tokens(r, t0 + 500ms), std::vector<uint64_t>{2});
  r.ended(dest(1), t0 + 510ms);
  EXPECT_TRUE(ready_tokens(r, t0 + 1s).empty());
  EXPECT_EQ(r.destinations(), 0u);
  EXPECT_FALSE(r.next_due());
}

TEST(FlowControl, AnEndWithoutAnAdmitIsIgnored) {
  flow_control f({1, 0, 0});
  f.ended(dest(9), t0);
  EXPECT_EQ(f.destinations(), 0u);
  EXPECT_TRUE(f.admit(dest(9), kind::soa, q(1), t0));
}
