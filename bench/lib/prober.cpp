#include "bench/lib/prober.hpp"

#include "bench/lib/common.hpp"
#include "bench/lib/zones.hpp"
#include "net/dns_message.hpp"
#include "net/dns_name.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace minidns::bench {

direct_prober::direct_prober(const std::string& dest) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  auto sin = parse_v4(dest);
  if (fd_ < 0 ||
      ::connect(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0)
    die("prober: cannot connect to " + dest);
}

direct_prober::~direct_prober() {
  ::close(fd_);
}

void direct_prober::send(unsigned i) {
  std::string err;
  zone_ = i;
  wire_ = minidns::net::name_to_wire(zone_name(i), err).value_or("");
  id_ = static_cast<uint16_t>(id_ * 31421 + 6927);
  uint8_t buf[minidns::net::max_query_size];
  auto len = minidns::net::build_query(minidns::net::query_kind::soa, id_,
                                       wire_, buf, sizeof(buf));
  sent_ns_ = now_ns();
  outstanding_ = ::send(fd_, buf, len, 0) == static_cast<ssize_t>(len);
}

int64_t direct_prober::receive() {
  int64_t rtt = -1;
  for (;;) {
    uint8_t buf[4096];
    auto n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    int64_t t = now_ns();
    if (n <= 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        problem_ = std::string("recv: ") + std::strerror(errno);
      return rtt;
    }
    if (!outstanding_) {
      problem_ = "a reply with no query outstanding";
      continue;
    }
    auto info =
        minidns::net::check_reply(buf, static_cast<size_t>(n),
                                  {minidns::net::query_kind::soa, id_, wire_});
    if (info.match == minidns::net::reply_match::wrong_id) {
      problem_ = "a late reply to an earlier query";
      continue;
    }
    if (info.match != minidns::net::reply_match::accepted ||
        info.soa != minidns::net::soa_state::found ||
        info.serial != zone_serial(zone_)) {
      problem_ = "reply not accepted (match " +
                 std::to_string(static_cast<int>(info.match)) + ", rcode " +
                 std::to_string(info.rcode) + ", soa " +
                 std::to_string(static_cast<int>(info.soa)) + ", serial " +
                 std::to_string(info.serial) + ")";
      ++bad_;
      continue;
    }
    outstanding_ = false;
    rtt = t - sent_ns_;
  }
}

} // namespace minidns::bench
