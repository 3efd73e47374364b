#include "actors/udp/tcp.hpp"

#include "actors/udp/stream_framer.hpp"
#include "net/tsig.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace minidns {

namespace {

using time_point = tcp_pool::time_point;

// An epoll tag is base | generation << 20 | slot: an event read in the
// same batch as its connection's close must not reach the connection that
// reuses the slot.
constexpr uint32_t slot_bits = 20;
constexpr uint32_t slot_mask = (1u << slot_bits) - 1;
constexpr uint32_t gen_mask = (1u << (30 - slot_bits)) - 1;
constexpr uint32_t base_mask = ~((1u << 30) - 1);

/// A query waiting for its reply.
struct pending {
  tcp_waiter w;
  time_point sent_at;
  bool retried = false; ///< asked again once after a server's close
};

/// One connection to one destination.
struct conn {
  int fd = -1;
  uint32_t gen = 0;
  net::endpoint dest;
  bool connected = false;
  bool watching_out = false;
  bool dead = false;   ///< silent: no new queries, closes once empty
  bool queued = false; ///< in the list of connections to flush
  std::string out;     ///< framed queries not yet written
  size_t out_off = 0;
  stream_framer in;
  std::unordered_map<uint16_t, pending> waiting; ///< by query ID
  time_point idle_since;
  time_point heard = time_point::min(); ///< last bytes from the server
};

/// A non-blocking TCP socket bound to `source` (port 0) and connecting to
/// `dest`; -errno on failure.
int open_connection(const net::endpoint& dest, const std::string& source) {
  int family = dest.v6 ? AF_INET6 : AF_INET;
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // The port is chosen at connect(), per destination: binding the source
  // address alone must not use up the ephemeral ports.
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  sockaddr_storage src{};
  socklen_t src_len = 0;
  if (dest.v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&src);
    a->sin6_family = AF_INET6;
    src_len = sizeof(*a);
    if (::inet_pton(AF_INET6, source.c_str(), &a->sin6_addr) != 1)
      src_len = 0;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&src);
    a->sin_family = AF_INET;
    src_len = sizeof(*a);
    if (::inet_pton(AF_INET, source.c_str(), &a->sin_addr) != 1)
      src_len = 0;
  }
  // The same source address as the UDP queries: servers allow by address.
  if (src_len > 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&src), src_len)) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  sockaddr_storage to{};
  auto to_len = dest.to_sockaddr(to);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), to_len) != 0 &&
      errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

} // namespace

struct tcp_pool::state {
  options opts;
  int epoll = -1;
  uint32_t base = 0;
  id_source ids;
  query_builder build;
  on_reply reply;
  on_failure failure;
  std::vector<conn> slots;
  std::vector<uint32_t> free;
  std::unordered_map<net::endpoint, std::vector<uint32_t>, net::endpoint_hash>
      by_dest;
  /// Where each request's query waits: (slot, ID).
  std::unordered_map<uint64_t, std::pair<uint32_t, uint16_t>> by_token;
  std::vector<uint32_t> dirty; ///< connections with queries to write
  size_t open = 0;

  uint32_t tag(uint32_t slot) const {
    return base | (slots[slot].gen & gen_mask) << slot_bits | slot;
  }

  /// Watches `slot` for replies (and for room to write, with `out`).
  bool watch(uint32_t slot, bool out, int op) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u32 = tag(slot);
    if (::epoll_ctl(epoll, op, slots[slot].fd, &ev) != 0)
      return false;
    slots[slot].watching_out = out;
    return true;
  }

  void forget_token(const pending& p, uint32_t slot, uint16_t id) {
    auto i = by_token.find(p.w.token);
    if (i != by_token.end() && i->second.first == slot &&
        i->second.second == id)
      by_token.erase(i);
  }

  /// Closes `slot`. Its waiting queries fail with `err`; with `retry`
  /// (the server closed a working connection), those not yet asked again
  /// are asked again once on another connection.
  void close(uint32_t slot, int err, bool retry, time_point now) {
    auto& c = slots[slot];
    auto waiting = std::move(c.waiting);
    auto dest = c.dest;
    ::close(c.fd);
    auto& list = by_dest[dest];
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i] == slot) {
        list[i] = list.back();
        list.pop_back();
        break;
      }
    if (list.empty())
      by_dest.erase(dest);
    auto gen = c.gen + 1;
    c = conn{};
    c.gen = gen;
    free.push_back(slot);
    --open;
    for (auto& [id, p] : waiting) {
      forget_token(p, slot, id);
      int again = err;
      if (retry && !p.retried && enqueue(dest, p.w, true, now, again))
        continue;
      failure(p.w, again);
    }
  }

  /// A connection to `dest` with room for a query, opened if need be;
  /// -1 with `err` set when there is none.
  int pick(const net::endpoint& dest, time_point now, int& err) {
    auto& list = by_dest[dest];
    int best = -1;
    for (auto slot : list) {
      auto& c = slots[slot];
      if (c.dead)
        continue;
      if (best < 0 ||
          c.waiting.size() < slots[static_cast<uint32_t>(best)].waiting.size())
        best = static_cast<int>(slot);
    }
    bool busy =
        best >= 0 && !slots[static_cast<uint32_t>(best)].waiting.empty();
    if ((best < 0 || busy) && list.size() < opts.max_per_destination) {
      int fd = open_connection(dest, dest.v6 ? opts.source_v6 : opts.source_v4);
      if (fd >= 0) {
        uint32_t slot;
        if (!free.empty()) {
          slot = free.back();
          free.pop_back();
        } else {
          slot = static_cast<uint32_t>(slots.size());
          slots.emplace_back();
        }
        auto& c = slots[slot];
        c.fd = fd;
        c.dest = dest;
        c.idle_since = now;
        if (slot > slot_mask || !watch(slot, true, EPOLL_CTL_ADD)) {
          ::close(fd);
          c.fd = -1;
          free.push_back(slot);
          fd = -(slot > slot_mask ? EMFILE : errno);
        } else {
          ++open;
          by_dest[dest].push_back(slot); // `list` may have moved
          return static_cast<int>(slot);
        }
      }
      if (best < 0) { // a busy connection beats none
        if (by_dest[dest].empty())
          by_dest.erase(dest);
        err = -fd;
        return -1;
      }
    }
    if (best < 0) {
      err = ENOBUFS; // every connection is silent
      return -1;
    }
    if (slots[static_cast<uint32_t>(best)].waiting.size() >=
        opts.max_pipelined) {
      err = ENOBUFS;
      return -1;
    }
    return best;
  }

  /// Queues a query for `w` (see tcp_pool::send).
  bool enqueue(const net::endpoint& dest, const tcp_waiter& w, bool retried,
               time_point now, int& err) {
    int picked = pick(dest, now, err);
    if (picked < 0)
      return false;
    auto slot = static_cast<uint32_t>(picked);
    auto& c = slots[slot];
    uint16_t id = 0;
    bool found = false;
    for (int tries = 0; tries < 32 && !found; ++tries) {
      id = ids();
      found = c.waiting.count(id) == 0;
    }
    if (!found) {
      err = EADDRINUSE;
      return false;
    }
    uint8_t query[net::max_query_size + net::max_tsig_size];
    auto len = build(w, id, query, sizeof(query));
    if (len == 0 || !append_framed(c.out, query, len)) {
      err = EMSGSIZE;
      return false;
    }
    c.waiting.emplace(id, pending{w, now, retried});
    by_token[w.token] = {slot, id};
    if (!c.queued) {
      c.queued = true;
      dirty.push_back(slot);
    }
    return true;
  }

  /// Writes what `slot` has queued; false when the connection failed.
  bool write(uint32_t slot, time_point now) {
    auto& c = slots[slot];
    while (c.out_off < c.out.size()) {
      auto n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                      MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!c.watching_out && !watch(slot, true, EPOLL_CTL_MOD)) {
          close(slot, errno, false, now);
          return false;
        }
        return true;
      }
      close(slot, n < 0 ? errno : ECONNRESET, true, now);
      return false;
    }
    c.out.clear();
    c.out_off = 0;
    if (c.watching_out && !watch(slot, false, EPOLL_CTL_MOD)) {
      close(slot, errno, false, now);
      return false;
    }
    return true;
  }

  /// Reads what `slot` holds and hands out whole replies.
  void read(uint32_t slot, time_point now) {
    uint8_t buf[16384];
    // A few reads per wake-up: a server that streams bytes must not hold
    // the UDP thread (epoll is level-triggered: the rest comes next turn).
    for (int round = 0; round < 4; ++round) {
      auto n = ::recv(slots[slot].fd, buf, sizeof(buf), 0);
      if (n > 0) {
        slots[slot].heard = now;
        slots[slot].in.feed(buf, static_cast<size_t>(n));
        if (!deliver(slot, now))
          return;
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      // The server closed (or reset) the connection: the queries still
      // waiting are asked again once elsewhere; an idle close loses none.
      close(slot, n < 0 ? errno : ECONNRESET, true, now);
      return;
    }
  }

  /// Hands out the whole replies `slot` holds; false when it closed.
  bool deliver(uint32_t slot, time_point now) {
    auto& c = slots[slot];
    std::string_view msg;
    while (c.in.next(msg)) {
      if (msg.size() < 2)
        continue; // not a DNS message: nothing to match
      auto id = static_cast<uint16_t>(static_cast<uint8_t>(msg[0]) << 8 |
                                      static_cast<uint8_t>(msg[1]));
      auto i = c.waiting.find(id);
      if (i == c.waiting.end())
        continue; // unasked, or asked by a request that moved on
      if (!reply(i->second.w, id, msg))
        continue; // not its reply: the real one may follow
      forget_token(i->second, slot, id);
      c.waiting.erase(i);
      if (c.waiting.empty())
        c.idle_since = now;
    }
    c.in.compact();
    if (c.dead && c.waiting.empty()) {
      close(slot, 0, false, now);
      return false;
    }
    return true;
  }
};

tcp_pool::tcp_pool(options opts, int epoll_fd, uint32_t tag_base, id_source ids,
                   query_builder build, on_reply reply, on_failure failure)
    : st_(std::make_unique<state>()) {
  st_->opts = std::move(opts);
  st_->epoll = epoll_fd;
  st_->base = tag_base & base_mask;
  st_->ids = std::move(ids);
  st_->build = std::move(build);
  st_->reply = std::move(reply);
  st_->failure = std::move(failure);
}

tcp_pool::~tcp_pool() {
  for (auto& c : st_->slots)
    if (c.fd >= 0)
      ::close(c.fd);
}

bool tcp_pool::send(const net::endpoint& dest, const tcp_waiter& w,
                    time_point now, int& err) {
  cancel(w.token, 0, false, now);
  return st_->enqueue(dest, w, false, now, err);
}

void tcp_pool::cancel(uint64_t token, uint32_t attempt, bool timed_out,
                      time_point now) {
  auto& s = *st_;
  if (s.by_token.empty())
    return;
  auto i = s.by_token.find(token);
  if (i == s.by_token.end())
    return;
  auto [slot, id] = i->second;
  auto& c = s.slots[slot];
  auto p = c.waiting.find(id);
  if (p == c.waiting.end() || p->second.w.token != token) {
    s.by_token.erase(i); // stale
    return;
  }
  if (attempt != 0 && p->second.w.attempt != attempt)
    return; // an earlier attempt's timer
  // Not a word from the server since this query left: the connection (or
  // the server behind it) is stuck. New queries go elsewhere.
  if (timed_out && c.heard < p->second.sent_at)
    c.dead = true;
  c.waiting.erase(p);
  s.by_token.erase(i);
  if (!c.waiting.empty())
    return;
  c.idle_since = now;
  if (c.dead)
    s.close(slot, 0, false, now);
}

void tcp_pool::flush() {
  auto& s = *st_;
  if (s.dirty.empty())
    return;
  auto now = std::chrono::steady_clock::now();
  auto dirty = std::move(s.dirty);
  s.dirty.clear();
  for (auto slot : dirty) {
    auto& c = s.slots[slot];
    c.queued = false;
    if (c.fd >= 0 && c.connected)
      s.write(slot, now);
  }
}

bool tcp_pool::owns(uint32_t tag) const {
  return (tag & base_mask) == st_->base;
}

void tcp_pool::handle(uint32_t tag, uint32_t events, time_point now) {
  auto& s = *st_;
  auto slot = tag & slot_mask;
  if (slot >= s.slots.size() || s.slots[slot].fd < 0 || s.tag(slot) != tag)
    return; // closed earlier in this batch of events (and maybe reused)
  if (!s.slots[slot].connected) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      return;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(s.slots[slot].fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      s.close(slot, err, false, now); // refused: asking again won't help
      return;
    }
    s.slots[slot].connected = true;
    if (!s.write(slot, now))
      return;
  } else if (events & EPOLLOUT) {
    if (!s.write(slot, now))
      return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    s.read(slot, now);
}

std::optional<tcp_pool::time_point> tcp_pool::next_due() const {
  std::optional<time_point> next;
  if (st_->open == 0)
    return next;
  for (auto& c : st_->slots)
    if (c.fd >= 0 && c.waiting.empty() && c.out.empty()) {
      auto at = c.idle_since + st_->opts.idle;
      if (!next || at < *next)
        next = at;
    }
  return next;
}

void tcp_pool::close_idle(time_point now) {
  auto& s = *st_;
  if (s.open == 0)
    return;
  for (uint32_t slot = 0; slot < s.slots.size(); ++slot) {
    auto& c = s.slots[slot];
    if (c.fd >= 0 && c.waiting.empty() && c.out.empty() &&
        c.idle_since + s.opts.idle <= now)
      s.close(slot, 0, false, now);
  }
}

size_t tcp_pool::connections() const {
  return st_->open;
}

size_t tcp_pool::waiting() const {
  return st_->by_token.size();
}

} // namespace minidns
