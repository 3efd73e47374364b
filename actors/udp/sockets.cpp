#include "actors/udp/sockets.hpp"

#include "net/dns_message.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace minidns {

int open_udp_socket(bool v6, const std::string& source, int buffer) {
  std::string setting = v6 ? "minidns.source-v6" : "minidns.source-v4";
  net::endpoint local;
  local.v6 = v6;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, source.c_str(), local.addr.data()) !=
      1)
    throw std::runtime_error(setting + ": not an IP" + (v6 ? "v6" : "v4") +
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
    throw std::runtime_error(setting + ": cannot bind " + source + ": " +
                             std::strerror(err));
  }
  return fd;
}

std::optional<icmp_error> parse_icmp_error(msghdr& mh, const uint8_t* data,
                                           size_t len) {
  const sock_extended_err* ee = nullptr;
  for (auto* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c))
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
      ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
  auto peer = net::endpoint::from_sockaddr(
      static_cast<const sockaddr*>(mh.msg_name), mh.msg_namelen);
  // The quoted datagram must be one of our queries (QR clear).
  if (ee == nullptr || ee->ee_errno == 0 || !peer || len < 12 ||
      (data[2] & 0x80) != 0)
    return std::nullopt;
  return icmp_error{*peer, net::peek_id(data, len),
                    static_cast<int>(ee->ee_errno)};
}

error_queue read_error_queue(int fd, icmp_error& out) {
  for (;;) {
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
    auto n = ::recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return error_queue::empty;
    }
    auto e = parse_icmp_error(mh, data, static_cast<size_t>(n));
    if (!e)
      return error_queue::foreign;
    out = *e;
    return error_queue::ours;
  }
}

namespace {

/// Replies to queries without EDNS fit in 512 bytes; room for servers that
/// send more anyway, so that a big reply is checked rather than cut.
constexpr size_t recv_buffer = 4096;

} // namespace

struct datagram_reader::state {
  std::vector<uint8_t> storage = std::vector<uint8_t>(batch * recv_buffer);
  mmsghdr msgs[batch];
  iovec iov[batch];
  sockaddr_storage from[batch];
};

datagram_reader::datagram_reader() : st_(std::make_unique<state>()) {}

datagram_reader::~datagram_reader() = default;

size_t datagram_reader::read(int fd) {
  auto& s = *st_;
  for (size_t i = 0; i < batch; ++i) {
    s.iov[i] = {s.storage.data() + i * recv_buffer, recv_buffer};
    s.msgs[i] = {};
    s.msgs[i].msg_hdr.msg_name = &s.from[i];
    s.msgs[i].msg_hdr.msg_namelen = sizeof(s.from[i]);
    s.msgs[i].msg_hdr.msg_iov = &s.iov[i];
    s.msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = ::recvmmsg(fd, s.msgs, batch, MSG_DONTWAIT, nullptr);
  return n <= 0 ? 0 : static_cast<size_t>(n);
}

const uint8_t* datagram_reader::data(size_t i) const {
  return st_->storage.data() + i * recv_buffer;
}

size_t datagram_reader::size(size_t i) const {
  return st_->msgs[i].msg_len;
}

std::optional<net::endpoint> datagram_reader::from(size_t i) const {
  return net::endpoint::from_sockaddr(
      reinterpret_cast<const sockaddr*>(&st_->from[i]),
      st_->msgs[i].msg_hdr.msg_namelen);
}

int wait_events(int epoll_fd, epoll_event* events, int max, int64_t left_ns) {
  // Whether the kernel has epoll_pwait2 (until it says ENOSYS).
  static thread_local bool have_pwait2 = true;
  if (have_pwait2) {
    timespec ts{static_cast<time_t>(left_ns / 1'000'000'000),
                static_cast<long>(left_ns % 1'000'000'000)};
    int n = ::epoll_pwait2(epoll_fd, events, max, left_ns < 0 ? nullptr : &ts,
                           nullptr);
    if (n >= 0 || errno != ENOSYS)
      return n;
    have_pwait2 = false; // an older kernel
  }
  int ms = left_ns < 0 ? -1 : static_cast<int>((left_ns + 999'999) / 1'000'000);
  return ::epoll_wait(epoll_fd, events, max, ms);
}

size_t send_datagrams(int fd, size_t n, const sendmmsg_fn& send,
                      const std::function<datagram_out(size_t)>& at,
                      const std::function<void(size_t)>& left,
                      const std::function<void(size_t, int)>& refused,
                      const std::function<void(size_t, int)>& retried) {
  constexpr size_t batch = 64;
  mmsghdr msgs[batch];
  iovec iov[batch];
  size_t off = 0;
  bool tried_again = false;
  while (off < n) {
    size_t k = std::min(batch, n - off);
    for (size_t i = 0; i < k; ++i) {
      auto d = at(off + i);
      iov[i] = {const_cast<void*>(d.data), d.len};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = const_cast<void*>(d.to);
      msgs[i].msg_hdr.msg_namelen = d.to_len;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = send ? send(fd, msgs, static_cast<unsigned>(k))
                 : ::sendmmsg(fd, msgs, static_cast<unsigned>(k), 0);
    if (r > 0) {
      for (size_t i = off; i < off + static_cast<size_t>(r); ++i)
        left(i);
      off += static_cast<size_t>(r);
      tried_again = false;
      continue;
    }
    int err = r < 0 ? errno : EIO;
    if (err == EINTR)
      continue;
    if (err == EAGAIN || err == EWOULDBLOCK)
      return off;
    if (!tried_again) {
      tried_again = true;
      if (retried)
        retried(off, err);
      continue;
    }
    tried_again = false;
    refused(off, err);
    ++off;
  }
  return n;
}

} // namespace minidns
