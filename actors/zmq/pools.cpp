/// The ZeroMQ thread's casts that span requests: polls across several
/// destinations (pool_tally decides them) and cancels. See loop_impl.hpp.

#include "actors/zmq/loop_impl.hpp"
#include "messages/wire.hpp"

namespace minidns {

std::string zmq_loop_detail::unstarted_status(messages::cast& c,
                                              std::string_view detail,
                                              std::string_view reason) {
  if (!c.pool)
    return reason.empty()
               ? messages::finish_status(std::move(c.reply_prefix),
                                         messages::status::error, std::nullopt,
                                         detail)
               : messages::finish_status_with_error(std::move(c.reply_prefix),
                                                    messages::status::error,
                                                    detail, reason);
  // A pool poll: every destination PENDING, none asked.
  std::vector<messages::destination_status> each;
  each.reserve(c.pool->raw.size());
  for (const auto& raw : c.pool->raw)
    each.push_back(
        {raw, "PENDING", std::nullopt, net::to_string(net::detail::pending)});
  auto& prefix = c.reply_prefix;
  if (!reason.empty()) // one key more: "error" (a fixmap: at most 8 keys)
    prefix[0] = static_cast<char>(prefix[0] + 1);
  auto out = messages::finish_pool_status(
      std::move(prefix), messages::status::error, std::nullopt, detail, each);
  if (!reason.empty()) {
    messages::string_stream stream{out};
    messages::packer pk(stream);
    messages::pack_str(pk, "error");
    messages::pack_str(pk, reason);
  }
  return out;
}

void zmq_bridge_loop::start_pool(uint64_t token, messages::cast c,
                                 std::string peer) {
  auto spec = std::move(c.pool);
  const auto n = spec->destinations.size();
  auto [it, added] = pools_.emplace(
      token, pool_poll{peer,
                       std::move(c.reply_prefix),
                       std::move(c.request_id),
                       std::move(spec->raw),
                       pool_tally(n, spec->threshold),
                       std::make_shared<std::atomic<bool>>(false),
                       {},
                       0,
                       false});
  auto& pool = it->second;
  pool.tokens.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    // Each destination is a request of its own, with the cast's budget;
    // its end comes back here (pool_request_ended), not as a reply.
    auto one = c.for_destination(spec->destinations[i]);
    apply_defaults(one);
    auto t = next_token_++;
    pool_of_.emplace(t, std::make_pair(token, i));
    pool.tokens.push_back(t);
    ++pool.running;
    start_now(t, std::move(one), peer, pool.stop);
  }
}

void zmq_bridge_loop::pool_request_ended(uint64_t id, uint32_t index,
                                         const request_end& end,
                                         clock::time_point now) {
  auto it = pools_.find(id);
  if (it == pools_.end())
    return; // cannot happen: a pool poll outlives its requests
  auto& pool = it->second;
  --pool.running;
  // Stopped after the decision: its line says how its last attempt went.
  auto why = end.detail == net::detail::cancelled ? end.last : end.detail;
  if (pool.tally.record(index, end.success, end.serial, why))
    pool.stop->store(true, std::memory_order_release);
  if (pool.tally.decided())
    settle_pool(id, now);
}

void zmq_bridge_loop::settle_pool(uint64_t id, clock::time_point now) {
  auto it = pools_.find(id);
  auto& pool = it->second;
  pool.stop->store(true, std::memory_order_release);
  if (pool.running > 0) {
    // Told once; the lines of those still running wait for their ends
    // (their last serial and detail).
    if (!pool.told) {
      pool.told = true;
      for (auto t : pool.tokens)
        if (auto r = live_.find(t); r != live_.end() && r->second.handle) {
          caf::anon_send(caf::actor_cast<request_actor>(r->second.handle),
                         cancel_atom::value);
          r->second.handle = nullptr;
        }
    }
    return;
  }
  const auto& tally = pool.tally;
  std::vector<messages::destination_status> each;
  each.reserve(pool.raw.size());
  for (size_t i = 0; i < pool.raw.size(); ++i) {
    const auto& e = tally.entries()[i];
    std::string_view st = tally.pending_at_decision(i)         ? "PENDING"
                          : e.st == pool_tally::state::reached ? "SUCCESS"
                                                               : "ERROR";
    each.push_back({pool.raw[i], st, e.serial, net::to_string(e.detail)});
  }
  const bool success = tally.outcome().value_or(false);
  metrics::add(m_.zmq.pool_polls[success ? 0 : 1]);
  spdlog::debug("pool poll: {} ({} of {} reached, {} needed)",
                net::to_string(tally.detail()), tally.reached(),
                pool.raw.size(), tally.needed());
  if (!pool.reply_prefix.empty())
    router_.route(
        pool.peer,
        messages::finish_pool_status(
            std::move(pool.reply_prefix),
            success ? messages::status::success : messages::status::error,
            tally.serial(), net::to_string(tally.detail()), each),
        now);
  pools_.erase(it);
  if (!cancelling_.empty())
    cancel_target_ended(id, now);
}

void zmq_bridge_loop::cancel(std::string peer, messages::cast c,
                             clock::time_point now) {
  metrics::add(m_.zmq.cancels);
  const auto& rid = c.request_id;
  auto id = next_cancel_++;
  pending_cancel pc{peer, rid, 0, 0};
  // Waiting to start: they end here and now.
  pc.count += intake_.take_if(
      peer, [&](const messages::cast& q) { return q.request_id == rid; },
      [&](messages::cast q) {
        if (!q.wants_status)
          return;
        router_.route(
            peer, unstarted_status(q, net::to_string(net::detail::cancelled)),
            now);
      });
  // Running: each ends with its status; the reply waits for them.
  for (auto& [token, req] : live_)
    if (req.handle && req.peer == peer && req.request_id == rid &&
        cancelling_.count(token) == 0) {
      caf::anon_send(caf::actor_cast<request_actor>(req.handle),
                     cancel_atom::value);
      cancelling_.emplace(token, id);
      ++pc.count;
      ++pc.waiting;
    }
  std::vector<uint64_t> pools;
  for (auto& [token, pool] : pools_)
    if (pool.peer == peer && pool.request_id == rid &&
        pool.tally.abandon(net::detail::cancelled)) {
      cancelling_.emplace(token, id);
      ++pc.count;
      ++pc.waiting;
      pools.push_back(token);
    }
  for (auto token : pools)
    settle_pool(token, now);
  metrics::add(m_.zmq.cancelled, pc.count);
  spdlog::info("cancel: {} cast(s) ended", pc.count);
  if (pc.waiting == 0)
    router_.route(std::move(peer), messages::encode_cancelled(rid, pc.count),
                  now);
  else
    cancels_.emplace(id, std::move(pc));
}

void zmq_bridge_loop::cancel_target_ended(uint64_t token,
                                          clock::time_point now) {
  auto c = cancelling_.find(token);
  if (c == cancelling_.end())
    return;
  auto p = cancels_.find(c->second);
  cancelling_.erase(c);
  if (p == cancels_.end() || --p->second.waiting > 0)
    return;
  router_.route(
      std::move(p->second.peer),
      messages::encode_cancelled(p->second.request_id, p->second.count), now);
  cancels_.erase(p);
}

} // namespace minidns
