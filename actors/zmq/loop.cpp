/// The ZeroMQ thread's loop and its drain: see loop_impl.hpp.

#include "actors/zmq/loop_impl.hpp"
#include "metrics/prometheus.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace minidns {

void zmq_bridge_loop::run() {
  while (!abort_.load()) {
    // Read before the outbox is taken: every request that ended before
    // the drain began is out of live_ by the end of this turn.
    // The turn that starts the drain must not sleep: nothing else may
    // come to end it (an idle minidns would wait out the drain timeout).
    const bool drain_began = draining_.load() && drain_.begin();
    if (drain_began)
      refuse_queued(clock::now());
    bool timers_late = !drain_.refusing() && intake_paused();
    bool can_read =
        drain_.refusing() || (intake_.size() < read_ahead() && !timers_late);
    auto* zap = watch_->zap();
    zmq::pollitem_t items[] = {
        {sock_.handle(), 0, static_cast<short>(can_read ? ZMQ_POLLIN : 0), 0},
        {nullptr, outbox_.fd(), ZMQ_POLLIN, 0},
        {watch_->monitor().handle(), 0, ZMQ_POLLIN, 0},
        {zap ? zap->handle() : nullptr, 0,
         static_cast<short>(zap ? ZMQ_POLLIN : 0), 0},
    };
    int events = 0;
    try {
      events = zmq::poll(items, zap ? 4 : 3,
                         drain_began ? std::chrono::milliseconds(0)
                                     : poll_timeout(timers_late));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR)
        continue;
      spdlog::critical("zmq_poll: {}", e.what());
      break;
    }
    auto now = clock::now();
    if (items[1].revents & ZMQ_POLLIN)
      outbox_.clear();
    if (zap && (items[3].revents & ZMQ_POLLIN))
      watch_->serve_zap();
    if ((items[2].revents & ZMQ_POLLIN) && watch_->read_monitor())
      router_.peer_seen(now); // perhaps back for its held replies
    send_replies(now);
    if (forcing_.load() && drain_.force())
      end_requests();
    router_.retry_backlogs(now);
    router_.tick(now);
    read_casts(now);
    start_ready();
    publish();
    if (events > 0)
      trim_.worked(now, requests_held());
    if (trim_.due(now))
      look_at_heap(now);
    if (drain_.refusing() && !drain_logged_) {
      drain_logged_ = true;
      spdlog::info("draining: {} request(s) in flight", live_.size());
    }
    auto step = drain_.after_turn(now, requests_held(), router_.queued(),
                                  router_.held());
    if (step == drain_action::drop_and_stop)
      drop_leftovers();
    if (step != drain_action::go_on)
      break;
  }
  sock_.close(); // linger applies: queued replies still go out
  if (!abort_.load() && bridge_)
    caf::anon_send(bridge_, stopped_atom::value);
}

void zmq_bridge_loop::look_at_heap(clock::time_point now) {
#if defined(__GLIBC__)
  // mallinfo2 and malloc_trim walk glibc's arenas; under a sanitizer or
  // another allocator they see (and trim) nothing.
  auto t0 = clock::now();
  auto figures = [] {
    struct mallinfo2 mi = mallinfo2();
    return heap_figures{mi.uordblks + mi.hblkhd, metrics::resident_bytes()};
  };
  auto before = figures();
  if (trim_.look(now, before, requests_held())) {
    malloc_trim(0);
    auto after = figures();
    trim_.trimmed(after);
    metrics::add(m_.zmq.memory_trims);
    spdlog::debug("returned memory to the system: resident {} -> {} MiB, "
                  "{} MiB in use",
                  before.resident >> 20, after.resident >> 20,
                  before.in_use >> 20);
  }
  m_.zmq.memory_look_ns.fetch_add(
      static_cast<uint64_t>(
          std::chrono::nanoseconds(clock::now() - t0).count()),
      std::memory_order_relaxed);
#else
  trim_.look(now, {});
#endif
}

std::shared_ptr<zmq_bridge_loop>
bind_zmq_bridge_loop(const zmq_bridge_options& opts) {
  return std::make_shared<zmq_bridge_loop>(opts);
}

void start(zmq_bridge_loop& loop, caf::actor_system& sys,
           zmq_bridge_actor bridge, std::shared_ptr<query_port> udp) {
  loop.start(sys, std::move(bridge), std::move(udp));
}

void drain(zmq_bridge_loop& loop) {
  loop.start_draining();
}

void force(zmq_bridge_loop& loop) {
  loop.force();
}

void stop(zmq_bridge_loop& loop) {
  loop.stop_now();
}

std::string bound_endpoint(const zmq_bridge_loop& loop) {
  return loop.endpoint();
}

} // namespace minidns
