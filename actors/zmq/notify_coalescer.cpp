#include "actors/zmq/notify_coalescer.hpp"

namespace minidns {

notify_coalescer::action notify_coalescer::arrive(const notify_key& key,
                                                  uint64_t token,
                                                  uint64_t& into) {
  auto [i, added] = slots_.try_emplace(key);
  auto& s = i->second;
  if (added) {
    s.running = token;
    key_of_.emplace(token, key);
    return action::start;
  }
  if (s.follow_up) {
    into = *s.follow_up;
    return action::merge;
  }
  s.follow_up = token;
  ++waiting_;
  return action::follow;
}

std::optional<uint64_t> notify_coalescer::ended(uint64_t token) {
  if (key_of_.empty())
    return std::nullopt;
  auto k = key_of_.find(token);
  if (k == key_of_.end())
    return std::nullopt;
  auto key = std::move(k->second);
  key_of_.erase(k);
  auto s = slots_.find(key);
  if (s == slots_.end() || !s->second.follow_up) {
    if (s != slots_.end())
      slots_.erase(s);
    return std::nullopt;
  }
  auto next = *s->second.follow_up;
  s->second.follow_up.reset();
  --waiting_;
  s->second.running = next;
  key_of_.emplace(next, std::move(key));
  return next;
}

std::vector<uint64_t> notify_coalescer::drop_waiting() {
  std::vector<uint64_t> out;
  for (auto& [key, s] : slots_)
    if (s.follow_up) {
      out.push_back(*s.follow_up);
      s.follow_up.reset();
    }
  waiting_ = 0;
  return out;
}

} // namespace minidns
