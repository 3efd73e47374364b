#pragma once
/// A CAF actor cut down to what a request needs: an actor address and
/// typed handle, messages through enqueue(), one thread at a time through
/// CAF's scheduler or an execution unit (the UDP thread's inline_unit), and
/// the actor system's count of running actors. What it leaves out of
/// caf::scheduled_actor is what requests never use: behaviours,
/// request/response bookkeeping, streams, default handlers and the
/// four-queue mailbox. Its mailbox is CAF's lock-free LIFO inbox (one
/// pointer) read in FIFO order.
///
/// Why: a million requests may wait at once. A scheduled_actor's storage is
/// 1,336 bytes with a request's state, plus its behaviour; this one is
/// about 500. A waiting request cost 2,170 bytes in all before and about
/// 1,380 after (bench/RESULTS.md, stop 21).

#include <caf/abstract_actor.hpp>
#include <caf/intrusive/lifo_inbox.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/resumable.hpp>

namespace minidns {

/// Base of a light actor: derive, implement handle(), create it with
/// caf::make_actor (see start_request) and call launch(). The actor system
/// must wait for its actors before it shuts down (CAF's default, which
/// minidns keeps): CAF's scheduler cleans up only its own actor types when
/// it stops with jobs queued.
class light_actor : public caf::monitorable_actor, public caf::resumable {
public:
  explicit light_actor(caf::actor_config& cfg);
  ~light_actor() override;

  /// Counts the actor as running in its actor system (as a spawn does)
  /// and leaves it idle until its first message.
  void launch();

  /// Ends the actor: monitors and links learn `reason`, queued messages
  /// are dropped, later ones are refused. Call from a handler.
  void quit(caf::error reason);

  /// True once quit() ran.
  bool terminated() const { return getf(is_terminated_flag); }

  // -- caf::abstract_actor ---------------------------------------------------

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* eu) override;
  void on_destroy() override;
  bool cleanup(caf::error&& reason, caf::execution_unit* host) override;

  // -- caf::resumable --------------------------------------------------------

  resume_result resume(caf::execution_unit* eu, size_t max_throughput) override;
  void intrusive_ptr_add_ref_impl() override;
  void intrusive_ptr_release_impl() override;

protected:
  /// Handles one message. An exit_msg never reaches it: one with an error
  /// ends the actor (as CAF's default exit handler does), one without is
  /// dropped.
  virtual void handle(caf::type_erased_tuple& msg) = 0;

private:
  struct inbox_policy {
    using mapped_type = caf::mailbox_element;
    using unique_pointer = caf::mailbox_element_ptr;
  };

  /// The oldest message not yet handled, from the inbox in FIFO order.
  caf::mailbox_element_ptr next_message();
  /// Drops every message taken from the inbox and not handled.
  void drop_taken();

  caf::intrusive::lifo_inbox<inbox_policy> inbox_;
  caf::mailbox_element* taken_ = nullptr; ///< taken from inbox_, oldest first
};

} // namespace minidns
