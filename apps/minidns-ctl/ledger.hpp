#pragma once
/// minidns-ctl's account of the casts it sent: request_id n is the n-th cast
/// sent; polls wait for their reply until a client-side deadline; replies
/// and timeouts are counted for the exit status, the progress lines and the
/// batch summary.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace minidns::ctl {

/// What was sent and what came back.
class ledger {
public:
  /// The clock of deadlines.
  using clock_type = std::chrono::steady_clock;

  /// The msgpack bytes of the next cast's request_id.
  std::string next_request_id() const;

  /// Records that the next cast left. A poll waits for its reply until
  /// `deadline`, which is `seconds` after now (for the timeout message).
  void sent(bool is_poll, clock_type::time_point deadline, double seconds);

  /// Ends the polls whose deadline has passed, each with one
  /// client_timeout line to print (JSON).
  std::vector<std::string> expire(clock_type::time_point now);

  /// Records that a cancel left: its reply ("cancelled") comes after the
  /// statuses of the casts it ends.
  void cancel_sent() { ++cancels_waiting_; }

  /// Counts one reply frame from minidns (printed already).
  void on_reply(const void* data, size_t size);

  /// Casts sent so far; also the last request_id.
  uint64_t sent_count() const { return sent_; }
  /// Notifies sent so far (they get a reply only when they fail).
  uint64_t notifies_sent() const { return notifies_sent_; }
  /// Polls awaiting their reply.
  size_t polls_waiting() const { return pending_.size(); }
  /// Cancels awaiting their reply.
  uint64_t cancels_waiting() const { return cancels_waiting_; }
  /// The earliest deadline of a poll awaiting its reply.
  std::optional<clock_type::time_point> next_deadline() const;
  /// An ERROR, an error reply, an unreadable reply or a client-side
  /// timeout was seen.
  bool failure() const { return failure_; }

  /// Prints the progress line of a batch on stderr.
  void print_progress(double elapsed_seconds) const;
  /// Prints the summary line of a batch on stderr. Notifies without an
  /// error reply count as successes when `notifies_delivered`.
  void print_summary(bool notifies_delivered, double elapsed_seconds) const;

private:
  /// A poll awaiting its reply.
  struct pending_poll {
    clock_type::time_point deadline;
    double seconds; ///< the deadline, relative, for the timeout message
  };

  uint64_t sent_ = 0;               ///< casts sent; also the last request_id
  std::vector<bool> is_poll_;       ///< by request_id - 1
  std::vector<bool> notify_failed_; ///< by request_id - 1
  std::unordered_map<uint64_t, pending_poll> pending_; ///< by request_id
  std::set<std::pair<clock_type::time_point, uint64_t>> deadlines_;

  uint64_t notifies_sent_ = 0, notify_errors_ = 0;
  uint64_t cancels_waiting_ = 0;
  uint64_t poll_success_ = 0, errors_ = 0, timeouts_ = 0;
  bool failure_ = false;
};

} // namespace minidns::ctl
