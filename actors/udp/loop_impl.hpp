#pragma once
/// The UDP thread's class, shared by its two source files: loop.cpp (the
/// loop, its timers and the requests' commands) and loop_io.cpp (sending
/// through flow control, receiving and matching). Private to actors/udp/.

#include "actors/handoff.hpp"
#include "actors/interfaces.hpp"
#include "actors/udp/attempt_table.hpp"
#include "actors/udp/flow_control.hpp"
#include "actors/udp/inline_unit.hpp"
#include "actors/udp/loop.hpp"
#include "actors/udp/random_pool.hpp"
#include "actors/udp/shared_queries.hpp"
#include "actors/udp/sockets.hpp"
#include "actors/udp/tcp.hpp"
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

/// The UDP thread and everything it owns. Its loop (run) waits on epoll
/// until the next timer, then reads replies and ICMP errors, takes the
/// requests' commands, sends, fires due timers and runs the actors all of
/// that woke.
class udp_io_loop : public query_port {
  /// Datagrams per sendmmsg call.
  static constexpr size_t batch = 64;
  /// recvmmsg calls per socket and wake-up (up to 1,024 datagrams).
  static constexpr int max_read_rounds = 16;
  /// epoll tag of the wake-up eventfd (sockets are tagged by index).
  static constexpr uint32_t wake_tag = UINT32_MAX;
  /// epoll tags of TCP connections start here.
  static constexpr uint32_t tcp_tag_base = 0x40000000;

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
    uint8_t data[net::max_query_size + net::max_tsig_size];
  };

  /// The MAC of a signed query, to check its reply's signature.
  struct signed_query {
    uint16_t id;
    std::string mac;
  };

  struct sock {
    int fd;
    bool v6;
    bool waiting = false; ///< for EPOLLOUT: the send buffer was full
  };

public:
  explicit udp_io_loop(const udp_io_options& opts)
      : flow_({opts.max_outstanding_per_destination, opts.notify_rate,
               opts.poll_rate}),
        m_(opts.metrics != nullptr ? *opts.metrics : metrics::global()),
        keys_(opts.tsig_keys), share_(opts.share_queries),
        sendmmsg_hook_(opts.sendmmsg_hook) {
    if (opts.system != nullptr)
      unit_ = std::make_unique<inline_unit>(opts.system);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0)
      throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
    watch(inbox_.fd(), wake_tag, EPOLLIN);
    tcp_ = std::make_unique<tcp_pool>(
        tcp_pool::options{opts.source_v4, opts.source_v6,
                          opts.tcp_per_destination, opts.tcp_idle},
        epoll_, tcp_tag_base, [this] { return rng_.next16(); },
        [this](const tcp_waiter& w, uint16_t id, uint8_t* out, size_t cap) {
          auto* req = attempts_.find_request(w.token);
          return req == nullptr ? size_t{0}
                                : build(*req, w.token, id, out, cap);
        },
        [this](const tcp_waiter& w, uint16_t id, std::string_view msg) {
          return accept_tcp(w, id, msg);
        },
        [this](const tcp_waiter& w, int err) {
          // Only the attempt still out: later ones fail by themselves.
          if (auto* req = attempts_.find_request(w.token);
              req != nullptr && req->outstanding == w.attempt)
            fail(*req, w.token, w.attempt, err);
        });
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

  void run();

  void handle_event(uint32_t tag, uint32_t ev);

  /// Waits on epoll until the next timer (or flow control's next rate
  /// slot) is due, to the nanosecond; `now`: does not sleep at all.
  int wait(epoll_event* events, int max, bool now);

  /// Makes flow control's figures readable by /metrics.
  void publish();

  /// Tells the owners of timers that are due. Timers of requests that
  /// ended are cancelled: dropped unseen.
  void fire_timers();

  // -- commands from requests ----------------------------------------------

  void submit(command cmd);

  void take(command& cmd);

  /// Sends attempt `attempt` of request `token` (`req`), which flow
  /// control let go: picks a socket and a fresh random ID, records the
  /// attempt, starts its timeout and adds it to its socket's send batch.
  void launch(table::request& req, uint64_t token, uint32_t attempt,
              int64_t timeout_ns);

  /// launch() for a request whose every query goes over TCP.
  void launch_tcp(table::request& req, uint64_t token, uint32_t attempt,
                  int64_t timeout_ns);

  /// Starts the attempt's timeout (none when `timeout_ns` is 0).
  void start_timeout(const table::request& req, uint64_t token,
                     uint32_t attempt, int64_t timeout_ns,
                     steady::time_point now);

  /// Asks attempt `attempt` over TCP; on failure the attempt fails (and
  /// false).
  bool send_tcp(table::request& req, uint64_t token, uint32_t attempt,
                steady::time_point now);

  /// Writes request `token`'s query with ID `id` into `out`: the NOTIFY or
  /// SOA query, signed when the request has a TSIG key (its MAC kept for
  /// the reply). 0 when it cannot be built.
  size_t build(const table::request& req, uint64_t token, uint16_t id,
               uint8_t* out, size_t cap);

  /// For a request with a TSIG key: whether the reply `data` to its query
  /// `id` is signed with that key over the query's MAC, in time. A server's
  /// TSIG error (BADSIG...) goes into `info` and counts as signed; any
  /// other failure drops the reply (counted), as if forged.
  bool signed_ok(const table::request& req, uint64_t token, uint16_t id,
                 const uint8_t* data, size_t len, net::reply_info& info);

  /// Sends the queries flow control lets go now. Those whose request ended
  /// while they waited free their slot at once.
  void launch_ready();

  /// Whether flow control has a rate slot due now.
  bool flow_due() const;

  /// Attempt `attempt` of `req` is no longer outstanding (answered, timed
  /// out, failed): its destination may take the next waiting query.
  void settle(table::request& req, uint32_t attempt);

  // -- sending -------------------------------------------------------------

  void flush_all();

  /// Sends socket `idx`'s batch. A full send buffer keeps the rest, in
  /// order, until epoll says there is room; a datagram the kernel refuses
  /// ends its attempt.
  void flush(uint32_t idx);

  /// Watches socket `idx` for room in its send buffer, or stops watching.
  void wait_for_room(uint32_t idx, bool on);

  // -- receiving -----------------------------------------------------------

  /// Reads socket `idx`'s error queue: ICMP errors (and local ones) about
  /// datagrams it sent. Each names the destination and quotes the query, so
  /// it is matched like a reply, by socket, destination and ID; a match
  /// ends that attempt as failed (never the request: ICMP can be forged).
  void read_errors(uint32_t idx);

  /// Reads what socket `idx` holds, batch by batch, up to
  /// max_read_rounds batches: replies are read before more queries go out,
  /// so that a burst of answers cannot overflow the socket's receive
  /// buffer while the thread sends (the kernel would drop them, and their
  /// requests would time out and resend).
  void receive(uint32_t idx);

  /// Checks a message that came over TCP with the ID of `w`'s query and
  /// hands it to its request; false when it is not a reply to that query.
  bool accept_tcp(const tcp_waiter& w, uint16_t id, std::string_view msg);

  /// Matches one datagram to an attempt and checks it; an accepted reply
  /// goes to the attempt's request, unless it is truncated: then the
  /// attempt asks again over TCP.
  void accept(uint32_t idx, const uint8_t* data, size_t len,
              const std::optional<net::endpoint>& peer);

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

  /// Tells a request that its attempt failed to leave (and the attempts
  /// riding on it).
  void fail(table::request& req, uint64_t token, uint32_t attempt, int err);

  /// Hands the answer to `token`'s attempt `attempt` to the attempts that
  /// rode on its query (shared_queries).
  void tell_riders(uint64_t token, uint32_t attempt,
                   const net::reply_info& info);

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
  std::unique_ptr<tcp_pool> tcp_; ///< DNS over TCP after TC=1
  flow_control flow_;             ///< per-destination limits
  shared_queries sharing_; ///< one SOA query in flight per zone and server
  std::vector<flow_control::ready> ready_; ///< scratch of launch_ready()
  std::unordered_map<uint32_t, std::vector<outgoing>> batches_;

  metrics::registry& m_;                          ///< where the thread counts
  std::shared_ptr<const net::tsig_keyring> keys_; ///< null: no TSIG
  bool share_;                                    ///< minidns.share-queries
  /// MACs of the signed queries of live requests, by token (newest last).
  std::unordered_map<uint64_t, std::vector<signed_query>> macs_;
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

} // namespace minidns
