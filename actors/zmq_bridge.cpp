#include "actors/zmq_bridge.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace minidns {

zmq_bridge_state::~zmq_bridge_state() {
  if (loop)
    stop(*loop);
}

zmq_bridge_actor::behavior_type
zmq_bridge(zmq_bridge_actor::stateful_pointer<zmq_bridge_state> self,
           std::shared_ptr<zmq_bridge_loop> loop,
           std::shared_ptr<query_port> udp, caf::timespan drain_timeout,
           std::function<void()> on_stopped) {
  auto& st = self->state;
  st.loop = std::move(loop);
  st.drain_timeout = drain_timeout;
  st.on_stopped = std::move(on_stopped);
  start(*st.loop, self->system(), caf::actor_cast<zmq_bridge_actor>(self),
        std::move(udp));
  return {
      [=](drain_atom) {
        auto& s = self->state;
        if (s.draining) {
          // A second signal: do not wait for the drain timeout.
          self->send(self, force_atom::value);
          return;
        }
        s.draining = true;
        spdlog::info("draining: up to {} ms for the requests in flight",
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         s.drain_timeout)
                         .count());
        drain(*s.loop);
        self->delayed_send(self, s.drain_timeout, force_atom::value);
      },
      [=](force_atom) { force(*self->state.loop); },
      [=](stopped_atom) {
        auto& s = self->state;
        spdlog::info("all replies flushed; ZeroMQ socket closed");
        if (s.on_stopped)
          s.on_stopped();
        self->quit();
      },
  };
}

} // namespace minidns
