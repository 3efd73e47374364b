#include "actors/light_actor.hpp"

#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/system_messages.hpp>
#include <spdlog/spdlog.h>

namespace minidns {

light_actor::light_actor(caf::actor_config& cfg) : caf::monitorable_actor(cfg) {
  // Idle until the first message: its enqueue schedules the actor.
  inbox_.try_block();
}

light_actor::~light_actor() {
  drop_taken();
}

void light_actor::launch() {
  register_at_system();
}

void light_actor::quit(caf::error reason) {
  cleanup(std::move(reason), nullptr);
}

bool light_actor::cleanup(caf::error&& reason, caf::execution_unit* host) {
  if (!caf::monitorable_actor::cleanup(std::move(reason), host))
    return false;
  unregister_from_system();
  // resume() drops what it took; later messages bounce off a closed inbox.
  if (!inbox_.closed())
    inbox_.close();
  return true;
}

void light_actor::on_destroy() {
  // The last reference went without quit() (no message ever came).
  if (!getf(is_cleaned_up_flag))
    cleanup(caf::make_error(caf::exit_reason::unreachable), nullptr);
}

void light_actor::enqueue(caf::mailbox_element_ptr what,
                          caf::execution_unit* eu) {
  switch (inbox_.push_front(what.release())) {
  case caf::intrusive::inbox_result::unblocked_reader:
    // Idle until now: schedule it, holding a reference until it ran (the
    // scheduler or the unit releases it after resume()).
    intrusive_ptr_add_ref(ctrl());
    if (eu != nullptr)
      eu->exec_later(this);
    else
      home_system().scheduler().enqueue(this);
    break;
  case caf::intrusive::inbox_result::queue_closed:
    // Ended: the message is dropped (a request has nothing to answer).
    break;
  case caf::intrusive::inbox_result::success:
    break; // scheduled already
  }
}

caf::mailbox_element_ptr light_actor::next_message() {
  if (taken_ == nullptr) {
    // The inbox is a stack, newest first: reverse what it holds.
    auto* head = inbox_.take_head();
    while (head != nullptr) {
      auto* next = static_cast<caf::mailbox_element*>(head->next);
      head->next = taken_;
      taken_ = head;
      head = next;
    }
    if (taken_ == nullptr)
      return nullptr;
  }
  caf::mailbox_element_ptr first{taken_};
  taken_ = static_cast<caf::mailbox_element*>(taken_->next);
  first->next = nullptr;
  return first;
}

void light_actor::drop_taken() {
  while (taken_ != nullptr) {
    caf::mailbox_element_ptr first{taken_};
    taken_ = static_cast<caf::mailbox_element*>(taken_->next);
  }
}

caf::resumable::resume_result light_actor::resume(caf::execution_unit*,
                                                  size_t max_throughput) {
  for (size_t handled = 0; handled < max_throughput;) {
    if (terminated()) {
      drop_taken();
      return done;
    }
    auto msg = next_message();
    if (!msg) {
      if (inbox_.try_block())
        return awaiting_message;
      continue; // one came in meanwhile
    }
    ++handled;
    auto& content = msg->content();
    if (content.match_elements<caf::exit_msg>()) {
      auto& exit = content.get_mutable_as<caf::exit_msg>(0);
      if (exit.reason)
        quit(std::move(exit.reason));
      continue;
    }
    try {
      handle(content);
    } catch (const std::exception& e) {
      // What scheduled_actor does by default: the actor ends.
      spdlog::error("{} {}: a handler threw ({}); it ends", name(), id(),
                    e.what());
      quit(caf::make_error(caf::exit_reason::unhandled_exception));
    } catch (...) {
      spdlog::error("{} {}: a handler threw; it ends", name(), id());
      quit(caf::make_error(caf::exit_reason::unhandled_exception));
    }
  }
  if (terminated()) {
    drop_taken();
    return done;
  }
  if (taken_ == nullptr && inbox_.try_block())
    return awaiting_message;
  return resume_later; // more to do: after the others had a turn
}

void light_actor::intrusive_ptr_add_ref_impl() {
  intrusive_ptr_add_ref(ctrl());
}

void light_actor::intrusive_ptr_release_impl() {
  intrusive_ptr_release(ctrl());
}

} // namespace minidns
