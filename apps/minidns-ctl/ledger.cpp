#include "apps/minidns-ctl/ledger.hpp"

#include "apps/minidns-ctl/client_codec.hpp"
#include "apps/minidns-ctl/common.hpp"

#include <cstdio>
#include <msgpack.hpp>
#include <string_view>

namespace minidns::ctl {
namespace {

/// Reads back a non-negative msgpack integer (the echoed request_id).
std::optional<uint64_t> read_request_id(std::string_view raw) {
  // An integer takes at most 9 bytes; anything longer is something else.
  if (raw.empty() || raw.size() > 9)
    return std::nullopt;
  try {
    size_t off = 0;
    const auto handle = msgpack::unpack(raw.data(), raw.size(), off);
    const auto& o = handle.get();
    if (off != raw.size() || o.type != msgpack::type::POSITIVE_INTEGER)
      return std::nullopt;
    return o.via.u64;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace

std::string ledger::next_request_id() const {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_uint64(sent_ + 1); // the smallest form
  return std::string(buf.data(), buf.size());
}

void ledger::sent(bool is_poll, clock_type::time_point deadline,
                  double seconds) {
  const uint64_t seq = ++sent_;
  is_poll_.push_back(is_poll);
  notify_failed_.push_back(false);
  if (is_poll) {
    pending_.emplace(seq, pending_poll{deadline, seconds});
    deadlines_.emplace(deadline, seq);
  } else {
    ++notifies_sent_;
  }
}

std::vector<std::string> ledger::expire(clock_type::time_point now) {
  std::vector<std::string> lines;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    uint64_t seq = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = pending_.find(seq);
    if (it == pending_.end())
      continue;
    lines.push_back(
        "{\"method\":\"client_timeout\",\"request_id\":" + std::to_string(seq) +
        ",\"error\":\"no reply from minidns within " +
        format_seconds(it->second.seconds) + " s\"}");
    pending_.erase(it);
    ++timeouts_;
    failure_ = true;
  }
  return lines;
}

void ledger::on_reply(const void* data, size_t size) {
  std::string err;
  auto r = messages::decode_reply(data, size, err);
  if (!r) {
    ++errors_;
    failure_ = true;
    return;
  }
  if (r->method == "cancelled") {
    if (cancels_waiting_ > 0)
      --cancels_waiting_;
    return;
  }
  bool is_status = r->method == "update_status";
  bool success = is_status && r->status == "SUCCESS";
  bool error = r->method == "error" || (is_status && !success);
  if (!success && !error)
    return; // a method this version does not know: printed, no more
  auto seq = read_request_id(r->raw_request_id);
  if (!seq || *seq == 0 || *seq > sent_) {
    if (error) {
      ++errors_;
      failure_ = true;
    }
    return;
  }
  if (error)
    failure_ = true;
  if (auto it = pending_.find(*seq); it != pending_.end()) {
    deadlines_.erase({it->second.deadline, *seq});
    pending_.erase(it);
    if (success)
      ++poll_success_;
    else
      ++errors_;
    return;
  }
  size_t idx = *seq - 1;
  if (!is_poll_[idx] && error && !notify_failed_[idx]) {
    notify_failed_[idx] = true;
    ++notify_errors_;
    ++errors_;
  }
  // Otherwise a late reply to a poll that already ended: printed only.
}

std::optional<ledger::clock_type::time_point> ledger::next_deadline() const {
  if (deadlines_.empty())
    return std::nullopt;
  return deadlines_.begin()->first;
}

void ledger::print_progress(double elapsed_seconds) const {
  uint64_t done = poll_success_ + errors_ + timeouts_;
  std::fprintf(stderr,
               "progress: sent %llu, done %llu (success %llu, error %llu, "
               "timeout %llu), in flight %zu, %.0f/s\n",
               static_cast<unsigned long long>(sent_),
               static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(poll_success_),
               static_cast<unsigned long long>(errors_),
               static_cast<unsigned long long>(timeouts_), pending_.size(),
               elapsed_seconds > 0 ? static_cast<double>(done) / elapsed_seconds
                                   : 0.0);
}

void ledger::print_summary(bool notifies_delivered,
                           double elapsed_seconds) const {
  uint64_t success = poll_success_;
  if (notifies_delivered)
    success += notifies_sent_ - notify_errors_;
  std::fprintf(stderr,
               "sent %llu, success %llu, error %llu, timeout %llu, "
               "elapsed %.3f s\n",
               static_cast<unsigned long long>(sent_),
               static_cast<unsigned long long>(success),
               static_cast<unsigned long long>(errors_),
               static_cast<unsigned long long>(timeouts_), elapsed_seconds);
}

} // namespace minidns::ctl
