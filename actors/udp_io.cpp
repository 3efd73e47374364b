#include "actors/udp_io.hpp"

#include <caf/all.hpp>

namespace minidns {

udp_io_state::~udp_io_state() {
  if (loop)
    stop(*loop);
}

udp_io_actor::behavior_type
udp_io(udp_io_actor::stateful_pointer<udp_io_state> self,
       std::shared_ptr<udp_io_loop> loop) {
  self->state.loop = std::move(loop);
  return {
      [=](stop_atom) {
        stop(*self->state.loop);
        self->quit();
      },
  };
}

} // namespace minidns
