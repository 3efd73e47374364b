#include "actors/zmq/reply_router.hpp"

#include <unordered_set>
#include <utility>

namespace minidns {

reply_router::reply_router(router_options opts, sender send,
                           drop_listener on_drop, hold_listener on_hold)
    : opts_(opts), send_(std::move(send)), on_drop_(std::move(on_drop)),
      on_hold_(std::move(on_hold)) {}

bool reply_router::route(std::string peer, std::string frame,
                         clock::time_point now) {
  // Behind a backlog, a reply waits its turn: replies keep their order.
  auto queue = backlog_.find(peer);
  if (queue == backlog_.end() && try_send(peer, frame, now))
    return true;
  backlog_[std::move(peer)].push_back(std::move(frame));
  ++queued_;
  return false;
}

size_t reply_router::retry_backlogs(clock::time_point now) {
  size_t moved = 0;
  for (auto i = backlog_.begin(); i != backlog_.end();) {
    auto& queue = i->second;
    while (!queue.empty() && try_send(i->first, queue.front(), now)) {
      queue.pop_front();
      --queued_;
      ++moved;
    }
    i = queue.empty() ? backlog_.erase(i) : std::next(i);
  }
  return moved;
}

void reply_router::peer_seen(clock::time_point now, const std::string* peer) {
  if (held_.empty() || (peer != nullptr && !holds_for(*peer)))
    return;
  retry_until_ = now + opts_.retry_window;
}

void reply_router::tick(clock::time_point now) {
  while (!held_.empty() && held_.front().expires <= now)
    drop_oldest_held("its pool manager did not reconnect within "
                     "minidns.reply-hold");
  if (!held_.empty() && now < retry_until_ && now >= next_try_)
    retry_held(now);
}

std::optional<std::chrono::milliseconds>
reply_router::next_wakeup(clock::time_point now) const {
  using std::chrono::milliseconds;
  std::optional<milliseconds> t;
  auto at_most = [&](milliseconds m) {
    if (m.count() < 0)
      m = milliseconds(0);
    if (!t || m < *t)
      t = m;
  };
  if (!backlog_.empty())
    at_most(milliseconds(5)); // no event says when a pipe has room
  if (!held_.empty()) {
    at_most(
        std::chrono::duration_cast<milliseconds>(held_.front().expires - now) +
        milliseconds(1));
    if (now < retry_until_)
      at_most(opts_.retry_every);
  }
  return t;
}

uint64_t reply_router::drop_all() {
  uint64_t n = queued_ + held_.size();
  counts_.dropped += n;
  backlog_.clear();
  queued_ = 0;
  held_.clear();
  held_peers_.clear();
  return n;
}

bool reply_router::try_send(const std::string& peer, std::string& frame,
                            clock::time_point now) {
  switch (send_(peer, frame)) {
  case send_result::sent:
    return true;
  case send_result::full:
    return false;
  case send_result::gone:
    if (opts_.hold.count() > 0 && opts_.hold_max > 0)
      hold(peer, std::move(frame), now);
    else
      count_dropped("its pool manager is not connected");
    return true;
  case send_result::failed:
    count_dropped("ZeroMQ refused it");
    return true;
  }
  return true;
}

void reply_router::hold(const std::string& peer, std::string frame,
                        clock::time_point now) {
  if (held_.size() >= opts_.hold_max)
    drop_oldest_held("more than minidns.reply-hold-max replies held");
  held_.push_back({peer, std::move(frame), now + opts_.hold});
  ++held_peers_[peer];
  if (on_hold_)
    on_hold_(held_.size());
}

void reply_router::drop_oldest_held(const char* why) {
  auto& h = held_.front();
  if (auto i = held_peers_.find(h.peer);
      i != held_peers_.end() && --i->second == 0)
    held_peers_.erase(i);
  held_.pop_front();
  count_dropped(why);
}

void reply_router::count_dropped(const char* why) {
  ++counts_.dropped;
  if (on_drop_)
    on_drop_(why, counts_.dropped);
}

void reply_router::retry_held(clock::time_point now) {
  next_try_ = now + opts_.retry_every;
  std::unordered_set<std::string> still_gone;
  std::deque<held_reply> keep;
  for (auto& h : held_) {
    if (still_gone.count(h.peer) != 0) {
      keep.push_back(std::move(h));
      continue;
    }
    // A pool manager with a backlog takes its held replies behind it.
    auto r = backlog_.count(h.peer) != 0 ? send_result::full
                                         : send_(h.peer, h.frame);
    if (r == send_result::gone) {
      still_gone.insert(h.peer);
      keep.push_back(std::move(h));
      continue;
    }
    if (auto i = held_peers_.find(h.peer); --i->second == 0)
      held_peers_.erase(i);
    if (r == send_result::sent) {
      ++counts_.held_delivered;
    } else if (r == send_result::full) {
      backlog_[h.peer].push_back(std::move(h.frame));
      ++queued_;
    } else {
      count_dropped("ZeroMQ refused it");
    }
  }
  held_.swap(keep);
}

} // namespace minidns
