#include "actors/udp/tcp.hpp"

#include "actors/udp/stream_framer.hpp"

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

/// One connection to one destination.
struct conn {
  int fd = -1;
  net::endpoint dest;
  bool connected = false;
  bool watching_out = false;
  std::string out; ///< framed queries not yet written
  size_t out_off = 0;
  stream_framer in;
  std::unordered_map<uint16_t, tcp_waiter> waiting; ///< by query ID
  tcp_pool::time_point idle_since;
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
  if (src_len > 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&src), src_len))
    return ::close(fd), -errno;
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
  on_reply reply;
  on_failure failure;
  std::vector<conn> slots;
  std::vector<uint32_t> free;
  std::unordered_map<net::endpoint, std::vector<uint32_t>, net::endpoint_hash>
      by_dest;
  size_t open = 0;

  void watch(uint32_t slot, bool out, int op) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u32 = base + slot;
    ::epoll_ctl(epoll, op, slots[slot].fd, &ev);
    slots[slot].watching_out = out;
  }

  /// Closes `slot`; the queries waiting on it fail with `err` (0: none
  /// should be waiting).
  void close(uint32_t slot, int err) {
    auto& c = slots[slot];
    auto waiting = std::move(c.waiting);
    ::close(c.fd);
    auto& list = by_dest[c.dest];
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i] == slot) {
        list[i] = list.back();
        list.pop_back();
        break;
      }
    if (list.empty())
      by_dest.erase(c.dest);
    c = conn{};
    free.push_back(slot);
    --open;
    for (auto& [id, w] : waiting)
      failure(w, err);
  }

  /// Writes what `slot` has queued; false when the connection failed.
  bool flush(uint32_t slot) {
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
        if (!c.watching_out)
          watch(slot, true, EPOLL_CTL_MOD);
        return true;
      }
      close(slot, n < 0 ? errno : ECONNRESET);
      return false;
    }
    c.out.clear();
    c.out_off = 0;
    if (c.watching_out)
      watch(slot, false, EPOLL_CTL_MOD);
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
        slots[slot].in.feed(buf, static_cast<size_t>(n));
        deliver(slot, now);
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      // The server closed (or reset) the connection: a short read fails
      // the queries still waiting; an idle close fails none.
      close(slot, n < 0 ? errno : ECONNRESET);
      return;
    }
  }

  void deliver(uint32_t slot, time_point now) {
    auto& c = slots[slot];
    bool delivered = false;
    std::string_view msg;
    while (c.in.next(msg)) {
      if (msg.size() < 2)
        continue; // not a DNS message: nothing to match
      auto id = static_cast<uint16_t>(static_cast<uint8_t>(msg[0]) << 8 |
                                      static_cast<uint8_t>(msg[1]));
      auto i = c.waiting.find(id);
      if (i == c.waiting.end())
        continue; // unasked, or asked by a request that moved on
      auto w = i->second;
      c.waiting.erase(i);
      delivered = true;
      reply(w, id, msg);
    }
    c.in.compact();
    if (c.waiting.empty() && delivered)
      c.idle_since = now;
  }
};

tcp_pool::tcp_pool(options opts, int epoll_fd, uint32_t tag_base,
                   on_reply reply, on_failure failure)
    : st_(std::make_unique<state>()) {
  st_->opts = std::move(opts);
  st_->epoll = epoll_fd;
  st_->base = tag_base;
  st_->reply = std::move(reply);
  st_->failure = std::move(failure);
}

tcp_pool::~tcp_pool() {
  for (auto& c : st_->slots)
    if (c.fd >= 0)
      ::close(c.fd);
}

bool tcp_pool::send(const net::endpoint& dest, const std::string& qname,
                    const tcp_waiter& w, const std::function<uint16_t()>& id16,
                    time_point now, int& err) {
  auto& s = *st_;
  // The least busy connection to `dest`; a new one while all are busy and
  // there may be more.
  auto& list = s.by_dest[dest];
  int best = -1;
  for (auto slot : list)
    if (best < 0 || s.slots[slot].waiting.size() <
                        s.slots[static_cast<uint32_t>(best)].waiting.size())
      best = static_cast<int>(slot);
  if (best < 0 || (!s.slots[static_cast<uint32_t>(best)].waiting.empty() &&
                   list.size() < s.opts.max_per_destination)) {
    int fd =
        open_connection(dest, dest.v6 ? s.opts.source_v6 : s.opts.source_v4);
    if (fd < 0) {
      if (list.empty())
        s.by_dest.erase(dest);
      err = -fd;
      return false;
    }
    uint32_t slot;
    if (!s.free.empty()) {
      slot = s.free.back();
      s.free.pop_back();
    } else {
      slot = static_cast<uint32_t>(s.slots.size());
      s.slots.emplace_back();
    }
    auto& c = s.slots[slot];
    c.fd = fd;
    c.dest = dest;
    c.idle_since = now;
    ++s.open;
    s.by_dest[dest].push_back(slot);
    s.watch(slot, true, EPOLL_CTL_ADD); // EPOLLOUT: connected
    best = static_cast<int>(slot);
  }
  auto slot = static_cast<uint32_t>(best);
  auto& c = s.slots[slot];
  uint16_t id = 0;
  bool found = false;
  for (int tries = 0; tries < 32 && !found; ++tries) {
    id = id16();
    found = c.waiting.count(id) == 0;
  }
  if (!found) {
    err = EADDRINUSE;
    return false;
  }
  uint8_t query[net::max_query_size];
  auto len = net::build_query(w.kind, id, qname, query, sizeof(query));
  if (len == 0 || !append_framed(c.out, query, len)) {
    err = EMSGSIZE;
    return false;
  }
  c.waiting.emplace(id, w);
  if (c.connected)
    s.flush(slot);
  return true;
}

bool tcp_pool::owns(uint32_t tag) const {
  return tag >= st_->base && tag - st_->base < st_->slots.size();
}

void tcp_pool::handle(uint32_t tag, uint32_t events, time_point now) {
  auto& s = *st_;
  auto slot = tag - s.base;
  if (s.slots[slot].fd < 0)
    return; // closed earlier in this batch of events
  if (!s.slots[slot].connected) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      return;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(s.slots[slot].fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      s.close(slot, err);
      return;
    }
    s.slots[slot].connected = true;
    if (!s.flush(slot))
      return;
  } else if (events & EPOLLOUT) {
    if (!s.flush(slot))
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
      s.close(slot, 0);
  }
}

size_t tcp_pool::connections() const {
  return st_->open;
}

} // namespace minidns
