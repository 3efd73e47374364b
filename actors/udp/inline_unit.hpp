#pragma once
/// Lets the UDP thread run the request actors that its own messages wake
/// (answers, timeouts, retries, failed sends), right after the batch that
/// woke them, instead of handing each to CAF's scheduler: no scheduler
/// lock, no worker to wake, and one thread less between a reply and its
/// status. CAF's I/O multiplexer runs brokers the same way. Request
/// handlers are short and never block; messages from anywhere else
/// (shutdown) still reach the actors through CAF's scheduler, and CAF's
/// mailbox protocol makes sure only one thread runs an actor at a time.

#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <vector>

namespace minidns {

/// A CAF execution unit driven by the UDP thread.
class inline_unit : public caf::execution_unit {
public:
  explicit inline_unit(caf::actor_system* sys) : caf::execution_unit(sys) {}

  /// An actor woke up from a message enqueued with this unit (CAF took a
  /// reference for us).
  void exec_later(caf::resumable* job) override { jobs_.push_back(job); }

  /// Runs every woken actor until none has messages left.
  void run_all() {
    while (!jobs_.empty()) {
      running_.swap(jobs_);
      for (auto* job : running_) {
        switch (job->resume(this, max_throughput)) {
        case caf::resumable::resume_later:
          jobs_.push_back(job); // keeps its reference
          break;
        default: // awaiting_message, done
          caf::intrusive_ptr_release(job);
        }
      }
      running_.clear();
    }
  }

private:
  /// Messages an actor handles before the next one gets its turn.
  static constexpr size_t max_throughput = 64;
  std::vector<caf::resumable*> jobs_;
  std::vector<caf::resumable*> running_;
};

} // namespace minidns
