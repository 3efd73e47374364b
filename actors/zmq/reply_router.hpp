#pragma once
/// Where the ZeroMQ thread's replies go: straight to the pool manager, into
/// that pool manager's backlog while its pipe is full (EAGAIN), or held for
/// a pool manager that is not connected until it comes back with the same
/// routing id (`minidns.reply-hold`, `minidns.reply-hold-max`). Pure: the
/// socket is behind a send function and the time is passed in, so tests
/// drive it with a fake socket and a fake clock.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

namespace minidns {

/// What became of one try to send a reply.
enum class send_result {
  sent,   ///< ZeroMQ took it
  full,   ///< the pool manager's pipe is full: try again later
  gone,   ///< no connection with that routing id (EHOSTUNREACH)
  failed, ///< ZeroMQ refused it for another reason
};

/// Settings of the router.
struct router_options {
  /// How long replies wait for a disconnected pool manager; 0: dropped.
  std::chrono::milliseconds hold{60000};
  /// Most replies held at once; past it the oldest is dropped.
  uint64_t hold_max = 100000;
  /// After a handshake (or a cast from a pool manager with held replies),
  /// held replies are tried this often for this long: ZeroMQ attaches the
  /// routing id a moment after the handshake.
  std::chrono::milliseconds retry_every{20};
  std::chrono::milliseconds retry_window{1000};
};

/// Counts of what the router did, for metrics and the summary line.
struct router_counts {
  uint64_t dropped = 0;        ///< replies dropped (gone, refused, expired)
  uint64_t held_delivered = 0; ///< held replies delivered after a return
};

/// Routes replies to pool managers; never blocks.
class reply_router {
public:
  using clock = std::chrono::steady_clock;
  using sender =
      std::function<send_result(const std::string& peer, const std::string&)>;
  /// Told of each dropped reply with the reason and the count so far.
  using drop_listener = std::function<void(const char* why, uint64_t n)>;

  /// Told of each reply held, with the number held now.
  using hold_listener = std::function<void(uint64_t held)>;

  reply_router(router_options opts, sender send, drop_listener on_drop = {},
               hold_listener on_hold = {});

  /// Sends `frame` to `peer` now, or queues it behind that peer's backlog,
  /// or holds it when the peer is gone. Returns false when it was queued
  /// (the pool manager's pipe is full), true otherwise.
  bool route(std::string peer, std::string frame, clock::time_point now);

  /// Sends what the backlogs hold, in order, until a pipe is full again.
  /// Returns how many left the backlogs.
  size_t retry_backlogs(clock::time_point now);

  /// A pool manager finished a handshake, or `peer` (when given) sent a
  /// cast: held replies are retried for the retry window.
  void peer_seen(clock::time_point now, const std::string* peer = nullptr);

  /// Drops held replies past their hold time and, within the retry window,
  /// tries to deliver the others.
  void tick(clock::time_point now);

  /// How long the caller may sleep before tick() or retry_backlogs() has
  /// work: nullopt for as long as it likes.
  std::optional<std::chrono::milliseconds>
  next_wakeup(clock::time_point now) const;

  /// Drops everything queued and held (the drain's linger time is over);
  /// returns how many replies that was.
  uint64_t drop_all();

  /// Replies queued behind full pipes.
  uint64_t queued() const { return queued_; }

  /// Replies held for pool managers that are not connected.
  uint64_t held() const { return held_.size(); }

  /// Whether replies are held for `peer`.
  bool holds_for(const std::string& peer) const {
    return held_peers_.count(peer) != 0;
  }

  /// What the router did so far.
  const router_counts& counts() const { return counts_; }

private:
  /// A reply waiting for its pool manager to reconnect.
  struct held_reply {
    std::string peer;
    std::string frame;
    clock::time_point expires;
  };

  /// Sends `frame` now; false when the pipe is full. A gone peer's reply is
  /// held (the frame is moved out) or dropped.
  bool try_send(const std::string& peer, std::string& frame,
                clock::time_point now);
  void hold(const std::string& peer, std::string frame, clock::time_point now);
  void drop_oldest_held(const char* why);
  void count_dropped(const char* why);
  void retry_held(clock::time_point now);

  router_options opts_;
  sender send_;
  drop_listener on_drop_;
  hold_listener on_hold_;
  std::unordered_map<std::string, std::deque<std::string>> backlog_;
  uint64_t queued_ = 0;
  std::deque<held_reply> held_; ///< arrival order, which is expiry order
  std::unordered_map<std::string, size_t> held_peers_; ///< count per peer
  clock::time_point retry_until_{};
  clock::time_point next_try_{};
  router_counts counts_;
};

} // namespace minidns
