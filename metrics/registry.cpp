#include "metrics/registry.hpp"

#include <algorithm>
#include <cmath>

namespace minidns::metrics {

void histogram::observe(double seconds) noexcept {
  if (!(seconds >= 0)) // negative or NaN: a clock glitch, count as 0
    seconds = 0;
  auto i = std::lower_bound(bounds.begin(), bounds.end(), seconds);
  buckets_[static_cast<size_t>(i - bounds.begin())].fetch_add(
      1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e9)),
                    std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const noexcept {
  snapshot s;
  for (size_t i = 0; i < buckets_.size(); ++i)
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  s.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

void registry::request_ended(method_label m, bool success,
                             net::detail detail) noexcept {
  add(ended[static_cast<size_t>(m)][success ? 0 : 1]
           [static_cast<size_t>(detail)]);
}

void registry::cast_refused(messages::invalid_field f) noexcept {
  add(invalid[static_cast<size_t>(f)]);
}

namespace {

template <size_t N>
uint64_t sum(const std::array<std::atomic<uint64_t>, N>& xs) noexcept {
  uint64_t n = 0;
  for (auto& x : xs)
    n += x.load(std::memory_order_relaxed);
  return n;
}

} // namespace

uint64_t registry::casts_total() const noexcept {
  return sum(casts);
}

uint64_t registry::invalid_total() const noexcept {
  return sum(invalid) + zmq.drain_refused.load(std::memory_order_relaxed);
}

uint64_t registry::queries_total() const noexcept {
  return sum(queries);
}

uint64_t registry::accepted_total() const noexcept {
  return sum(rcodes);
}

registry& global() noexcept {
  static registry r;
  return r;
}

} // namespace minidns::metrics
