#pragma once
/// The arithmetic of a poll across a pool's servers (`destinations` and
/// `threshold_percentage`, docs/protocol.md): which destinations reached
/// the goal, whether the outcome is decided, and the consensus serial. Pure:
/// the ZeroMQ thread records each destination's end and asks.

#include "net/detail.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace minidns {

class pool_tally {
public:
  /// Where one destination stands.
  enum class state : uint8_t { pending, reached, failed };

  /// One destination's line.
  struct entry {
    state st = state::pending;
    std::optional<uint32_t> serial; ///< the last serial it answered with
    net::detail detail = net::detail::pending;
  };

  /// `n` destinations (1 or more), of which ceil(threshold * n / 100) must
  /// reach the goal; threshold in 1..100.
  pool_tally(size_t n, unsigned threshold);

  /// Destination `i` ended: reached the goal or not, with the last serial it
  /// answered with and why. Returns true when this decides the outcome.
  /// After the decision, only updates the line (of a destination that
  /// was still pending, ended to stop it).
  bool record(size_t i, bool reached, std::optional<uint32_t> serial,
              net::detail detail);

  /// Decides the outcome now as ERROR with `why` (a cancel, or the
  /// drain). False when it was decided already.
  bool abandon(net::detail why);

  /// Whether the outcome is decided.
  bool decided() const { return outcome_.has_value(); }

  /// SUCCESS (true) or ERROR (false), once decided.
  std::optional<bool> outcome() const { return outcome_; }

  /// The top-level detail, once decided: threshold met, threshold missed,
  /// or what abandon() said.
  net::detail detail() const { return why_; }

  /// The lowest serial (RFC 1982) among the destinations that reached the
  /// goal on SUCCESS, among all destinations on ERROR; nullopt when none.
  std::optional<uint32_t> serial() const;

  /// How many must reach the goal.
  size_t needed() const { return needed_; }

  /// How many reached it.
  size_t reached() const { return reached_; }

  /// The lines, one per destination, in the cast's order.
  const std::vector<entry>& entries() const { return entries_; }

  /// Whether destination `i` was still pending when the outcome was
  /// decided (its status is then "PENDING", whatever it ended with).
  bool pending_at_decision(size_t i) const { return pending_at_[i]; }

private:
  void decide(bool success, net::detail why);

  std::vector<entry> entries_;
  std::vector<bool> pending_at_;
  size_t needed_;
  size_t reached_ = 0;
  size_t failed_ = 0;
  std::optional<bool> outcome_;
  net::detail why_ = net::detail::pending;
};

} // namespace minidns
