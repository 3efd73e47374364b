#pragma once
/// Fair intake across pool managers: the casts the ZeroMQ thread has read
/// but not started wait in one first-in-first-out queue per pool manager
/// (routing id), and start round-robin across them, each pool manager up
/// to its own limit of requests in flight. One pool manager's backlog
/// (say 40,000 polls to a silent server) then holds up nobody else's
/// casts; past its queue's cap it is told `busy` at once, so that it can
/// send them to another instance. Pure: no sockets, no clock.

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace minidns {

template <class T>
class intake_queues {
public:
  /// At most `per_peer_cap` casts wait per pool manager.
  explicit intake_queues(size_t per_peer_cap) : cap_(per_peer_cap) {}

  /// Queues `item` from `peer`; false (and nothing queued) when that pool
  /// manager already has `per_peer_cap` casts waiting: it is busy.
  bool push(const std::string& peer, T item) {
    auto& q = queues_[peer];
    if (q.size() >= cap_) {
      if (q.empty())
        queues_.erase(peer);
      return false;
    }
    if (q.empty())
      ring_.push_back(peer);
    q.push_back(std::move(item));
    ++size_;
    return true;
  }

  /// The next cast to start: round-robin over the pool managers with casts
  /// waiting, skipping those for which `may_start(peer)` is false (at
  /// their limit). nullopt when none may start.
  template <class F>
  std::optional<std::pair<std::string, T>> pop(F&& may_start) {
    for (size_t n = ring_.size(); n > 0; --n) {
      auto peer = std::move(ring_.front());
      ring_.pop_front();
      if (!may_start(peer)) {
        ring_.push_back(std::move(peer));
        continue;
      }
      auto q = queues_.find(peer);
      auto item = std::move(q->second.front());
      q->second.pop_front();
      --size_;
      if (q->second.empty())
        queues_.erase(q);
      else
        ring_.push_back(peer); // its next cast waits for its next turn
      return std::make_pair(std::move(peer), std::move(item));
    }
    return std::nullopt;
  }

  /// Hands every waiting cast to `f(peer, item)`, in queue order per pool
  /// manager, and empties the queues (the drain refuses them).
  template <class F>
  void take_all(F&& f) {
    for (auto& peer : ring_) {
      auto q = queues_.find(peer);
      if (q == queues_.end())
        continue;
      for (auto& item : q->second)
        f(peer, std::move(item));
    }
    queues_.clear();
    ring_.clear();
    size_ = 0;
  }

  /// Takes the casts of `peer` for which `match(item)` is true, in queue
  /// order, and hands each to `f(item)` (a cancel ends them); returns how
  /// many.
  template <class Match, class F>
  size_t take_if(const std::string& peer, Match&& match, F&& f) {
    auto q = queues_.find(peer);
    if (q == queues_.end())
      return 0;
    size_t n = 0;
    std::deque<T> kept;
    for (auto& item : q->second) {
      if (match(item)) {
        f(std::move(item));
        ++n;
      } else {
        kept.push_back(std::move(item));
      }
    }
    size_ -= n;
    if (kept.empty()) {
      queues_.erase(q);
      for (auto i = ring_.begin(); i != ring_.end(); ++i)
        if (*i == peer) {
          ring_.erase(i);
          break;
        }
    } else {
      q->second = std::move(kept);
    }
    return n;
  }

  size_t size() const { return size_; } ///< casts waiting, all peers
  /// Casts waiting from `peer`.
  size_t size(const std::string& peer) const {
    auto q = queues_.find(peer);
    return q == queues_.end() ? 0 : q->second.size();
  }
  size_t cap() const { return cap_; }

private:
  size_t cap_;
  std::unordered_map<std::string, std::deque<T>> queues_;
  std::deque<std::string> ring_; ///< peers with casts waiting, in turn
  size_t size_ = 0;
};

} // namespace minidns
