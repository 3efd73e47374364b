#include "actors/zmq/pool_tally.hpp"

#include "net/serial.hpp"

namespace minidns {

pool_tally::pool_tally(size_t n, unsigned threshold)
    : entries_(n), pending_at_(n, false),
      needed_((static_cast<size_t>(threshold) * n + 99) / 100) {
  if (needed_ == 0)
    needed_ = 1;
}

bool pool_tally::record(size_t i, bool reached, std::optional<uint32_t> serial,
                        net::detail detail) {
  auto& e = entries_[i];
  if (e.st != state::pending)
    return false; // every destination ends once
  e.st = reached ? state::reached : state::failed;
  if (serial)
    e.serial = serial;
  e.detail = detail;
  if (decided())
    return false;
  ++(reached ? reached_ : failed_);
  if (reached_ >= needed_) {
    decide(true, net::detail::threshold_met);
    return true;
  }
  if (entries_.size() - failed_ < needed_) {
    decide(false, net::detail::threshold_missed);
    return true;
  }
  return false;
}

bool pool_tally::abandon(net::detail why) {
  if (decided())
    return false;
  decide(false, why);
  return true;
}

void pool_tally::decide(bool success, net::detail why) {
  outcome_ = success;
  why_ = why;
  for (size_t i = 0; i < entries_.size(); ++i)
    pending_at_[i] = entries_[i].st == state::pending;
}

std::optional<uint32_t> pool_tally::serial() const {
  if (!outcome_)
    return std::nullopt;
  std::optional<uint32_t> low;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (!e.serial)
      continue;
    // On SUCCESS the consensus is among those that reached the goal when
    // it was decided; on ERROR any serial seen counts.
    if (*outcome_ && (e.st != state::reached || pending_at_[i]))
      continue;
    if (!low)
      low = e.serial;
    else if (auto o = net::compare_serial(*e.serial, *low);
             o == net::serial_order::less ||
             (o == net::serial_order::undefined && *e.serial < *low))
      low = e.serial;
  }
  return low;
}

} // namespace minidns
