#pragma once
/// NOTIFY coalescing (the idea of BIND's notify.c): NOTIFYs for the same
/// zone, destination, TSIG key and transport are one stream. While one
/// runs, the first identical cast waits to follow it, and every further one
/// is merged into that waiting follow-up: however many arrive, exactly one
/// more NOTIFY goes out after the running one ends, and it tells the
/// secondary everything the merged casts would have. Pure: tokens in,
/// decisions out; the ZeroMQ thread keeps the casts themselves.

#include "net/query_key.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace minidns {

/// What makes two NOTIFYs the same (zone, destination, key, transport).
using notify_key = net::query_key;

class notify_coalescer {
public:
  /// What to do with a notify cast that arrives.
  enum class action : uint8_t {
    start,  ///< nothing identical runs: start it now
    follow, ///< an identical NOTIFY runs: wait, start when it ends
    merge,  ///< an identical one already waits: ride with it (`into`)
  };

  /// Notify cast `token` arrives for `key`. With merge, `into` is set to the
  /// waiting follow-up's token.
  action arrive(const notify_key& key, uint64_t token, uint64_t& into);

  /// Request `token` ended (any request; others than running NOTIFYs are
  /// ignored). Returns the waiting follow-up to start now, if any.
  std::optional<uint64_t> ended(uint64_t token);

  /// Forgets every waiting follow-up (the drain timeout ends them before
  /// they start) and returns their tokens.
  std::vector<uint64_t> drop_waiting();

  size_t running() const { return key_of_.size(); }
  size_t waiting() const { return waiting_; }

private:
  struct slot {
    uint64_t running = 0;
    std::optional<uint64_t> follow_up;
  };
  std::unordered_map<notify_key, slot, net::query_key_hash> slots_;
  std::unordered_map<uint64_t, notify_key> key_of_; ///< running token -> key
  size_t waiting_ = 0;
};

} // namespace minidns
