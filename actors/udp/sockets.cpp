#include "actors/udp/sockets.hpp"

#include "net/dns_message.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

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

} // namespace minidns
