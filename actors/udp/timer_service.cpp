#include "actors/udp/timer_service.hpp"

namespace minidns {

void timer_service::schedule(const request_timer& t) {
  heap_.push(t);
  ++pending_[t.token];
  ++live_;
}

void timer_service::cancel(uint64_t token) {
  auto i = pending_.find(token);
  if (i == pending_.end())
    return;
  live_ -= i->second;
  pending_.erase(i);
}

std::optional<timer_service::time_point> timer_service::next_due() const {
  if (heap_.empty())
    return std::nullopt;
  return heap_.top().due;
}

bool timer_service::take(const request_timer& t) {
  auto i = pending_.find(t.token);
  if (i == pending_.end())
    return false; // its request was cancelled
  if (--i->second == 0)
    pending_.erase(i);
  --live_;
  return true;
}

void timer_service::clear() {
  heap_ = {};
  pending_.clear();
  live_ = 0;
  lag_ns_ = 0;
}

} // namespace minidns
