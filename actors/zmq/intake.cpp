/// The ZeroMQ thread's casts: reading and decoding them, fair intake
/// across pool managers (intake_queues), NOTIFY coalescing
/// (notify_coalescer), starting requests and sending their replies. See
/// loop_impl.hpp.

#include "actors/zmq/loop_impl.hpp"

namespace minidns {

void zmq_bridge_loop::send_replies(clock::time_point now) {
  outbox_.take(work_);
  for (auto& item : work_) {
    auto req = live_.find(item.token);
    if (req == live_.end())
      continue; // cannot happen: every request ends once
    auto peer = std::move(req->second.peer);
    live_.erase(req);
    if (auto p = per_peer_.find(peer); p != per_peer_.end() && --p->second == 0)
      per_peer_.erase(p);
    if (!pool_of_.empty())
      if (auto p = pool_of_.find(item.token); p != pool_of_.end()) {
        auto [pool, index] = p->second;
        pool_of_.erase(p);
        pool_request_ended(pool, index, item.end, now);
        continue;
      }
    if (!item.frame.empty()) // a notify ends without a reply
      router_.route(std::move(peer), std::move(item.frame), now);
    if (!cancelling_.empty())
      cancel_target_ended(item.token, now);
    tell_riders(item.token, item.end, now);
    if (auto next = coalescer_.ended(item.token)) {
      auto w = waiting_.find(*next);
      if (w != waiting_.end()) {
        auto n = std::move(w->second);
        waiting_.erase(w);
        start_now(*next, std::move(n.cast), std::move(n.peer));
      }
    }
  }
  work_.clear();
}

void zmq_bridge_loop::tell_riders(uint64_t token, const request_end& end,
                                  clock::time_point now) {
  if (riders_.empty())
    return;
  auto r = riders_.find(token);
  if (r == riders_.end())
    return;
  for (auto& x : r->second)
    router_.route(
        std::move(x.peer),
        messages::finish_status(std::move(x.reply_prefix),
                                end.success ? messages::status::success
                                            : messages::status::error,
                                std::nullopt, net::to_string(end.detail)),
        now);
  riders_count_ -= r->second.size();
  riders_.erase(r);
}

void zmq_bridge_loop::read_casts(clock::time_point now) {
  for (int i = 0; i < read_burst; ++i) {
    bool refusing = drain_.refusing();
    // Casts read wait in the queues, where one pool manager's backlog
    // blocks no other (past its cap it is told busy); past this many in
    // all, they wait in ZeroMQ.
    if (!refusing && intake_.size() >= read_ahead())
      return;
    if (!refusing && i % 64 == 0 && too_late(udp_->timer_lag_ns()))
      return;
    receive_all(sock_, parts_);
    if (parts_.empty())
      return;
    // The ROUTER puts the sender's routing id first.
    std::string peer(static_cast<const char*>(parts_[0].data()),
                     parts_[0].size());
    router_.peer_seen(now, &peer); // back: deliver what it missed
    take_cast(std::move(peer), now);
  }
}

void zmq_bridge_loop::take_cast(std::string peer, clock::time_point now) {
  if (parts_.size() != 2) {
    m_.cast_refused(messages::invalid_field::frame);
    router_.route(
        std::move(peer),
        messages::encode_error(
            "frame: expected one frame holding one msgpack map, got " +
            std::to_string(parts_.size() - 1) + " frames"),
        now);
    return;
  }
  auto decoded = messages::decode_cast(parts_[1].data(), parts_[1].size(),
                                       &opts_.allowed, opts_.tsig_keys.get());
  if (!decoded.ok) {
    m_.cast_refused(decoded.field);
    spdlog::info("invalid cast: {}", decoded.error);
    router_.route(std::move(peer), std::move(decoded.error_reply), now);
    return;
  }
  auto& c = *decoded.ok;
  if (c.kind == messages::method::cancel) {
    cancel(std::move(peer), std::move(c), now); // while draining too
    return;
  }
  if (!c.pool)
    apply_defaults(c); // a pool poll's, per destination when it starts
  bool poll = messages::is_poll(c.kind);
  if (drain_.refusing()) {
    metrics::add(m_.zmq.drain_refused);
    refuse_draining(std::move(peer), std::move(c), now);
    return;
  }
  metrics::add(m_.casts[poll ? 1 : 0]);
  if (intake_.size(peer) >= intake_.cap()) {
    busy(std::move(peer), std::move(c), now);
    return;
  }
  intake_.push(peer, std::move(c));
  start_ready(); // at once when there is room: only the rest wait
}

void zmq_bridge_loop::busy(std::string peer, messages::cast c,
                           clock::time_point now) {
  metrics::add(m_.zmq.busy);
  auto reason = "busy: " + std::to_string(intake_.cap()) +
                " casts of this pool manager wait to start "
                "(minidns.max-queued-per-pool-manager); send this one to "
                "another instance";
  router_.route(std::move(peer),
                c.wants_status ? unstarted_status(c, "busy", reason)
                               : messages::encode_error(reason, c.request_id),
                now);
}

void zmq_bridge_loop::refuse_queued(clock::time_point now) {
  intake_.take_all([&](const std::string& peer, messages::cast c) {
    metrics::add(m_.zmq.drain_refused);
    refuse_draining(peer, std::move(c), now);
  });
}

void zmq_bridge_loop::refuse_draining(std::string peer, messages::cast c,
                                      clock::time_point now) {
  router_.route(std::move(peer),
                c.wants_status
                    ? unstarted_status(c, "shutdown")
                    : messages::encode_error(
                          "draining: minidns is shutting down; the cast "
                          "was not carried out",
                          c.request_id),
                now);
}

void zmq_bridge_loop::start_ready() {
  if (intake_.size() == 0)
    return;
  if (!drain_.refusing() && too_late(udp_->timer_lag_ns()))
    return; // deadlines of accepted requests come first
  size_t active = per_peer_.size();
  for (;;) {
    const uint64_t share = std::max<uint64_t>(
        1, opts_.max_in_flight / std::max<size_t>(active, 1));
    const bool room = in_flight() < opts_.max_in_flight;
    auto next = intake_.pop([&](const std::string& p) {
      auto i = per_peer_.find(p);
      uint64_t mine = i == per_peer_.end() ? 0 : i->second;
      return (room && mine < opts_.max_in_flight) || mine < share;
    });
    if (!next)
      return;
    if (per_peer_.count(next->first) == 0)
      ++active;
    admit(std::move(next->first), std::move(next->second));
  }
}

void zmq_bridge_loop::apply_defaults(messages::cast& c) const {
  if (!c.transport && !opts_.tcp_destinations.empty() &&
      opts_.tcp_destinations.allows(c.destination))
    c.transport = net::transport::tcp;
  if (c.tsig == 0)
    for (const auto& [prefix, key] : opts_.tsig_defaults)
      if (prefix.contains(c.destination)) {
        c.tsig = key;
        break;
      }
}

void zmq_bridge_loop::admit(std::string peer, messages::cast c) {
  const bool poll = messages::is_poll(c.kind);
  auto token = next_token_++;
  if (c.pool) {
    start_pool(token, std::move(c), std::move(peer));
    return;
  }
  if (!poll) {
    uint64_t into = 0;
    switch (coalescer_.arrive(
        net::make_query_key(c.zone_wire, c.destination, c.tsig,
                            c.transport.value_or(net::transport::udp)),
        token, into)) {
    case notify_coalescer::action::start:
      break;
    case notify_coalescer::action::follow:
      metrics::add(m_.zmq.notify_deferred);
      waiting_.emplace(token, waiting_notify{std::move(c), std::move(peer)});
      return;
    case notify_coalescer::action::merge:
      metrics::add(m_.zmq.notify_merged);
      if (c.wants_status) {
        riders_[into].push_back({std::move(peer), std::move(c.reply_prefix)});
        ++riders_count_;
      }
      return;
    }
  }
  start_now(token, std::move(c), std::move(peer));
}

void zmq_bridge_loop::start_now(uint64_t token, messages::cast c,
                                std::string peer,
                                std::shared_ptr<const std::atomic<bool>> stop) {
  auto request_id = std::move(c.request_id); // kept here, for cancel
  auto handle = start_request(*sys_, token, std::move(c), udp_,
                              std::static_pointer_cast<status_port>(self_),
                              std::move(stop));
  ++per_peer_[peer];
  live_.emplace(token, live_request{caf::actor_cast<caf::actor>(handle),
                                    std::move(peer), std::move(request_id)});
}

} // namespace minidns
