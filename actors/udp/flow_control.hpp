#pragma once
/// Per-destination flow control of the UDP thread: at most
/// `max_outstanding` queries outstanding to one address and port, an
/// optional rate per kind (queries per second; BIND paces NOTIFYs at 20/s
/// by default), and a first-in-first-out queue per destination for the
/// queries that must wait. A server that is slow or silent fills only its
/// own queue. Pure: no sockets, no threads, no clock (times are passed in).
/// The UDP thread owns one.
///
/// A query waits only while its destination is at its limit or its rate;
/// it leaves in arrival order, and its attempt's timeout starts when it
/// leaves (the caller schedules it then).

#include "net/dns_message.hpp"
#include "net/endpoint.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

namespace minidns {

class flow_control {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// The limits, the same for every destination. Zero turns one off.
  struct limits {
    uint32_t max_outstanding = 0; ///< queries outstanding per destination
    double notify_rate = 0;       ///< NOTIFYs per second per destination
    double poll_rate = 0;         ///< SOA queries per second per destination
  };

  /// A query that waits: whose and which attempt, and its timeout (which
  /// starts when it leaves).
  struct waiting {
    uint64_t token = 0;
    uint32_t attempt = 0;
    int64_t timeout_ns = 0;
  };

  /// A query allowed to leave now; it counts as outstanding until ended().
  struct ready {
    net::endpoint destination;
    net::query_kind kind;
    waiting query;
  };

  explicit flow_control(limits l) : limits_(l) {
    interval_[0] = interval(l.notify_rate);
    interval_[1] = interval(l.poll_rate);
  }

  /// Whether the limits let anything wait at all.
  bool active() const {
    return limits_.max_outstanding > 0 || interval_[0].count() > 0 ||
           interval_[1].count() > 0;
  }

  /// A query of `kind` for `dest`: true when it may leave now (it counts
  /// as outstanding from here; the caller sends it). False: it waits at
  /// the end of `dest`'s queue and comes back from take_ready().
  bool admit(const net::endpoint& dest, net::query_kind kind, const waiting& q,
             time_point now) {
    if (!active())
      return true;
    auto& d = dests_[dest];
    auto k = index(kind);
    if (d.empty() && has_room(d) && d.next_ok[k] <= now) {
      leave(d, k, now);
      return true;
    }
    d.queue[k].push_back({q, seq_++});
    ++waiting_;
    promote(dest, d, now); // a rate may already allow it later: set a wake-up
    return false;
  }

  /// A query to `dest` admitted or made ready before is no longer
  /// outstanding: answered, timed out, failed to leave, or its request
  /// ended. The next waiting ones may leave (see take_ready()).
  void ended(const net::endpoint& dest, time_point now) {
    if (!active())
      return;
    auto i = dests_.find(dest);
    if (i == dests_.end())
      return;
    auto& d = i->second;
    if (d.outstanding > 0) {
      --d.outstanding;
      --outstanding_;
    }
    promote(dest, d, now);
    forget_if_idle(i, now);
  }

  /// Moves the queries that may leave now into `out` (appended), in order
  /// per destination; each counts as outstanding until ended().
  void take_ready(time_point now, std::vector<ready>& out) {
    while (!wakeups_.empty() && wakeups_.top().at <= now) {
      auto dest = wakeups_.top().dest;
      wakeups_.pop();
      auto i = dests_.find(dest);
      if (i == dests_.end())
        continue;
      i->second.wakeup_set = false;
      promote(dest, i->second, now);
      forget_if_idle(i, now);
    }
    out.insert(out.end(), ready_.begin(), ready_.end());
    ready_.clear();
  }

  /// Whether take_ready() has something now, without a rate wake-up.
  bool has_ready() const { return !ready_.empty(); }

  /// When a destination held back by its rate may send next (or its
  /// record may be dropped); nullopt when none waits for time.
  std::optional<time_point> next_due() const {
    if (wakeups_.empty())
      return std::nullopt;
    return wakeups_.top().at;
  }

  size_t waiting_count() const { return waiting_; } ///< queued, all
  size_t outstanding_count() const { return outstanding_; }
  size_t destinations() const { return dests_.size(); } ///< with a record

private:
  struct entry {
    waiting query;
    uint64_t seq; ///< arrival order across both kinds
  };

  struct dest_state {
    uint32_t outstanding = 0;
    std::deque<entry> queue[2]; ///< by kind, each in arrival order
    time_point next_ok[2] = {}; ///< by kind: not before (rates)
    bool wakeup_set = false;
    bool empty() const { return queue[0].empty() && queue[1].empty(); }
  };

  struct wakeup {
    time_point at;
    net::endpoint dest;
    bool operator>(const wakeup& o) const { return at > o.at; }
  };

  using map = std::unordered_map<net::endpoint, dest_state, net::endpoint_hash>;

  static std::chrono::nanoseconds interval(double rate) {
    if (!(rate > 0))
      return std::chrono::nanoseconds{0};
    return std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  }

  static size_t index(net::query_kind k) {
    return k == net::query_kind::notify ? 0 : 1;
  }

  static net::query_kind kind_of(size_t k) {
    return k == 0 ? net::query_kind::notify : net::query_kind::soa;
  }

  bool has_room(const dest_state& d) const {
    return limits_.max_outstanding == 0 ||
           d.outstanding < limits_.max_outstanding;
  }

  void leave(dest_state& d, size_t k, time_point now) {
    ++d.outstanding;
    ++outstanding_;
    if (interval_[k].count() > 0)
      d.next_ok[k] = std::max(d.next_ok[k], now) + interval_[k];
  }

  /// Lets waiting queries of `d` leave while there is room: the oldest
  /// whose kind's rate allows it (a NOTIFY held by its rate does not hold
  /// up a poll). Sets a wake-up when a rate holds the rest back.
  void promote(const net::endpoint& dest, dest_state& d, time_point now) {
    while (has_room(d)) {
      int k = -1; // the kind whose head may leave and came first
      for (int i = 0; i < 2; ++i)
        if (!d.queue[i].empty() && d.next_ok[i] <= now &&
            (k < 0 || d.queue[i].front().seq < d.queue[k].front().seq))
          k = i;
      if (k < 0)
        break;
      auto& q = d.queue[k];
      leave(d, static_cast<size_t>(k), now);
      ready_.push_back(
          {dest, kind_of(static_cast<size_t>(k)), q.front().query});
      q.pop_front();
      --waiting_;
    }
    if (!d.empty() && has_room(d))
      set_wakeup(dest, d, earliest_next_ok(d));
  }

  static time_point earliest_next_ok(const dest_state& d) {
    time_point t = time_point::max();
    for (int i = 0; i < 2; ++i)
      if (!d.queue[i].empty())
        t = std::min(t, d.next_ok[i]);
    return t;
  }

  void set_wakeup(const net::endpoint& dest, dest_state& d, time_point at) {
    if (d.wakeup_set)
      return;
    d.wakeup_set = true;
    wakeups_.push({at, dest});
  }

  /// Drops the record of a destination with nothing outstanding or
  /// waiting, once its rates no longer hold anything back; until then a
  /// wake-up comes back to drop it.
  void forget_if_idle(map::iterator i, time_point now) {
    auto& d = i->second;
    if (d.outstanding > 0 || !d.empty())
      return;
    auto until = std::max(d.next_ok[0], d.next_ok[1]);
    if (until <= now) {
      if (!d.wakeup_set)
        dests_.erase(i);
      return;
    }
    set_wakeup(i->first, d, until);
  }

  limits limits_;
  std::chrono::nanoseconds interval_[2];
  map dests_;
  std::vector<ready> ready_;
  std::priority_queue<wakeup, std::vector<wakeup>, std::greater<>> wakeups_;
  uint64_t seq_ = 0;
  size_t waiting_ = 0;
  size_t outstanding_ = 0;
};

} // namespace minidns
