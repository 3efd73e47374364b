#pragma once
/// The UDP I/O actor: owns the UDP thread (actors/udp/loop.hpp), the one
/// place that holds DNS sockets, and stops it when the service ends.
/// Requests do not message it: they use its query port, a queue push on
/// the UDP thread (actors/ports.hpp).

#include "actors/interfaces.hpp"
#include "actors/udp/loop.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <memory>

namespace minidns {

/// State of the UDP I/O actor; stops the UDP thread when the actor ends.
struct udp_io_state {
  std::shared_ptr<udp_io_loop> loop;
  ~udp_io_state();
  static inline const char* name = "udp_io";
};

/// Holds `loop` until told to stop.
udp_io_actor::behavior_type
udp_io(udp_io_actor::stateful_pointer<udp_io_state> self,
       std::shared_ptr<udp_io_loop> loop);

} // namespace minidns
