#include "actors/udp/loop.hpp"

#include "actors/interfaces.hpp"
#include "actors/udp/attempt_table.hpp"
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
#include <mutex>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
      : sendmmsg_hook_(opts.sendmmsg_hook) {
    if (opts.system != nullptr)
      unit_ = std::make_unique<inline_unit>(opts.system);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0)
      throw std::runtime_error(std::string("epoll/eventfd: ") +
                               std::strerror(errno));
    watch(wake_, wake_tag, EPOLLIN);
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
    ::close(wake_);
    ::close(epoll_);
  }

  void stop() {
    if (stopping_.exchange(true))
      return;
    wake();
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

  udp_io_stats read_stats() const { return count_.read(); }

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
      {
        std::lock_guard<std::mutex> guard{mtx_};
        work.swap(inbox_);
      }
      for (auto& cmd : work)
        take(cmd);
      work.clear();
      flush_all();
      fire_timers();
      run_actors();
      std::lock_guard<std::mutex> guard{mtx_};
      more = !inbox_.empty();
    }
    // Messages already delivered are handled before the thread ends.
    run_actors();
    // Drop the references to request actors before the thread ends.
    timers_.clear();
    attempts_.clear();
  }

  void handle_event(uint32_t tag, uint32_t ev) {
    if (tag == wake_tag) {
      uint64_t v;
      [[maybe_unused]] auto r = ::read(wake_, &v, sizeof(v));
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

  /// Waits on epoll until the next timer is due (to the nanosecond);
  /// `now`: does not sleep at all.
  int wait(epoll_event* events, int max, bool now) {
    auto next = timers_.next_due();
    int64_t left = -1; // ns; -1: for ever
    if (now)
      left = 0;
    else if (next)
      left = std::clamp<int64_t>((*next - steady::now()).count(), 0,
                                 int64_t{60} * 1'000'000'000);
    return wait_events(epoll_, events, max, left);
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
      metrics::global().timer_lateness[static_cast<size_t>(t.query)].observe(
          std::chrono::duration<double>(late).count());
      tell(req->owner, timeout_atom::value, t.attempt);
      return true;
    });
    lag_ns_.store(timers_.lag_ns(), std::memory_order_relaxed);
  }

  // -- commands from requests ----------------------------------------------

  void submit(command cmd) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      was_empty = inbox_.empty();
      inbox_.push_back(std::move(cmd));
    }
    // One wake-up per batch: the thread drains the whole inbox. The UDP
    // thread itself (an actor it runs) needs none: it looks again before
    // it sleeps.
    if (was_empty && std::this_thread::get_id() != thread_id_)
      wake();
  }

  void take(command& cmd) {
    auto& q = cmd.query;
    switch (cmd.op) {
    case command::what::query:
      enqueue(cmd);
      break;
    case command::what::pause:
      attempts_.open(q.token, std::move(cmd.owner), q.kind, {}, {});
      timers_.schedule({steady::now() + std::chrono::nanoseconds(q.timeout_ns),
                        q.token, q.attempt, timer_kind::retry_pause, q.kind});
      break;
    case command::what::release:
      attempts_.forget(q.token); // its timers are cancelled with it
      break;
    }
  }

  /// Picks a socket and a fresh random ID, records the attempt and adds it
  /// to its socket's send batch.
  void enqueue(command& cmd) {
    auto& q = cmd.query;
    auto& req = attempts_.open(q.token, std::move(cmd.owner), q.kind,
                               std::move(q.qname_wire), q.destination);
    auto key =
        attempts_.choose(q.destination, q.destination.v6 ? v6_ : v4_, rng_);
    if (!key) {
      // No socket of that family, or no free ID for that destination.
      fail(req.owner, q.attempt,
           (q.destination.v6 ? v6_ : v4_).empty() ? EAFNOSUPPORT : EADDRINUSE);
      return;
    }
    auto& out = batches_[key->socket].emplace_back();
    out.len = net::build_query(q.kind, key->id, req.qname, out.data,
                               sizeof(out.data));
    if (out.len == 0) {
      batches_[key->socket].pop_back();
      fail(req.owner, q.attempt, EMSGSIZE);
      return;
    }
    out.key = *key;
    out.kind = q.kind;
    out.to_len = q.destination.to_sockaddr(out.to);
    auto now = steady::now();
    attempts_.add(*key, q.token, q.attempt, now);
    // The timeout runs from here, not from when the datagram leaves at the
    // end of the turn: measured, timers started as datagrams left bunched
    // their deadlines into the flushes and tripled the p99 lateness with
    // 300,000 in flight (bench/RESULTS.md).
    if (q.timeout_ns > 0)
      timers_.schedule({now + std::chrono::nanoseconds(q.timeout_ns), q.token,
                        q.attempt, timer_kind::attempt_timeout, q.kind});
    if (batches_[key->socket].size() == batch && !sockets_[key->socket].waiting)
      flush(key->socket);
  }

  // -- sending -------------------------------------------------------------

  void flush_all() {
    for (auto& [idx, out] : batches_)
      if (!out.empty() && !sockets_[idx].waiting)
        flush(idx);
  }

  /// Sends socket `idx`'s batch. A full send buffer (EAGAIN) keeps the
  /// rest, in order, until epoll says there is room; any other error ends
  /// the attempt of the datagram that met it, after one more try, since the
  /// error may be a pending ICMP error about an earlier datagram that this
  /// call merely reported.
  void flush(uint32_t idx) {
    auto& out = batches_[idx];
    mmsghdr msgs[batch];
    iovec iov[batch];
    size_t off = 0;
    bool tried_again = false;
    while (off < out.size()) {
      size_t n = std::min(batch, out.size() - off);
      for (size_t i = 0; i < n; ++i) {
        auto& o = out[off + i];
        iov[i] = {o.data, o.len};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_name = &o.to;
        msgs[i].msg_hdr.msg_namelen = o.to_len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int r = send_batch(sockets_[idx].fd, msgs, static_cast<unsigned>(n));
      if (r > 0) {
        for (size_t i = off; i < off + static_cast<size_t>(r); ++i)
          left(out[i]);
        off += static_cast<size_t>(r);
        tried_again = false;
        continue;
      }
      int err = r < 0 ? errno : EIO;
      if (err == EINTR)
        continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        udp_io_counters::add(count_.send_waits);
        out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(off));
        wait_for_room(idx, true);
        return;
      }
      if (!tried_again) {
        tried_again = true;
        continue;
      }
      tried_again = false;
      if (auto m = attempts_.find(out[off].key)) {
        attempts_.kill(out[off].key);
        fail(m.req->owner, m.att->number, err);
      }
      ++off;
    }
    out.clear();
  }

  /// Datagram `o` is on its way: count it.
  void left(const outgoing& o) {
    udp_io_counters::add(count_.sent);
    metrics::add(metrics::global().queries[static_cast<size_t>(o.kind)]);
  }

  int send_batch(int fd, mmsghdr* msgs, unsigned n) {
    return sendmmsg_hook_ ? sendmmsg_hook_(fd, msgs, n)
                          : ::sendmmsg(fd, msgs, n, 0);
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
        udp_io_counters::add(count_.icmp_unmatched);
        continue;
      }
      udp_io_counters::add(count_.icmp);
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
      udp_io_counters::add(count_.received, n);
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
      udp_io_counters::add(count_.unmatched);
      return;
    }
    auto info = net::check_reply(
        data, len, net::expected_reply{m.req->kind, key.id, m.req->qname});
    if (info.match != net::reply_match::accepted) {
      udp_io_counters::add(count_.mismatched);
      return;
    }
    udp_io_counters::add(count_.accepted);
    auto& metrics = metrics::global();
    metrics::add(metrics.rcodes[info.rcode & 0xf]);
    metrics.rtt[static_cast<size_t>(m.req->kind)].observe(
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
  void fail(const caf::strong_actor_ptr& owner, uint32_t attempt, int err) {
    udp_io_counters::add(count_.send_errors);
    tell(owner, send_error_atom::value, attempt, err);
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

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof(one));
  }

  int epoll_ = -1;
  int wake_ = -1;
  std::vector<sock> sockets_;
  std::vector<uint32_t> v4_; ///< indexes of the IPv4 sockets
  std::vector<uint32_t> v6_; ///< indexes of the IPv6 sockets
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex mtx_;
  std::vector<command> inbox_;

  // Owned by the UDP thread.
  random_pool rng_;
  table attempts_;
  datagram_reader reader_;
  timer_service timers_;
  std::unordered_map<uint32_t, std::vector<outgoing>> batches_;

  udp_io_counters count_;
  std::atomic<int64_t> lag_ns_{0}; ///< see timer_lag_ns()
  /// When the thread went into epoll_wait with nothing left to do (steady
  /// clock ns), 0 while it works; see timer_lag_ns().
  std::atomic<int64_t> asleep_since_ns_{0};
  std::function<int(int, mmsghdr*, unsigned)> sendmmsg_hook_;
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

udp_io_stats stats(const udp_io_loop& loop) {
  return loop.read_stats();
}

std::shared_ptr<query_port> as_query_port(std::shared_ptr<udp_io_loop> loop) {
  return loop;
}

} // namespace minidns
