/// The UDP I/O actor's error paths, with its real thread and sockets on
/// loopback: a stand-in for sendmmsg(2) makes sends fail as the kernel can
/// (EPERM, ENETUNREACH, EAGAIN on a full buffer, a pending ICMP error
/// reported by an unrelated send), and a closed port produces a real ICMP
/// port unreachable. Each test waits for a message or a datagram with a
/// deadline, never for a fixed time. (The `sent` counter is bumped after
/// sendmmsg returns, so a test that has just seen the datagram may read it
/// one short: the datagram itself is the proof.)

#include "actors/udp_io.hpp"
#include "messages/register.hpp"
#include "metrics/registry.hpp"
#include "net/dns_name.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <caf/all.hpp>
#include <cerrno>
#include <functional>
#include <gtest/gtest.h>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace minidns;
using namespace std::chrono_literals;

namespace {

struct real_config : caf::actor_system_config {
  real_config() {
    set("scheduler.max-threads", 2);
    register_message_types(*this);
  }
};

/// Scripted results for the first calls of sendmmsg; later calls go to
/// the kernel.
struct send_script {
  std::mutex mtx;
  std::vector<int> errors; ///< errno for call N (0: pass through)
  std::atomic<int> calls{0};
  /// Runs on the UDP thread before call N (of `n` datagrams) goes out: it
  /// stands for a thread that is busy elsewhere.
  std::function<void(int call, mmsghdr* msgs, unsigned n)> before_call;
};

/// A UDP socket on 127.0.0.1 standing in for a DNS server.
struct server_socket {
  int fd = -1;
  uint16_t port = 0;
  server_socket() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~server_socket() { close(); }
  void close() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
  /// Waits up to 5 s for one datagram; its size, or -1.
  int receive() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1)
      return -1;
    uint8_t buf[512];
    return static_cast<int>(::recv(fd, buf, sizeof(buf), 0));
  }
};

uint64_t get(const std::atomic<uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}

class UdpIo : public ::testing::Test {
protected:
  void SetUp() override {
    udp_io_options o;
    o.system = &sys; // as in the daemon: woken actors run on the UDP thread
    o.sockets_per_family = 1;
    o.ipv6 = false;
    o.metrics = &counts; // the test's own, so that counts start at 0
    auto sc = script;
    o.sendmmsg_hook = [sc](int fd, mmsghdr* msgs, unsigned n) {
      int call = sc->calls.fetch_add(1);
      int err = 0;
      std::function<void(int, mmsghdr*, unsigned)> before;
      {
        std::lock_guard<std::mutex> guard{sc->mtx};
        if (static_cast<size_t>(call) < sc->errors.size())
          err = sc->errors[static_cast<size_t>(call)];
        before = sc->before_call;
      }
      if (before)
        before(call, msgs, n);
      if (err != 0) {
        errno = err;
        return -1;
      }
      return ::sendmmsg(fd, msgs, n, 0);
    };
    engine = start_udp_io_loop(o);
    port = as_query_port(engine);
    udp = sys.spawn(udp_io, engine);
  }

  void TearDown() override {
    caf::anon_send_exit(udp, caf::exit_reason::user_shutdown);
  }

  void fail_calls(std::vector<int> errors) {
    std::lock_guard<std::mutex> guard{script->mtx};
    script->errors = std::move(errors);
  }

  /// Sends attempt `attempt` of a SOA query for example.com to `port`,
  /// for request `token`, with a timer of `timeout` (0: none).
  void query(uint32_t attempt, uint16_t dest_port,
             std::chrono::milliseconds timeout = {}, uint64_t token = 1) {
    port->query(owner(), make_query(attempt, dest_port, timeout, token));
  }

  static dns_query make_query(uint32_t attempt, uint16_t port,
                              std::chrono::milliseconds timeout,
                              uint64_t token = 1) {
    dns_query q;
    q.token = token;
    q.timeout_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    q.attempt = attempt;
    q.kind = net::query_kind::soa;
    std::string err;
    q.destination =
        *net::parse_destination("127.0.0.1:" + std::to_string(port), err);
    q.qname_wire = *net::name_to_wire("example.com.", err);
    return q;
  }

  /// Waits up to 5 s for a send_error message; {attempt, errno} or
  /// {0, 0} when none came.
  std::pair<uint32_t, int> next_failure() {
    std::pair<uint32_t, int> got{0, 0};
    self->receive(
        [&](send_error_atom, uint32_t attempt, int err) {
          got = {attempt, err};
        },
        caf::after(std::chrono::seconds(5)) >> [] {});
    return got;
  }

  real_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<send_script> script = std::make_shared<send_script>();
  metrics::registry counts; ///< outlives the engine that counts in it
  std::shared_ptr<udp_io_loop> engine;
  std::shared_ptr<query_port> port;
  udp_io_actor udp;

  /// The test's own actor, as the owner of attempts and timers.
  caf::strong_actor_ptr owner() {
    caf::actor a = self;
    return caf::actor_cast<caf::strong_actor_ptr>(a);
  }

  /// Spawns an actor in a request's place that, on a timeout, sleeps
  /// `hold` on the thread that runs it (the UDP thread): the UDP thread is
  /// behind by that much afterwards.
  caf::actor blocker(std::chrono::milliseconds hold) {
    // (The hold is an argument, not a capture: CAF 0.17.6's init function
    // for an actor without arguments dereferences a null shared_ptr.)
    return sys.spawn(
        [](caf::event_based_actor* a,
           std::chrono::milliseconds held) -> caf::behavior {
          return {[=](timeout_atom, uint32_t) {
            std::this_thread::sleep_for(held);
            a->quit();
          }};
        },
        hold);
  }
};

} // namespace

TEST_F(UdpIo, RefusedSendEndsTheAttemptAndTheEngineGoesOn) {
  server_socket server;
  fail_calls({EPERM, EPERM}); // the send and its one more try
  query(1, server.port);
  auto failure = next_failure();
  EXPECT_EQ(failure.first, 1u);
  EXPECT_EQ(failure.second, EPERM);
  EXPECT_EQ(get(counts.udp.send_errors), 1u);
  EXPECT_EQ(get(counts.udp.send_retries), 1u);
  // The next attempt goes out.
  query(2, server.port);
  EXPECT_GT(server.receive(), 12);
}

TEST_F(UdpIo, UnreachableNetworkEndsTheAttempt) {
  server_socket server;
  fail_calls({ENETUNREACH, ENETUNREACH});
  query(1, server.port);
  auto failure = next_failure();
  EXPECT_EQ(failure.first, 1u);
  EXPECT_EQ(failure.second, ENETUNREACH);
}

TEST_F(UdpIo, AnErrorOnceIsTriedAgain) {
  // A pending ICMP error about an earlier datagram is reported by the next
  // send on the socket: that send is tried once more.
  server_socket server;
  fail_calls({ECONNREFUSED});
  query(1, server.port);
  EXPECT_GT(server.receive(), 12);
  EXPECT_EQ(script->calls.load(), 2);
  EXPECT_EQ(get(counts.udp.send_errors), 0u);
  EXPECT_EQ(get(counts.udp.send_retries), 1u) << "seen, though it went";
}

TEST_F(UdpIo, FullSendBufferWaitsForRoom) {
  server_socket server;
  fail_calls({EAGAIN});
  query(1, server.port);
  EXPECT_GT(server.receive(), 12);
  EXPECT_EQ(get(counts.udp.send_waits), 1u);
  EXPECT_EQ(get(counts.udp.send_errors), 0u);
  EXPECT_EQ(get(counts.udp.send_retries), 0u) << "a full buffer is no error";
}

TEST_F(UdpIo, IcmpPortUnreachableEndsTheAttempt) {
  uint16_t closed;
  {
    server_socket gone;
    closed = gone.port;
  }
  query(1, closed);
  auto failure = next_failure();
  EXPECT_EQ(failure.first, 1u);
  EXPECT_EQ(failure.second, ECONNREFUSED);
  EXPECT_EQ(get(counts.udp.icmp_matched), 1u);
  EXPECT_EQ(get(counts.udp.send_errors), 0u);
}

TEST_F(UdpIo, TimerTellsTheOwnerWhenTheAttemptIsDue) {
  server_socket server; // reads nothing, answers nothing
  auto t0 = std::chrono::steady_clock::now();
  query(3, server.port, 50ms);
  uint32_t fired = 0;
  self->receive([&](timeout_atom, uint32_t attempt) { fired = attempt; },
                caf::after(std::chrono::seconds(5)) >> [] {});
  EXPECT_EQ(fired, 3u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
}

TEST_F(UdpIo, TimerOfAReleasedRequestDoesNotFire) {
  server_socket server;
  query(1, server.port, 20ms, 1);
  // The request ended first (through the same queue, so in order).
  port->release(1);
  query(2, server.port, 60ms, 2);
  // The first timeout to arrive is request 2's: request 1's was dropped.
  uint32_t fired = 0;
  self->receive([&](timeout_atom, uint32_t attempt) { fired = attempt; },
                caf::after(std::chrono::seconds(5)) >> [] {});
  EXPECT_EQ(fired, 2u);
}

TEST_F(UdpIo, WokenActorsRunOnTheUdpThreadAndTheirQueriesGoOutAtOnce) {
  // An event-based actor in a request's place: on the timeout of attempt 1
  // it sends attempt 2 through the port, from wherever it runs, and
  // reports the thread it ran on.
  server_socket server;
  caf::actor me = self;
  auto port_ = as_query_port(engine);
  auto port = server.port;
  // (It takes the port as an argument: CAF 0.17.6's init function for an
  // actor without arguments dereferences a null shared_ptr.)
  auto probe = sys.spawn(
      [=](caf::event_based_actor* a,
          std::shared_ptr<query_port> ports) -> caf::behavior {
        return {[=](timeout_atom, uint32_t attempt) {
          char name[16] = {};
          pthread_getname_np(pthread_self(), name, sizeof(name));
          if (attempt == 1)
            ports->query(caf::actor_cast<caf::strong_actor_ptr>(a),
                         make_query(2, port, 20ms));
          a->send(me, std::string(name), attempt);
          if (attempt == 2)
            a->quit();
        }};
      },
      port_);
  port_->query(caf::actor_cast<caf::strong_actor_ptr>(probe),
               make_query(1, port, 20ms));
  std::vector<std::pair<std::string, uint32_t>> seen;
  for (int i = 0; i < 2; ++i)
    self->receive(
        [&](const std::string& thread, uint32_t attempt) {
          seen.emplace_back(thread, attempt);
        },
        // Attempt 2 stuck in the UDP thread's inbox would end up here.
        caf::after(std::chrono::seconds(5)) >> [] {});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("minidns-udp"), 1u));
  EXPECT_EQ(seen[1], std::make_pair(std::string("minidns-udp"), 2u));
  EXPECT_GT(server.receive(), 12);
  EXPECT_GT(server.receive(), 12);
}

TEST_F(UdpIo, TimerLagShowsAfterALateFiringAndClearsOnceItCatchesUp) {
  // The ZeroMQ thread takes no casts while timer_lag_ns() is above 2 ms.
  // A lag kept from the last firing would stay high while the thread
  // sleeps with nothing due, and stop cast intake for good.
  server_socket server;
  EXPECT_EQ(port->timer_lag_ns(), 0); // no timers at all
  // A request in the attempt's place reads the lag when its timeout comes,
  // on the UDP thread, right after the firing.
  caf::actor me = self;
  auto probe = sys.spawn(
      [=](caf::event_based_actor* a,
          std::shared_ptr<query_port> ports) -> caf::behavior {
        return {[=](timeout_atom, uint32_t) {
          a->send(me, ports->timer_lag_ns());
          a->quit();
        }};
      },
      port);
  // The probe's query goes first, with a 30 ms timer; the blocker's 1 ms
  // timer fires before it, and its actor holds the UDP thread 200 ms: the
  // probe's timer fires over 100 ms late, unless this thread stalled 29 ms
  // between the two calls. (With the blocker first, a stall let the UDP
  // thread take the probe only after the blocker ran: a loaded CI machine
  // saw a lag of 4 ms.)
  port->query(caf::actor_cast<caf::strong_actor_ptr>(probe),
              make_query(1, server.port, 30ms, 2));
  port->query(caf::actor_cast<caf::strong_actor_ptr>(blocker(200ms)),
              make_query(1, server.port, 1ms, 1));
  int64_t lag_at_firing = -1;
  self->receive([&](int64_t lag) { lag_at_firing = lag; },
                caf::after(std::chrono::seconds(5)) >> [] {});
  EXPECT_GE(lag_at_firing, 50'000'000) << "the thread was behind";
  EXPECT_GT(server.receive(), 12);
  // Caught up and asleep with nothing due: the lag ends once it has slept
  // a millisecond (it used to stay until the next firing: never).
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (port->timer_lag_ns() != 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_EQ(port->timer_lag_ns(), 0);
}

TEST_F(UdpIo, TimersOfEndedAttemptsAddNoLag) {
  // The blocker's 10 ms timer fires first and holds the UDP thread 150 ms.
  // Attempt A (30 ms timer) has ended by then: its timer stays in the heap
  // until due, and is dropped then. Attempt P (60 ms timer) is overdue
  // too. The lag is P's: A's ended attempt has no deadline to keep
  // (counting it paused cast intake under plain load).
  server_socket a_server, p_server;
  caf::actor me = self;
  auto probe = sys.spawn(
      [=](caf::event_based_actor* a,
          std::shared_ptr<query_port> ports) -> caf::behavior {
        return {[=](timeout_atom, uint32_t) {
          a->send(me, ports->timer_lag_ns(),
                  std::chrono::steady_clock::now().time_since_epoch().count());
          a->quit();
        }};
      },
      port);
  port->query(caf::actor_cast<caf::strong_actor_ptr>(blocker(150ms)),
              make_query(1, a_server.port, 10ms, 3));
  // In this order through the one inbox: A, its end, then P.
  port->query(owner(), make_query(1, a_server.port, 30ms, 1));
  port->release(1);
  auto p_submitted =
      std::chrono::steady_clock::now().time_since_epoch().count();
  port->query(caf::actor_cast<caf::strong_actor_ptr>(probe),
              make_query(1, p_server.port, 60ms, 2));
  int64_t lag = -1, read_at = 0;
  self->receive(
      [&](int64_t l, int64_t at) {
        lag = l;
        read_at = at;
      },
      caf::after(std::chrono::seconds(5)) >> [] {});
  ASSERT_GE(lag, 0) << "P timed out";
  // P's lateness: at most (read time - P's submission - 60 ms). A's is
  // about 30 ms more.
  EXPECT_LE(lag, read_at - p_submitted - 60'000'000);
  EXPECT_GE(lag, 50'000'000) << "P itself fired late";
  EXPECT_GT(a_server.receive(), 12);
  EXPECT_GT(p_server.receive(), 12);
}

TEST_F(UdpIo, APauseTellsTheOwnerToRetryAfterItsDelay) {
  auto t0 = std::chrono::steady_clock::now();
  port->pause(owner(), 5, 2, std::chrono::nanoseconds(30ms).count());
  uint32_t retry = 0;
  self->receive([&](retry_atom, uint32_t attempt) { retry = attempt; },
                caf::after(std::chrono::seconds(5)) >> [] {});
  EXPECT_EQ(retry, 2u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
}

TEST_F(UdpIo, APauseOfAReleasedRequestDoesNotFire) {
  server_socket server;
  port->pause(owner(), 1, 1, std::chrono::nanoseconds(20ms).count());
  port->release(1);
  port->pause(owner(), 2, 7, std::chrono::nanoseconds(60ms).count());
  // The first retry to arrive is request 2's: request 1's was cancelled.
  uint32_t retry = 0;
  self->receive([&](retry_atom, uint32_t attempt) { retry = attempt; },
                caf::after(std::chrono::seconds(5)) >> [] {});
  EXPECT_EQ(retry, 7u);
}
