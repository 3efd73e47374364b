#include "actors/udp/loop.hpp"

#include "actors/handoff.hpp"
#include "actors/interfaces.hpp"
#include "actors/udp/attempt_table.hpp"
#include "actors/udp/flow_control.hpp"
#include "actors/udp/inline_unit.hpp"
#include "actors/udp/random_pool.hpp"
#include "actors/udp/sockets.hpp"
#include "actors/udp/timer_service.hpp"
#include "metrics/registry.hpp"
#include "net/dns_message.hpp"

#include <algorithm>
#include <atomic>
#include <caf/all.hpp>
#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace minidns {

namespace {

/// Datagrams per sendmmsg call.
constexpr size_t batch = 64;
/// recvmmsg calls per socket and wake-up (up to 1,024 datagrams).
constexpr int max_read_rounds = 16;
/// epoll tag of the wake-up eventfd (sockets are tagged by index).
constexpr uint32_t wake_tag = UINT32_MAX;

using steady = std::chrono::steady_clock;
using table = attempt_table<caf::strong_actor_ptr>;
// The lag and asleep_since_ns_ keep steady_clock ticks as nanoseconds.
static_assert(std::is_same_v<steady::duration, std::chrono::nanoseconds>);

/// What a request asked of the UDP thread.
struct command {
  enum class what : uint8_t { query, pause, release } op = what::query;
  caf::strong_actor_ptr owner;
  dns_query query; ///< pause: token, attempt, timeout_ns as the delay;
                   ///< release: token only
};

/// One datagram waiting in a send batch.
struct outgoing {
  wire_key key;
  net::query_kind kind;
  sockaddr_storage to;
  socklen_t to_len;
  size_t len;
  uint8_t data[net::max_query_size];
};

struct sock {
  int fd;
  bool v6;
  bool waiting = false; ///< for EPOLLOUT: the send buffer was full
};

} // namespace

/// The UDP thread and everything it owns. Its loop (run) waits on epoll
/// until the next timer, then reads replies and ICMP errors, takes the
/// requests' commands, sends, fires due timers and runs the actors all of
/// that woke.
class udp_io_loop : public query_port {
public:
  explicit udp_io_loop(const udp_io_options& opts)
      : flow_({opts.max_outstanding_per_destination, opts.notify_rate,
               opts.poll_rate}),
        m_(opts.metrics != nullptr ? *opts.metrics : metrics::global()),
        sendmmsg_hook_(opts.sendmmsg_hook) {
    if (opts.system != nullptr)
      unit_ = std::make_unique<inline_unit>(opts.system);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0)
      throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
    watch(inbox_.fd(), wake_tag, EPOLLIN);
    for (size_t i = 0; i < opts.sockets_per_family; ++i) {
      int fd = open_udp_socket(false, opts.source_v4, opts.socket_buffer);
      if (fd < 0)
        throw std::runtime_error(std::string("IPv4 UDP socket: ") +
                                 std::strerror(-fd));
      add_socket(fd, false);
    }
    for (size_t i = 0; opts.ipv6 && i < opts.sockets_per_family; ++i) {
      int fd = open_udp_socket(true, opts.source_v6, opts.socket_buffer);
      if (fd < 0) {
        spdlog::warn("no IPv6 UDP socket ({}); IPv6 destinations will fail",
                     std::strerror(-fd));
        break;
      }
      add_socket(fd, true);
    }
    thread_ = std::thread([this] {
      // Named for top -H and profiles (it would inherit its creator's).
      pthread_setname_np(pthread_self(), "minidns-udp");
      run();
    });
  }

  ~udp_io_loop() override {
    stop();
    for (auto& s : sockets_)
      ::close(s.fd);
    ::close(epoll_);
  }

  void stop() {
    if (stopping_.exchange(true))
      return;
    inbox_.wake();
    if (thread_.joinable())
      thread_.join();
  }

  void query(caf::strong_actor_ptr owner, dns_query q) override {
    submit({command::what::query, std::move(owner), std::move(q)});
  }

  void pause(caf::strong_actor_ptr owner, uint64_t token, uint32_t attempt,
             int64_t delay_ns) override {
    command cmd{command::what::pause, std::move(owner), {}};
    cmd.query.token = token;
    cmd.query.attempt = attempt;
    cmd.query.timeout_ns = delay_ns;
    submit(std::move(cmd));
  }

  void release(uint64_t token) override {
    command cmd{command::what::release, nullptr, {}};
    cmd.query.token = token;
    submit(std::move(cmd));
  }

  /// How late the oldest live timer was when the thread last fired timers,
  /// kept until its next firing: casts stay paused through a long turn
  /// until a firing on time. But a thread asleep for over a millisecond
  /// is not behind (it wakes at once for work): without that, a late last
  /// firing before a quiet spell would stop cast intake for good.
  int64_t timer_lag_ns() const override {
    auto asleep = asleep_since_ns_.load(std::memory_order_relaxed);
    if (asleep != 0 &&
        steady::now().time_since_epoch().count() - asleep > 1'000'000)
      return 0;
    return lag_ns_.load(std::memory_order_relaxed);
  }

private:
  // -- the loop ------------------------------------------------------------

  void run() {
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
      inbox_.take(work);
      for (auto& cmd : work)
        take(cmd);
      work.clear();
      launch_ready();
      flush_all();
      fire_timers();
      launch_ready(); // slots freed by timeouts
      flush_all();
      publish();
      run_actors();
      more = !inbox_.empty() || flow_.has_ready();
    }
    // Messages already delivered are handled before the thread ends.
    run_actors();
    // Drop the references to request actors before the thread ends.
    timers_.clear();
    attempts_.clear();
  }

  void handle_event(uint32_t tag, uint32_t ev) {
    if (tag == wake_tag) {
      inbox_.clear();
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

  /// Waits on epoll until the next timer (or flow control's next rate
  /// slot) is due, to the nanosecond; `now`: does not sleep at all.
  int wait(epoll_event* events, int max, bool now) {
    auto next = timers_.next_due();
    if (auto f = flow_.next_due(); f && (!next || *f < *next))
      next = f;
    int64_t left = -1; // ns; -1: for ever
    if (now)
      left = 0;
    else if (next)
      left = std::clamp<int64_t>((*next - steady::now()).count(), 0,
                                 int64_t{60} * 1'000'000'000);
    return wait_events(epoll_, events, max, left);
  }

  /// Makes flow control's figures readable by /metrics.
  void publish() {
    m_.udp.waiting.store(flow_.waiting_count(), std::memory_order_relaxed);
    m_.udp.outstanding.store(flow_.outstanding_count(),
                             std::memory_order_relaxed);
  }

  /// Tells the owners of timers that are due. Timers of requests that
  /// ended are cancelled: dropped unseen.
  void fire_timers() {
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
      m_.timer_lateness[static_cast<size_t>(t.query)].observe(
          std::chrono::duration<double>(late).count());
      tell(req->owner, timeout_atom::value, t.attempt);
      return true;
    });
    lag_ns_.store(timers_.lag_ns(), std::memory_order_relaxed);
  }

  // -- commands from requests ----------------------------------------------

  void submit(command cmd) {
    // The UDP thread itself (an actor it runs) needs no wake-up: it looks
    // again before it sleeps.
    if (inbox_.push(std::move(cmd)) && std::this_thread::get_id() != thread_id_)
      inbox_.wake();
  }

  void take(command& cmd) {
    auto& q = cmd.query;
    switch (cmd.op) {
    case command::what::query: {
      auto& req = attempts_.open(q.token, std::move(cmd.owner), q.kind,
                                 std::move(q.qname_wire), q.destination);
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
      attempts_.forget(q.token); // its timers are cancelled with it
      break;
    }
  }

  /// Sends attempt `attempt` of request `token` (`req`), which flow
  /// control let go: picks a socket and a fresh random ID, records the
  /// attempt, starts its timeout and adds it to its socket's send batch.
  void launch(table::request& req, uint64_t token, uint32_t attempt,
              int64_t timeout_ns) {
    req.outstanding = attempt;
    auto& dest = req.peer;
    auto key = attempts_.choose(dest, dest.v6 ? v6_ : v4_, rng_);
    if (!key) {
      // No socket of that family, or no free ID for that destination.
      fail(req, attempt,
           (dest.v6 ? v6_ : v4_).empty() ? EAFNOSUPPORT : EADDRINUSE);
      return;
    }
    auto& out = batches_[key->socket].emplace_back();
    out.len = net::build_query(req.kind, key->id, req.qname, out.data,
                               sizeof(out.data));
    if (out.len == 0) {
      batches_[key->socket].pop_back();
      fail(req, attempt, EMSGSIZE);
      return;
    }
    out.key = *key;
    out.kind = req.kind;
    out.to_len = dest.to_sockaddr(out.to);
    auto now = steady::now();
    attempts_.add(*key, req, token, attempt, now);
    // The timeout runs from here, not from when the datagram leaves at the
    // end of the turn: measured, timers started as datagrams left bunched
    // their deadlines into the flushes and tripled the p99 lateness with
    // 300,000 in flight (bench/RESULTS.md). A query that waited for flow
    // control starts its timeout here too, when it may leave.
    if (timeout_ns > 0)
      timers_.schedule({now + std::chrono::nanoseconds(timeout_ns), token,
                        attempt, timer_kind::attempt_timeout, req.kind});
    if (batches_[key->socket].size() == batch && !sockets_[key->socket].waiting)
      flush(key->socket);
  }

  /// Sends the queries flow control lets go now. Those whose request ended
  /// while they waited free their slot at once.
  void launch_ready() {
    if (!flow_.has_ready() && !flow_due())
      return;
    auto now = steady::now();
    for (;;) {
      ready_.clear();
      flow_.take_ready(now, ready_);
      if (ready_.empty())
        return;
      for (auto& r : ready_) {
        auto* req = attempts_.find_request(r.query.token);
        if (req == nullptr)
          flow_.ended(r.destination, now);
        else
          launch(*req, r.query.token, r.query.attempt, r.query.timeout_ns);
      }
    }
  }

  bool flow_due() const {
    auto due = flow_.next_due();
    return due && *due <= steady::now();
  }

  /// Attempt `attempt` of `req` is no longer outstanding (answered, timed
  /// out, failed): its destination may take the next waiting query.
  void settle(table::request& req, uint32_t attempt) {
    if (attempt == 0 || req.outstanding != attempt)
      return;
    req.outstanding = 0;
    flow_.ended(req.peer, steady::now());
  }

  // -- sending -------------------------------------------------------------

  void flush_all() {
    for (auto& [idx, out] : batches_)
      if (!out.empty() && !sockets_[idx].waiting)
        flush(idx);
  }

  /// Sends socket `idx`'s batch. A full send buffer keeps the rest, in
  /// order, until epoll says there is room; a datagram the kernel refuses
  /// ends its attempt.
  void flush(uint32_t idx) {
    auto& out = batches_[idx];
    auto sent = send_datagrams(
        sockets_[idx].fd, out.size(), sendmmsg_hook_,
        [&out](size_t i) {
          auto& o = out[i];
          return datagram_out{o.data, o.len, &o.to, o.to_len};
        },
        [&](size_t i) {
          metrics::add(m_.queries[static_cast<size_t>(out[i].kind)]);
        },
        [&](size_t i, int err) {
          if (auto m = attempts_.find(out[i].key)) {
            attempts_.kill(out[i].key);
            fail(*m.req, m.att->number, err);
          }
        });
    if (sent < out.size()) {
      metrics::add(m_.udp.send_waits);
      out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(sent));
      wait_for_room(idx, true);
      return;
    }
    out.clear();
  }

  /// Watches socket `idx` for room in its send buffer, or stops watching.
  void wait_for_room(uint32_t idx, bool on) {
    epoll_event ev{};
    ev.events = on ? uint32_t{EPOLLIN | EPOLLOUT} : uint32_t{EPOLLIN};
    ev.data.u32 = idx;
    if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, sockets_[idx].fd, &ev) == 0)
      sockets_[idx].waiting = on;
  }

  // -- receiving -----------------------------------------------------------

  /// Reads socket `idx`'s error queue: ICMP errors (and local ones) about
  /// datagrams it sent. Each names the destination and quotes the query, so
  /// it is matched like a reply, by socket, destination and ID; a match
  /// ends that attempt as failed (never the request: ICMP can be forged).
  void read_errors(uint32_t idx) {
    icmp_error e;
    for (int i = 0; i < 64; ++i) {
      auto r = read_error_queue(sockets_[idx].fd, e);
      if (r == error_queue::empty)
        return;
      auto m = r == error_queue::ours
                   ? attempts_.find(wire_key{e.peer, idx, e.id})
                   : table::match{};
      if (!m) {
        metrics::add(m_.udp.icmp_unmatched);
        continue;
      }
      metrics::add(m_.udp.icmp_matched);
      settle(*m.req, m.att->number);
      tell(m.req->owner, send_error_atom::value, m.att->number, e.err);
    }
  }

  /// Reads what socket `idx` holds, batch by batch, up to
  /// max_read_rounds batches: replies are read before more queries go out,
  /// so that a burst of answers cannot overflow the socket's receive
  /// buffer while the thread sends (the kernel would drop them, and their
  /// requests would time out and resend).
  void receive(uint32_t idx) {
    for (int round = 0; round < max_read_rounds; ++round) {
      auto n = reader_.read(sockets_[idx].fd);
      metrics::add(m_.udp.received, n);
      for (size_t i = 0; i < n; ++i)
        accept(idx, reader_.data(i), reader_.size(i), reader_.from(i));
      if (n < datagram_reader::batch)
        return;
    }
  }

  /// Matches one datagram to an attempt and checks it; an accepted reply
  /// goes to the attempt's request.
  void accept(uint32_t idx, const uint8_t* data, size_t len,
              const std::optional<net::endpoint>& peer) {
    wire_key key{peer.value_or(net::endpoint{}), idx, net::peek_id(data, len)};
    auto m = peer && len >= 12 ? attempts_.find(key) : table::match{};
    if (!m) {
      metrics::add(m_.udp.unmatched);
      return;
    }
    auto info = net::check_reply(
        data, len, net::expected_reply{m.req->kind, key.id, m.req->qname});
    if (info.match != net::reply_match::accepted) {
      metrics::add(m_.udp.mismatched);
      return;
    }
    metrics::add(m_.rcodes[info.rcode & 0xf]);
    settle(*m.req, m.att->number);
    m_.rtt[static_cast<size_t>(m.req->kind)].observe(
        std::chrono::duration<double>(steady::now() - m.att->sent_at).count());
    tell(m.req->owner, answer_atom::value, m.att->number, info);
  }

  // -- telling requests ----------------------------------------------------

  /// Sends a request actor one message from the UDP thread. With an
  /// inline unit the actor runs on this thread at the end of the turn
  /// (run_actors); the message types are request_actor's.
  template <class... Ts>
  void tell(const caf::strong_actor_ptr& owner, Ts&&... xs) {
    if (!unit_) {
      caf::anon_send(caf::actor_cast<request_actor>(owner),
                     std::forward<Ts>(xs)...);
      return;
    }
    owner->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(),
                                             {}, std::forward<Ts>(xs)...),
                   unit_.get());
  }

  /// Tells a request that its attempt failed to leave.
  void fail(table::request& req, uint32_t attempt, int err) {
    metrics::add(m_.udp.send_errors);
    settle(req, attempt);
    tell(req.owner, send_error_atom::value, attempt, err);
  }

  /// Runs the actors woken by tell(). They may submit commands, which the
  /// next turn of the loop takes without waiting.
  void run_actors() {
    if (unit_)
      unit_->run_all();
  }

  // -- set-up --------------------------------------------------------------

  void watch(int fd, uint32_t tag, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = tag;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
      throw std::runtime_error(std::string("epoll_ctl: ") +
                               std::strerror(errno));
  }

  void add_socket(int fd, bool v6) {
    auto idx = static_cast<uint32_t>(sockets_.size());
    sockets_.push_back({fd, v6});
    (v6 ? v6_ : v4_).push_back(idx);
    watch(fd, idx, EPOLLIN);
  }

  int epoll_ = -1;
  std::vector<sock> sockets_;
  std::vector<uint32_t> v4_; ///< indexes of the IPv4 sockets
  std::vector<uint32_t> v6_; ///< indexes of the IPv6 sockets
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  handoff<command> inbox_; ///< commands from requests, any thread

  // Owned by the UDP thread.
  random_pool rng_;
  table attempts_;
  datagram_reader reader_;
  timer_service timers_;
  flow_control flow_;                      ///< per-destination limits
  std::vector<flow_control::ready> ready_; ///< scratch of launch_ready()
  std::unordered_map<uint32_t, std::vector<outgoing>> batches_;

  metrics::registry& m_;           ///< where the thread counts
  std::atomic<int64_t> lag_ns_{0}; ///< see timer_lag_ns()
  /// When the thread went into epoll_wait with nothing left to do (steady
  /// clock ns), 0 while it works; see timer_lag_ns().
  std::atomic<int64_t> asleep_since_ns_{0};
  sendmmsg_fn sendmmsg_hook_;
  /// Runs woken request actors on this thread; null without an actor
  /// system in the options (then messages go through CAF's scheduler).
  std::unique_ptr<inline_unit> unit_;
  /// The UDP thread, once it runs.
  std::atomic<std::thread::id> thread_id_{};
};

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
