#include "actors/udp/loop_impl.hpp"

#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace minidns {

void udp_io_loop::run() {
  epoll_event events[64];
  std::vector<command> work;
  thread_id_ = std::this_thread::get_id();
  bool more = false; // commands came in while actors ran
  while (!stopping_.load(std::memory_order_acquire)) {
    if (!more)
      asleep_since_ns_.store(steady::now().time_since_epoch().count(),
                             std::memory_order_relaxed);
    int n = wait(events, 64, more);
    asleep_since_ns_.store(0, std::memory_order_relaxed);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      spdlog::critical("epoll_wait: {}", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i)
      handle_event(events[i].data.u32, events[i].events);
    tcp_->close_idle(steady::now());
    inbox_.take(work);
    for (auto& cmd : work)
      take(cmd);
    work.clear();
    launch_ready();
    flush_all();
    fire_timers();
    launch_ready(); // slots freed by timeouts
    flush_all();
    tcp_->flush();
    publish();
    run_actors();
    more = !inbox_.empty() || flow_.has_ready();
  }
  // Messages already delivered are handled before the thread ends.
  run_actors();
  // Drop the references to request actors before the thread ends.
  timers_.clear();
  attempts_.clear();
  macs_.clear();
  tcp_.reset();
}

void udp_io_loop::handle_event(uint32_t tag, uint32_t ev) {
  if (tag == wake_tag) {
    inbox_.clear();
    return;
  }
  if (tcp_->owns(tag)) {
    tcp_->handle(tag, ev, steady::now());
    return;
  }
  if (ev & EPOLLERR)
    read_errors(tag);
  if (ev & EPOLLIN)
    receive(tag);
  if ((ev & EPOLLOUT) && sockets_[tag].waiting) {
    wait_for_room(tag, false);
    flush(tag);
  }
}

int udp_io_loop::wait(epoll_event* events, int max, bool now) {
  auto next = timers_.next_due();
  if (auto f = flow_.next_due(); f && (!next || *f < *next))
    next = f;
  if (auto t = tcp_->next_due(); t && (!next || *t < *next))
    next = t;
  int64_t left = -1; // ns; -1: for ever
  if (now)
    left = 0;
  else if (next)
    left = std::clamp<int64_t>((*next - steady::now()).count(), 0,
                               int64_t{60} * 1'000'000'000);
  return wait_events(epoll_, events, max, left);
}

void udp_io_loop::publish() {
  m_.udp.waiting.store(flow_.waiting_count(), std::memory_order_relaxed);
  m_.udp.outstanding.store(flow_.outstanding_count(),
                           std::memory_order_relaxed);
  m_.udp.tcp_connections.store(tcp_->connections(), std::memory_order_relaxed);
}

void udp_io_loop::fire_timers() {
  timers_.fire_due(steady::now(), [this](const request_timer& t,
                                         std::chrono::nanoseconds late) {
    auto* req = attempts_.find_request(t.token);
    if (req == nullptr)
      return false;
    if (t.kind == timer_kind::retry_pause) {
      tell(req->owner, retry_atom::value, t.attempt);
      return true;
    }
    settle(*req, t.attempt);
    if (req->kind == net::query_kind::soa) // riders keep their own timers
      sharing_.closed(t.token, t.attempt);
    if (tcp_->waiting() != 0)
      tcp_->cancel(t.token, t.attempt, true, steady::now());
    m_.timer_lateness[static_cast<size_t>(t.query)].observe(
        std::chrono::duration<double>(late).count());
    tell(req->owner, timeout_atom::value, t.attempt);
    return true;
  });
  lag_ns_.store(timers_.lag_ns(), std::memory_order_relaxed);
}

void udp_io_loop::submit(command cmd) {
  // The UDP thread itself (an actor it runs) needs no wake-up: it looks
  // again before it sleeps.
  if (inbox_.push(std::move(cmd)) && std::this_thread::get_id() != thread_id_)
    inbox_.wake();
}

void udp_io_loop::take(command& cmd) {
  auto& q = cmd.query;
  switch (cmd.op) {
  case command::what::query: {
    auto& req = attempts_.open(q.token, std::move(cmd.owner), q.kind,
                               std::move(q.qname_wire), q.destination,
                               q.transport, std::move(q.soa_hint), q.tsig);
    // An identical SOA query in flight: ride on it, with a timer of its own.
    if (q.kind == net::query_kind::soa && share_ &&
        sharing_.join(
            net::make_query_key(req.qname, req.peer, req.tsig, req.transport),
            q.token, q.attempt)) {
      metrics::add(m_.udp.shared_attempts);
      start_timeout(req, q.token, q.attempt, q.timeout_ns, steady::now());
      break;
    }
    if (flow_.admit(q.destination, q.kind, {q.token, q.attempt, q.timeout_ns},
                    steady::now()))
      launch(req, q.token, q.attempt, q.timeout_ns);
    else
      metrics::add(m_.udp.queued);
    break;
  }
  case command::what::pause:
    attempts_.open(q.token, std::move(cmd.owner), q.kind, {}, {});
    timers_.schedule({steady::now() + std::chrono::nanoseconds(q.timeout_ns),
                      q.token, q.attempt, timer_kind::retry_pause, q.kind});
    break;
  case command::what::release:
    if (auto* req = attempts_.find_request(q.token))
      settle(*req, req->outstanding);
    if (tcp_->waiting() != 0)
      tcp_->cancel(q.token, 0, false, steady::now());
    if (!macs_.empty())
      macs_.erase(q.token);
    sharing_.forget(q.token);
    attempts_.forget(q.token); // its timers are cancelled with it
    break;
  }
}

std::shared_ptr<udp_io_loop> start_udp_io_loop(const udp_io_options& opts) {
  return std::make_shared<udp_io_loop>(opts);
}

void stop(udp_io_loop& loop) {
  loop.stop();
}

std::shared_ptr<query_port> as_query_port(std::shared_ptr<udp_io_loop> loop) {
  return loop;
}

} // namespace minidns
