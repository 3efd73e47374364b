#include "actors/udp_io.hpp"

#include "metrics/registry.hpp"
#include "net/dns_message.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <caf/all.hpp>
#include <cerrno>
#include <cstring>
#include <linux/errqueue.h>
#include <mutex>
#include <netinet/in.h>
#include <queue>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <pthread.h>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace minidns {

namespace {

/// Datagrams per recvmmsg/sendmmsg call.
constexpr size_t batch = 64;
/// recvmmsg calls per socket and wake-up (up to 1,024 datagrams).
constexpr int max_read_rounds = 16;
/// Replies to queries without EDNS fit in 512 bytes; room for servers that
/// send more anyway, so that a big reply is checked rather than cut.
constexpr size_t recv_buffer = 4096;

/// Unpredictable 16-bit numbers for query IDs and socket choice, refilled
/// from getrandom() in bulk so that the hot path makes no syscall.
class random_pool {
public:
  uint16_t next16() {
    if (pos_ + 2 > sizeof(buf_))
      refill();
    uint16_t v;
    std::memcpy(&v, buf_ + pos_, 2);
    pos_ += 2;
    return v;
  }

private:
  void refill() {
    size_t got = 0;
    while (got < sizeof(buf_)) {
      auto n = getrandom(buf_ + got, sizeof(buf_) - got, 0);
      if (n > 0)
        got += static_cast<size_t>(n);
      else if (errno != EINTR)
        throw std::runtime_error("getrandom failed");
    }
    pos_ = 0;
  }
  uint8_t buf_[4096];
  size_t pos_ = sizeof(buf_);
};

/// Identifies one attempt on the wire: the socket it left from, the
/// destination it went to and its ID. A reply must match all three.
struct wire_key {
  net::endpoint peer;
  uint32_t socket = 0;
  uint16_t id = 0;
  friend bool operator==(const wire_key& a, const wire_key& b) noexcept {
    return a.socket == b.socket && a.id == b.id && a.peer == b.peer;
  }
};

struct wire_key_hash {
  size_t operator()(const wire_key& k) const noexcept {
    uint64_t a, b;
    std::memcpy(&a, k.peer.addr.data(), 8);
    std::memcpy(&b, k.peer.addr.data() + 8, 8);
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    h ^= (uint64_t{k.socket} << 32 | uint64_t{k.peer.port} << 16 | k.id) *
         0xC2B2AE3D27D4EB4Full;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

/// An attempt awaiting replies. Kept until its request ends, so that late
/// replies to earlier attempts still count.
struct pending {
  caf::strong_actor_ptr owner;
  uint64_t token = 0;
  uint32_t attempt = 0;
  net::query_kind kind = net::query_kind::soa;
  std::string qname;
  std::chrono::steady_clock::time_point sent_at; ///< for the round trip
};

using steady = std::chrono::steady_clock;
// The lag and asleep_since_ns_ keep steady_clock ticks as nanoseconds.
static_assert(std::is_same_v<steady::duration, std::chrono::nanoseconds>);

/// An attempt's timeout, due at `due` unless the request ended first.
struct timer {
  steady::time_point due;
  wire_key key;
  uint64_t token = 0;
  uint32_t attempt = 0;
  friend bool operator>(const timer& a, const timer& b) {
    return a.due > b.due;
  }
};

struct command {
  bool release = false;
  caf::strong_actor_ptr owner;
  dns_query query; // token only, for releases
};

int open_socket(bool v6, const std::string& source, int buffer) {
  net::endpoint local;
  local.v6 = v6;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, source.c_str(), local.addr.data()) !=
      1)
    throw std::runtime_error("minidns.source-" + std::string(v6 ? "v6" : "v4") +
                             ": not an IP" + (v6 ? "v6" : "v4") +
                             " address: '" + source + "'");
  int fd = ::socket(v6 ? AF_INET6 : AF_INET,
                    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int on = 1;
  if (v6)
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  // ICMP errors (port unreachable...) land in the socket's error queue,
  // even though the socket is not connected: an attempt to a closed port
  // then ends at once instead of after its timeout.
  if (v6)
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
  else
    ::setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  sockaddr_storage ss;
  auto len = local.to_sockaddr(ss);
  // Port 0: the kernel picks a random ephemeral source port.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error("minidns.source-" + std::string(v6 ? "v6" : "v4") +
                             ": cannot bind " + source + ": " +
                             std::strerror(err));
  }
  return fd;
}

/// Lets the UDP thread run the request actors that its own messages wake
/// (answers, timeouts, failed sends), right after the batch that woke
/// them, instead of handing each to CAF's scheduler: no scheduler lock, no
/// worker to wake, and one thread less between a reply and its status.
/// CAF's I/O multiplexer runs brokers the same way. Request handlers are
/// short and never block; messages from anywhere else (retry timers,
/// shutdown) still reach the actors through CAF's scheduler, and CAF's
/// mailbox protocol makes sure only one thread runs an actor at a time.
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

} // namespace

/// The UDP thread and everything it owns.
class udp_engine : public query_port {
public:
  explicit udp_engine(const udp_io_options& opts)
      : sendmmsg_hook_(opts.sendmmsg_hook) {
    if (opts.system != nullptr)
      unit_ = std::make_unique<inline_unit>(opts.system);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0)
      throw std::runtime_error(std::string("epoll/eventfd: ") +
                               std::strerror(errno));
    watch(wake_, UINT32_MAX);
    for (size_t i = 0; i < opts.sockets_per_family; ++i) {
      int fd = open_socket(false, opts.source_v4, opts.socket_buffer);
      if (fd < 0)
        throw std::runtime_error(std::string("IPv4 UDP socket: ") +
                                 std::strerror(-fd));
      add_socket(fd, false);
    }
    if (opts.ipv6) {
      for (size_t i = 0; i < opts.sockets_per_family; ++i) {
        int fd = open_socket(true, opts.source_v6, opts.socket_buffer);
        if (fd < 0) {
          spdlog::warn("no IPv6 UDP socket ({}); IPv6 destinations will fail",
                       std::strerror(-fd));
          break;
        }
        add_socket(fd, true);
      }
    }
    thread_ = std::thread([this] {
      // Named for top -H and profiles (it would inherit its creator's).
      pthread_setname_np(pthread_self(), "minidns-udp");
      run();
    });
  }

  ~udp_engine() override {
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

  void query(caf::strong_actor_ptr owner, dns_query q) override {
    command cmd;
    cmd.owner = std::move(owner);
    cmd.query = std::move(q);
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

  void release(uint64_t token) override {
    command cmd;
    cmd.release = true;
    cmd.query.token = token;
    submit(std::move(cmd));
  }

  udp_io_stats read_stats() const {
    udp_io_stats s;
    s.sent = sent_.load(std::memory_order_relaxed);
    s.send_errors = send_errors_.load(std::memory_order_relaxed);
    s.received = received_.load(std::memory_order_relaxed);
    s.accepted = accepted_.load(std::memory_order_relaxed);
    s.unmatched = unmatched_.load(std::memory_order_relaxed);
    s.mismatched = mismatched_.load(std::memory_order_relaxed);
    s.icmp = icmp_.load(std::memory_order_relaxed);
    s.icmp_unmatched = icmp_unmatched_.load(std::memory_order_relaxed);
    s.send_waits = send_waits_.load(std::memory_order_relaxed);
    return s;
  }

private:
  struct sock {
    int fd;
    bool v6;
    bool waiting = false; ///< for EPOLLOUT: the send buffer was full
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

  void watch(int fd, uint32_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = tag;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
      throw std::runtime_error(std::string("epoll_ctl: ") +
                               std::strerror(errno));
  }

  void add_socket(int fd, bool v6) {
    auto idx = static_cast<uint32_t>(sockets_.size());
    sockets_.push_back({fd, v6});
    (v6 ? v6_ : v4_).push_back(idx);
    watch(fd, idx);
  }

  /// Sends a request actor one message from the UDP thread. With an
  /// inline unit the actor runs on this thread at the end of the batch
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

  /// Runs the actors woken by tell(). They may submit queries and releases,
  /// which the next turn of the loop takes without waiting.
  void run_actors() {
    if (unit_)
      unit_->run_all();
  }

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof(one));
  }

  void run() {
    epoll_event events[64];
    std::vector<command> work;
    thread_id_ = std::this_thread::get_id();
    bool more = false; // commands came in while actors ran
    while (!stopping_.load(std::memory_order_acquire)) {
      if (!more)
        asleep_since_ns_.store(steady::now().time_since_epoch().count(),
                               std::memory_order_relaxed);
      int n = wait_events(events, 64, more);
      asleep_since_ns_.store(0, std::memory_order_relaxed);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        spdlog::critical("epoll_wait: {}", std::strerror(errno));
        return;
      }
      for (int i = 0; i < n; ++i) {
        auto idx = events[i].data.u32;
        auto ev = events[i].events;
        if (idx == UINT32_MAX) {
          uint64_t v;
          [[maybe_unused]] auto r = ::read(wake_, &v, sizeof(v));
          continue;
        }
        if (ev & EPOLLERR)
          read_errors(idx);
        if (ev & EPOLLIN)
          receive(idx);
        if ((ev & EPOLLOUT) && sockets_[idx].waiting) {
          wait_for_room(idx, false);
          flush(idx);
        }
      }
      {
        std::lock_guard<std::mutex> guard{mtx_};
        work.swap(inbox_);
      }
      if (!work.empty()) {
        process(work);
        work.clear();
      }
      fire_timers();
      run_actors();
      std::lock_guard<std::mutex> guard{mtx_};
      more = !inbox_.empty();
    }
    // Messages already delivered are handled before the thread ends.
    run_actors();
    // Drop the references to request actors before the thread ends.
    timers_ = {};
    table_.clear();
    by_token_.clear();
  }

  /// epoll_wait until the next timer is due, to the nanosecond
  /// (epoll_pwait2, Linux 5.11): attempt timers fire on time, not up to a
  /// millisecond late. `now`: do not sleep at all.
  int wait_events(epoll_event* events, int max, bool now) {
    if (have_pwait2_) {
      timespec ts{0, 0};
      const timespec* timeout = &ts;
      if (!now) {
        if (timers_.empty()) {
          timeout = nullptr; // for ever
        } else {
          auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          timers_.top().due - steady::now())
                          .count();
          left = std::min<int64_t>(left, int64_t{60} * 1'000'000'000);
          if (left > 0)
            ts = {static_cast<time_t>(left / 1'000'000'000),
                  static_cast<long>(left % 1'000'000'000)};
        }
      }
      int n = ::epoll_pwait2(epoll_, events, max, timeout, nullptr);
      if (n >= 0 || errno != ENOSYS)
        return n;
      have_pwait2_ = false; // an older kernel
    }
    return ::epoll_wait(epoll_, events, max, now ? 0 : wait_ms());
  }

  /// Milliseconds until the next timer (rounded up), or -1 for none.
  int wait_ms() const {
    if (timers_.empty())
      return -1;
    auto left = timers_.top().due - steady::now();
    if (left <= steady::duration::zero())
      return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return ms > 60000 ? 60000 : static_cast<int>(ms);
  }

  /// Tells the owners of attempts whose time is up. A timer whose attempt
  /// is gone (its request ended, or its send failed) is dropped.
  void fire_timers() {
    auto now = steady::now();
    // How late the oldest live timer due is: 0 when none is. The timers
    // of attempts that have ended (dropped here, lazily) harm no deadline
    // however late: counting them paused cast intake under plain load.
    int64_t lag = -1;
    while (!timers_.empty() && timers_.top().due <= now) {
      auto t = timers_.top();
      timers_.pop();
      auto i = table_.find(t.key);
      if (i == table_.end() || i->second.token != t.token ||
          i->second.attempt != t.attempt)
        continue;
      auto late = now - t.due;
      if (lag < 0)
        lag = late.count();
      metrics::global()
          .timer_lateness[static_cast<size_t>(i->second.kind)]
          .observe(std::chrono::duration<double>(late).count());
      tell(i->second.owner, timeout_atom::value, t.attempt);
    }
    lag_ns_.store(lag < 0 ? 0 : lag, std::memory_order_relaxed);
  }

  void process(std::vector<command>& work) {
    for (auto& cmd : work) {
      if (cmd.release)
        forget_request(cmd.query.token);
      else
        enqueue(cmd);
    }
    flush_all();
  }

  void forget_request(uint64_t token) {
    auto i = by_token_.find(token);
    if (i == by_token_.end())
      return;
    for (auto& k : i->second)
      table_.erase(k);
    by_token_.erase(i);
  }

  /// Frees one ID of a request so that another attempt may take it.
  void forget(uint64_t token, const wire_key& key) {
    auto i = by_token_.find(token);
    if (i == by_token_.end())
      return;
    auto& keys = i->second;
    keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
    if (keys.empty())
      by_token_.erase(i);
  }

  /// Tells a request that its attempt failed (send error or ICMP).
  void report(const caf::strong_actor_ptr& owner, uint32_t attempt, int err) {
    tell(owner, send_error_atom::value, attempt, err);
  }

  void fail(const caf::strong_actor_ptr& owner, uint32_t attempt, int err) {
    send_errors_.fetch_add(1, std::memory_order_relaxed);
    report(owner, attempt, err);
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

  /// Picks a socket and a fresh random ID no pending attempt to the same
  /// destination uses, records the attempt and adds it to a send batch.
  void enqueue(command& cmd) {
    auto& q = cmd.query;
    auto& family = q.destination.v6 ? v6_ : v4_;
    if (family.empty()) {
      fail(cmd.owner, q.attempt, EAFNOSUPPORT);
      return;
    }
    wire_key key;
    key.peer = q.destination;
    bool found = false;
    for (int tries = 0; tries < 32 && !found; ++tries) {
      key.socket = family[rng_.next16() % family.size()];
      key.id = rng_.next16();
      found = table_.find(key) == table_.end();
    }
    if (!found) {
      fail(cmd.owner, q.attempt, EADDRINUSE);
      return;
    }
    auto& out = batches_[key.socket].emplace_back();
    out.key = key;
    out.kind = q.kind;
    out.len = net::build_query(q.kind, key.id, q.qname_wire, out.data,
                               sizeof(out.data));
    out.to_len = q.destination.to_sockaddr(out.to);
    if (out.len == 0) {
      batches_[key.socket].pop_back();
      fail(cmd.owner, q.attempt, EMSGSIZE);
      return;
    }
    by_token_[q.token].push_back(key);
    auto& p = table_[key];
    p.owner = std::move(cmd.owner);
    p.token = q.token;
    p.attempt = q.attempt;
    p.kind = q.kind;
    p.qname = std::move(q.qname_wire);
    p.sent_at = std::chrono::steady_clock::now();
    if (q.timeout_ns > 0)
      timers_.push(timer{p.sent_at + std::chrono::nanoseconds(q.timeout_ns),
                         key, q.token, q.attempt});
    if (batches_[key.socket].size() == batch && !sockets_[key.socket].waiting)
      flush(key.socket);
  }

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
        sent_.fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
        auto& m = metrics::global();
        for (int i = 0; i < r; ++i)
          metrics::add(m.queries[static_cast<size_t>(out[off + static_cast<size_t>(i)].kind)]);
        off += static_cast<size_t>(r);
        tried_again = false;
        continue;
      }
      int err = r < 0 ? errno : EIO;
      if (err == EINTR)
        continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        send_waits_.fetch_add(1, std::memory_order_relaxed);
        out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(off));
        wait_for_room(idx, true);
        return;
      }
      if (!tried_again) {
        tried_again = true;
        continue;
      }
      tried_again = false;
      auto& o = out[off];
      auto i = table_.find(o.key);
      if (i != table_.end()) {
        fail(i->second.owner, i->second.attempt, err);
        forget(i->second.token, o.key);
        table_.erase(i);
      }
      ++off;
    }
    out.clear();
  }

  /// Reads socket `idx`'s error queue: ICMP errors (and local ones) about
  /// datagrams it sent. Each names the destination and quotes the query, so
  /// it is matched like a reply, by socket, destination and ID; a match
  /// ends that attempt as failed (never the request: ICMP can be forged).
  void read_errors(uint32_t idx) {
    for (int i = 0; i < 64; ++i) {
      uint8_t data[net::max_query_size];
      sockaddr_storage to{};
      alignas(cmsghdr) char control[256];
      iovec iov{data, sizeof(data)};
      msghdr mh{};
      mh.msg_name = &to;
      mh.msg_namelen = sizeof(to);
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = control;
      mh.msg_controllen = sizeof(control);
      auto n = ::recvmsg(sockets_[idx].fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return;
      }
      const sock_extended_err* ee = nullptr;
      for (auto* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c))
        if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
          ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      auto peer = net::endpoint::from_sockaddr(
          reinterpret_cast<sockaddr*>(&to), mh.msg_namelen);
      auto len = static_cast<size_t>(n);
      // The quoted datagram must be one of our queries (QR clear).
      if (ee == nullptr || ee->ee_errno == 0 || !peer || len < 12 ||
          (data[2] & 0x80) != 0) {
        icmp_unmatched_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      auto it = table_.find(wire_key{*peer, idx, net::peek_id(data, len)});
      if (it == table_.end()) {
        icmp_unmatched_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      icmp_.fetch_add(1, std::memory_order_relaxed);
      report(it->second.owner, it->second.attempt,
             static_cast<int>(ee->ee_errno));
    }
  }

  /// Reads what socket `idx` holds, batch by batch, up to
  /// max_read_rounds batches: replies are read before more queries go out,
  /// so that a burst of answers cannot overflow the socket's receive
  /// buffer while the thread sends (the kernel would drop them, and their
  /// requests would time out and resend).
  void receive(uint32_t idx) {
    for (int round = 0; round < max_read_rounds; ++round)
      if (receive_batch(idx) < static_cast<int>(batch))
        return;
  }

  /// One recvmmsg on socket `idx`; the number of datagrams read.
  int receive_batch(uint32_t idx) {
    static thread_local std::vector<uint8_t> storage(batch * recv_buffer);
    mmsghdr msgs[batch];
    iovec iov[batch];
    sockaddr_storage from[batch];
    for (size_t i = 0; i < batch; ++i) {
      iov[i] = {storage.data() + i * recv_buffer, recv_buffer};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = ::recvmmsg(sockets_[idx].fd, msgs, batch, MSG_DONTWAIT, nullptr);
    if (n <= 0)
      return 0;
    received_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) {
      auto* data = storage.data() + static_cast<size_t>(i) * recv_buffer;
      size_t len = msgs[i].msg_len;
      auto peer = net::endpoint::from_sockaddr(
          reinterpret_cast<sockaddr*>(&from[i]), msgs[i].msg_hdr.msg_namelen);
      if (!peer) {
        unmatched_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      wire_key key{*peer, idx, net::peek_id(data, len)};
      auto it = len >= 12 ? table_.find(key) : table_.end();
      if (it == table_.end()) {
        unmatched_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      auto& p = it->second;
      auto info = net::check_reply(
          data, len, net::expected_reply{p.kind, key.id, p.qname});
      if (info.match != net::reply_match::accepted) {
        mismatched_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      accepted_.fetch_add(1, std::memory_order_relaxed);
      auto& m = metrics::global();
      metrics::add(m.rcodes[info.rcode & 0xf]);
      m.rtt[static_cast<size_t>(p.kind)].observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                        p.sent_at)
              .count());
      tell(p.owner, answer_atom::value, p.attempt, info);
    }
    return n;
  }

  int epoll_ = -1;
  int wake_ = -1;
  std::vector<sock> sockets_;
  std::vector<uint32_t> v4_;
  std::vector<uint32_t> v6_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex mtx_;
  std::vector<command> inbox_;

  // Owned by the UDP thread.
  random_pool rng_;
  std::unordered_map<wire_key, pending, wire_key_hash> table_;
  std::unordered_map<uint64_t, std::vector<wire_key>> by_token_;
  std::unordered_map<uint32_t, std::vector<outgoing>> batches_;
  std::priority_queue<timer, std::vector<timer>, std::greater<timer>> timers_;

  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> send_errors_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> unmatched_{0};
  std::atomic<uint64_t> mismatched_{0};
  std::atomic<uint64_t> icmp_{0};
  std::atomic<uint64_t> icmp_unmatched_{0};
  std::atomic<uint64_t> send_waits_{0};
  std::atomic<int64_t> lag_ns_{0}; ///< see timer_lag_ns()
  /// When the thread went into epoll_wait with nothing left to do (steady
  /// clock ns), 0 while it works; see timer_lag_ns().
  std::atomic<int64_t> asleep_since_ns_{0};
  bool have_pwait2_ = true;         ///< until the kernel says ENOSYS
  std::function<int(int, mmsghdr*, unsigned)> sendmmsg_hook_;
  /// Runs woken request actors on this thread; null without an actor
  /// system in the options (then messages go through CAF's scheduler).
  std::unique_ptr<inline_unit> unit_;
  /// The UDP thread, once it runs.
  std::atomic<std::thread::id> thread_id_{};
};

std::shared_ptr<udp_engine> start_udp_engine(const udp_io_options& opts) {
  return std::make_shared<udp_engine>(opts);
}

udp_io_stats stats(const udp_engine& engine) {
  return engine.read_stats();
}

std::shared_ptr<query_port> as_query_port(std::shared_ptr<udp_engine> engine) {
  return engine;
}

udp_io_state::~udp_io_state() {
  if (engine)
    engine->stop();
}

udp_io_actor::behavior_type
udp_io(udp_io_actor::stateful_pointer<udp_io_state> self,
       std::shared_ptr<udp_engine> engine) {
  self->state.engine = std::move(engine);
  return {
      [=](query_atom, dns_query& q) {
        self->state.engine->query(self->current_sender(), std::move(q));
      },
      [=](release_atom, uint64_t token) {
        self->state.engine->release(token);
      },
  };
}

} // namespace minidns
