#include "actors/udp/shared_queries.hpp"

namespace minidns {

std::optional<shared_queries::attempt_ref>
shared_queries::join(const share_key& key, uint64_t token, uint32_t attempt) {
  auto [i, added] = by_key_.try_emplace(key);
  auto& e = i->second;
  if (!added && e.leader != token) {
    e.riders.push_back({token, attempt});
    return attempt_ref{e.leader, e.attempt};
  }
  if (!added) {
    // The leader asks again (its earlier query was not closed: cannot
    // happen, as each attempt ends before the next): it leads anew.
    e.attempt = attempt;
    return std::nullopt;
  }
  e.leader = token;
  e.attempt = attempt;
  by_leader_[token] = &i->first;
  return std::nullopt;
}

std::vector<shared_queries::attempt_ref>
shared_queries::answered(uint64_t token, uint32_t attempt) {
  auto l = by_leader_.find(token);
  if (l == by_leader_.end())
    return {};
  auto e = by_key_.find(*l->second);
  if (e == by_key_.end() || e->second.attempt != attempt)
    return {}; // a late answer to an earlier attempt
  auto riders = std::move(e->second.riders);
  by_leader_.erase(l);
  by_key_.erase(e);
  return riders;
}

void shared_queries::forget(uint64_t token) {
  auto l = by_leader_.find(token);
  if (l == by_leader_.end())
    return;
  // By iterator: the key would be a reference into the erased node.
  if (auto e = by_key_.find(*l->second); e != by_key_.end())
    by_key_.erase(e);
  by_leader_.erase(l);
}

} // namespace minidns
