#include "tcp_responder.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace minidns::it {

namespace {

void put16(std::string& out, unsigned v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void put32(std::string& out, uint32_t v) {
  put16(out, v >> 16);
  put16(out, v & 0xffff);
}

/// The end of the question that starts at byte 12 of `q`, or 0.
size_t question_end(const std::string& q) {
  size_t i = 12;
  while (i < q.size()) {
    auto len = static_cast<uint8_t>(q[i]);
    if (len == 0)
      return i + 5 <= q.size() ? i + 5 : 0;
    if (len >= 64)
      return 0;
    i += 1 + len;
  }
  return 0;
}

/// The answer to query `q`: QR and AA set, the question copied, and for
/// an SOA query one SOA record with `serial`. Empty for a bad query.
std::string answer(const std::string& q, uint32_t serial) {
  auto end = question_end(q);
  if (end == 0)
    return {};
  auto opcode = (static_cast<uint8_t>(q[2]) >> 3) & 0xf;
  bool soa = opcode == 0;
  std::string out = q.substr(0, 2);
  put16(out, 0x8000 | opcode << 11 | 0x0400); // QR, opcode, AA
  put16(out, 1);
  put16(out, soa ? 1 : 0);
  put16(out, 0);
  put16(out, 0);
  out += q.substr(12, end - 12);
  if (soa) {
    put16(out, 0xc00c); // the zone's name
    put16(out, 6);
    put16(out, 1);
    put32(out, 3600);
    std::string rdata = std::string("\x02ns\x00", 4) + "\x01h" + '\0';
    put32(rdata, serial);
    for (int i = 0; i < 4; ++i)
      put32(rdata, 3600);
    put16(out, static_cast<unsigned>(rdata.size()));
    out += rdata;
  }
  return out;
}

void send_framed(int fd, const std::string& msg) {
  std::string out;
  put16(out, static_cast<unsigned>(msg.size()));
  out += msg;
  (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
}

} // namespace

tcp_responder::tcp_responder(uint16_t port, mode m, uint32_t serial)
    : mode_(m), serial_(serial) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("tcp_responder: ") +
                             std::strerror(errno));
  }
  socklen_t len = sizeof(a);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

tcp_responder::~tcp_responder() {
  uint64_t one = 1;
  (void)::write(stop_fd_, &one, sizeof(one));
  thread_.join();
  ::close(stop_fd_);
  ::close(listen_fd_);
}

std::string tcp_responder::destination() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void tcp_responder::run() {
  struct client {
    int fd;
    std::string in;
    bool first; ///< the first connection accepted
  };
  std::vector<client> clients;
  for (;;) {
    std::vector<pollfd> fds{{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (auto& c : clients)
      fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
      break;
    if (fds[0].revents)
      break;
    size_t polled = clients.size();
    if (fds[1].revents & POLLIN) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        clients.push_back({fd, {}, connections_.fetch_add(1) == 0});
        ++open_;
      }
    }
    for (size_t i = 0; i < polled; ++i) {
      if (!(fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      auto& c = clients[i];
      char buf[4096];
      auto n = ::recv(c.fd, buf, sizeof(buf), 0);
      bool close_it = n <= 0;
      if (n > 0)
        c.in.append(buf, static_cast<size_t>(n));
      while (!close_it && c.in.size() >= 2) {
        size_t len =
            static_cast<uint8_t>(c.in[0]) << 8 | static_cast<uint8_t>(c.in[1]);
        if (c.in.size() < 2 + len)
          break;
        auto q = c.in.substr(2, len);
        c.in.erase(0, 2 + len);
        ++queries_;
        if (mode_ == mode::silent)
          continue;
        if (mode_ == mode::close_first && c.first) {
          close_it = true;
          break;
        }
        if (mode_ == mode::garbage_first)
          send_framed(c.fd, q); // the query itself: QR clear
        send_framed(c.fd, answer(q, serial_));
      }
      if (close_it) {
        ::close(c.fd);
        --open_;
        clients[i].fd = -1;
      }
    }
    std::vector<client> kept;
    for (auto& c : clients)
      if (c.fd >= 0)
        kept.push_back(std::move(c));
    clients = std::move(kept);
  }
  for (auto& c : clients)
    ::close(c.fd);
}

} // namespace minidns::it
