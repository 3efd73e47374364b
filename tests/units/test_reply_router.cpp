/// The reply router on a fake socket and a fake clock: per-pool-manager
/// backlogs when a pipe is full, held replies for pool managers that come
/// back, expiry, the hold limit and drop counts.

#include "actors/zmq/reply_router.hpp"

#include <gtest/gtest.h>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace minidns;
using namespace std::chrono_literals;

namespace {

using tp = std::chrono::steady_clock::time_point;
const tp t0{std::chrono::seconds(1000)};

/// A ROUTER socket's stand-in: each pool manager is connected or not, its
/// pipe has room for `room` more replies (unlimited when negative).
struct fake_socket {
  struct peer_state {
    bool connected = true;
    int room = -1;
  };
  std::map<std::string, peer_state> peers;
  std::vector<std::pair<std::string, std::string>> sent;
  bool refuse = false; ///< every send fails for another reason

  send_result send(const std::string& peer, const std::string& frame) {
    if (refuse)
      return send_result::failed;
    auto& p = peers[peer];
    if (!p.connected)
      return send_result::gone;
    if (p.room == 0)
      return send_result::full;
    if (p.room > 0)
      --p.room;
    sent.emplace_back(peer, frame);
    return send_result::sent;
  }
};

struct RouterTest : ::testing::Test {
  fake_socket sock;
  std::vector<std::string> drops;
  std::vector<uint64_t> held_seen; ///< held count at each hold
  router_options opts;

  reply_router make() {
    return reply_router{
        opts,
        [this](const std::string& p, const std::string& f) {
          return sock.send(p, f);
        },
        [this](const char* why, uint64_t) { drops.emplace_back(why); },
        [this](uint64_t n) { held_seen.push_back(n); }};
  }

  std::vector<std::string> frames_to(const std::string& peer) const {
    std::vector<std::string> out;
    for (auto& [p, f] : sock.sent)
      if (p == peer)
        out.push_back(f);
    return out;
  }
};

TEST_F(RouterTest, AConnectedPoolManagerGetsItsReplyAtOnce) {
  auto r = make();
  EXPECT_TRUE(r.route("pm1", "a", t0));
  EXPECT_EQ(frames_to("pm1"), std::vector<std::string>{"a"});
  EXPECT_EQ(r.queued(), 0u);
  EXPECT_FALSE(r.next_wakeup(t0)) << "nothing to wait for";
}

TEST_F(RouterTest, AFullPipeQueuesInOrderAndHoldsUpNoOtherPoolManager) {
  auto r = make();
  sock.peers["slow"].room = 1;
  EXPECT_TRUE(r.route("slow", "1", t0));
  EXPECT_FALSE(r.route("slow", "2", t0));
  EXPECT_FALSE(r.route("slow", "3", t0));
  EXPECT_TRUE(r.route("fast", "x", t0));
  EXPECT_EQ(r.queued(), 2u);
  EXPECT_EQ(frames_to("fast"), std::vector<std::string>{"x"});
  ASSERT_TRUE(r.next_wakeup(t0));
  EXPECT_LE(*r.next_wakeup(t0), 5ms) << "no event says when a pipe has room";
  // Still full: nothing moves.
  EXPECT_EQ(r.retry_backlogs(t0), 0u);
  // Room for one: the oldest goes first.
  sock.peers["slow"].room = 1;
  EXPECT_EQ(r.retry_backlogs(t0), 1u);
  EXPECT_EQ(frames_to("slow"), (std::vector<std::string>{"1", "2"}));
  // A new reply waits behind the backlog even when the pipe has room.
  sock.peers["slow"].room = -1;
  EXPECT_FALSE(r.route("slow", "4", t0));
  EXPECT_EQ(r.retry_backlogs(t0), 2u);
  EXPECT_EQ(frames_to("slow"), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(r.queued(), 0u);
  EXPECT_TRUE(drops.empty());
}

TEST_F(RouterTest, AGonePoolManagersRepliesAreHeldAndDeliveredWhenItReturns) {
  auto r = make();
  sock.peers["pm"].connected = false;
  EXPECT_TRUE(r.route("pm", "a", t0));
  EXPECT_TRUE(r.route("pm", "b", t0 + 1ms));
  EXPECT_EQ(r.held(), 2u);
  EXPECT_EQ(held_seen, (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(r.holds_for("pm"));
  EXPECT_EQ(r.queued(), 0u) << "held replies are not in flight";
  // Back, but not yet seen: no retry outside the window.
  sock.peers["pm"].connected = true;
  r.tick(t0 + 10ms);
  EXPECT_TRUE(sock.sent.empty());
  // A handshake opens the window.
  r.peer_seen(t0 + 10ms);
  r.tick(t0 + 10ms);
  EXPECT_EQ(frames_to("pm"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.held(), 0u);
  EXPECT_EQ(r.counts().held_delivered, 2u);
  EXPECT_FALSE(r.holds_for("pm"));
}

TEST_F(RouterTest, HeldRepliesAreRetriedOftenWithinTheWindowOnly) {
  opts.retry_every = 20ms;
  opts.retry_window = 1000ms;
  auto r = make();
  sock.peers["pm"].connected = false;
  r.route("pm", "a", t0);
  r.peer_seen(t0); // a handshake, but ZeroMQ has not attached it yet
  r.tick(t0);
  EXPECT_EQ(r.held(), 1u);
  ASSERT_TRUE(r.next_wakeup(t0));
  EXPECT_EQ(*r.next_wakeup(t0), 20ms);
  sock.peers["pm"].connected = true;
  r.tick(t0 + 19ms);
  EXPECT_TRUE(sock.sent.empty()) << "not before the retry interval";
  r.tick(t0 + 20ms);
  EXPECT_EQ(frames_to("pm"), std::vector<std::string>{"a"});
  // Past the window, a handshake is needed again.
  sock.peers["pm"].connected = false;
  r.route("pm", "b", t0 + 30ms);
  sock.peers["pm"].connected = true;
  r.tick(t0 + 1100ms);
  EXPECT_EQ(r.held(), 1u);
}

TEST_F(RouterTest, ACastFromAPoolManagerWithHeldRepliesOpensTheWindow) {
  auto r = make();
  sock.peers["pm"].connected = false;
  r.route("pm", "a", t0);
  sock.peers["pm"].connected = true;
  std::string other = "stranger";
  r.peer_seen(t0, &other);
  r.tick(t0);
  EXPECT_EQ(r.held(), 1u) << "a cast from another pool manager does not";
  std::string pm = "pm";
  r.peer_seen(t0, &pm);
  r.tick(t0);
  EXPECT_EQ(r.held(), 0u);
}

TEST_F(RouterTest, HeldRepliesExpireAfterTheHoldTime) {
  opts.hold = 60s;
  auto r = make();
  sock.peers["pm"].connected = false;
  r.route("pm", "a", t0);
  r.route("pm", "b", t0 + 10s);
  ASSERT_TRUE(r.next_wakeup(t0));
  EXPECT_EQ(*r.next_wakeup(t0), 60001ms) << "wakes for the first expiry";
  r.tick(t0 + 60s - 1ms);
  EXPECT_EQ(r.held(), 2u);
  r.tick(t0 + 60s);
  EXPECT_EQ(r.held(), 1u);
  EXPECT_EQ(r.counts().dropped, 1u);
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_NE(drops[0].find("minidns.reply-hold"), std::string::npos);
  r.tick(t0 + 70s);
  EXPECT_EQ(r.held(), 0u);
  EXPECT_EQ(r.counts().dropped, 2u);
}

TEST_F(RouterTest, PastTheHoldMaximumTheOldestIsDropped) {
  opts.hold_max = 2;
  auto r = make();
  sock.peers["pm"].connected = false;
  r.route("pm", "a", t0);
  r.route("pm", "b", t0);
  r.route("pm", "c", t0);
  EXPECT_EQ(r.held(), 2u);
  EXPECT_EQ(r.counts().dropped, 1u);
  EXPECT_NE(drops.at(0).find("reply-hold-max"), std::string::npos);
  sock.peers["pm"].connected = true;
  r.peer_seen(t0);
  r.tick(t0);
  EXPECT_EQ(frames_to("pm"), (std::vector<std::string>{"b", "c"}));
}

TEST_F(RouterTest, WithHoldingOffAGonePoolManagersReplyIsDropped) {
  opts.hold = 0ms;
  auto r = make();
  sock.peers["pm"].connected = false;
  EXPECT_TRUE(r.route("pm", "a", t0));
  EXPECT_EQ(r.held(), 0u);
  EXPECT_EQ(r.counts().dropped, 1u);
  EXPECT_NE(drops.at(0).find("not connected"), std::string::npos);
}

TEST_F(RouterTest, ARefusedSendIsDroppedAndCounted) {
  auto r = make();
  sock.refuse = true;
  EXPECT_TRUE(r.route("pm", "a", t0));
  EXPECT_EQ(r.counts().dropped, 1u);
  EXPECT_EQ(r.queued(), 0u);
}

TEST_F(RouterTest, HeldRepliesOfAPoolManagerWithAFullPipeJoinItsBacklog) {
  auto r = make();
  sock.peers["pm"].connected = false;
  r.route("pm", "a", t0);
  r.route("pm", "b", t0);
  sock.peers["pm"] = {true, 1};
  r.peer_seen(t0);
  r.tick(t0);
  EXPECT_EQ(frames_to("pm"), std::vector<std::string>{"a"});
  EXPECT_EQ(r.held(), 0u);
  EXPECT_EQ(r.queued(), 1u) << "b waits in the backlog, in flight again";
  sock.peers["pm"].room = -1;
  r.retry_backlogs(t0);
  EXPECT_EQ(frames_to("pm"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(RouterTest, ABackloggedPoolManagerThatLeavesHasItsRestHeld) {
  auto r = make();
  sock.peers["pm"].room = 0;
  r.route("pm", "a", t0);
  EXPECT_EQ(r.queued(), 1u);
  sock.peers["pm"].connected = false;
  r.retry_backlogs(t0);
  EXPECT_EQ(r.queued(), 0u);
  EXPECT_EQ(r.held(), 1u);
}

TEST_F(RouterTest, DropAllEmptiesBacklogsAndHeldRepliesAndCountsThem) {
  auto r = make();
  sock.peers["slow"].room = 0;
  sock.peers["gone"].connected = false;
  r.route("slow", "a", t0);
  r.route("slow", "b", t0);
  r.route("gone", "c", t0);
  EXPECT_EQ(r.drop_all(), 3u);
  EXPECT_EQ(r.queued(), 0u);
  EXPECT_EQ(r.held(), 0u);
  EXPECT_EQ(r.counts().dropped, 3u);
  EXPECT_FALSE(r.holds_for("gone"));
}

} // namespace
