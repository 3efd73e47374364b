#include "responder.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace minidns::it {

namespace {

constexpr uint16_t flag_qr = 0x8000;
constexpr uint16_t flag_aa = 0x0400;
constexpr uint16_t flag_tc = 0x0200;
constexpr uint16_t flag_rd = 0x0100;
constexpr uint16_t flag_ra = 0x0080;
constexpr uint8_t opcode_notify = 4;

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

/// Opens a UDP socket bound to the loopback address of the family (or to
/// 127.0.0.`v4_host`) on `port` (0: an ephemeral one, stored in `port`);
/// returns -1 (errno set) on failure.
int open_loopback(bool v6, uint16_t& port, uint8_t v4_host = 1) {
  int fd = ::socket(v6 ? AF_INET6 : AF_INET,
                    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    int on = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_addr = in6addr_loopback;
    sa->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(0x7f000000u | v4_host);
    sa->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  // Big bursts of queries (10,000 polls) must not be dropped here.
  int buffer = 8 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer)) !=
      0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  socklen_t got = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &got);
  port = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
            : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

/// Reads the uncompressed question name at `pos`; appends its presentation
/// form to `text` and sets `end` after it. False when malformed.
bool read_qname(const uint8_t* data, size_t len, size_t pos, std::string& text,
                size_t& end) {
  for (;;) {
    if (pos >= len)
      return false;
    uint8_t l = data[pos];
    if (l == 0) {
      if (text.empty())
        text = ".";
      end = pos + 1;
      return true;
    }
    if ((l & 0xC0) != 0 || pos + 1 + l > len)
      return false;
    for (size_t k = 0; k < l; ++k) {
      auto c = static_cast<unsigned char>(data[pos + 1 + k]);
      if (c == '.' || c == '\\') {
        text += '\\';
        text += static_cast<char>(c);
      } else if (c < 0x21 || c > 0x7e) {
        char buf[5];
        std::snprintf(buf, sizeof(buf), "\\%03u", c);
        text += buf;
      } else {
        text += static_cast<char>(c);
      }
    }
    text += '.';
    pos += 1 + l;
  }
}

} // namespace

std::string canonical_zone(const std::string& zone) {
  std::string out;
  out.reserve(zone.size() + 1);
  for (char c : zone)
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.empty() || out.back() != '.')
    out += '.';
  return out;
}

responder::responder(bool ipv6) : v6_(ipv6) {
  fd_ = open_loopback(v6_, port_);
  if (fd_ < 0)
    throw std::runtime_error(std::string("responder: cannot bind ") +
                             (v6_ ? "[::1]" : "127.0.0.1") + ": " +
                             std::strerror(errno));
  uint16_t spoof_port = 0;
  spoof_fd_ = open_loopback(v6_, spoof_port);
  if (!v6_) {
    uint16_t same_port = port_;
    other_addr_fd_ = open_loopback(false, same_port, 2);
  }
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (spoof_fd_ < 0 || stop_fd_ < 0) {
    int err = errno;
    ::close(fd_);
    if (spoof_fd_ >= 0)
      ::close(spoof_fd_);
    throw std::runtime_error(std::string("responder: ") + std::strerror(err));
  }
  thread_ = std::thread([this] { run(); });
}

responder::~responder() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof(one));
  if (thread_.joinable())
    thread_.join();
  ::close(fd_);
  ::close(spoof_fd_);
  if (other_addr_fd_ >= 0)
    ::close(other_addr_fd_);
  ::close(stop_fd_);
}

bool responder::ipv6_available() {
  uint16_t port = 0;
  int fd = open_loopback(true, port);
  if (fd < 0)
    return false;
  ::close(fd);
  return true;
}

std::string responder::destination() const {
  return v6_ ? "[::1]:" + std::to_string(port_)
             : "127.0.0.1:" + std::to_string(port_);
}

void responder::script(const std::string& zone, zone_script s) {
  std::lock_guard<std::mutex> guard{mtx_};
  scripts_[canonical_zone(zone)] = std::move(s);
}

void responder::default_script(zone_script s) {
  std::lock_guard<std::mutex> guard{mtx_};
  default_ = std::move(s);
}

std::vector<query_record> responder::queries() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queries_;
}

std::vector<query_record>
responder::queries_for(const std::string& zone) const {
  auto key = canonical_zone(zone);
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<query_record> out;
  for (const auto& q : queries_)
    if (!q.qname.empty() && canonical_zone(q.qname) == key)
      out.push_back(q);
  return out;
}

size_t responder::count() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queries_.size();
}

size_t responder::count_for(const std::string& zone) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = per_zone_.find(canonical_zone(zone));
  return i == per_zone_.end() ? 0 : i->second;
}

bool responder::wait_for_count(size_t n,
                               std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock{mtx_};
  return cv_.wait_for(lock, timeout, [&] { return queries_.size() >= n; });
}

bool responder::wait_for_count(const std::string& zone, size_t n,
                               std::chrono::milliseconds timeout) const {
  auto key = canonical_zone(zone);
  std::unique_lock<std::mutex> lock{mtx_};
  return cv_.wait_for(lock, timeout, [&] {
    auto i = per_zone_.find(key);
    return i != per_zone_.end() && i->second >= n;
  });
}

void responder::send_due() {
  auto now = std::chrono::steady_clock::now();
  auto due =
      std::stable_partition(delayed_.begin(), delayed_.end(),
                            [&](const delayed& d) { return d.due > now; });
  for (auto i = due; i != delayed_.end(); ++i)
    ::sendto(i->fd, i->msg.data(), i->msg.size(), 0,
             reinterpret_cast<const sockaddr*>(i->to.data()),
             static_cast<socklen_t>(i->to.size()));
  delayed_.erase(due, delayed_.end());
}

void responder::run() {
  uint8_t buf[4096];
  for (;;) {
    send_due();
    int wait_ms = -1;
    if (!delayed_.empty()) {
      auto next = std::min_element(delayed_.begin(), delayed_.end(),
                                   [](const delayed& a, const delayed& b) {
                                     return a.due < b.due;
                                   })
                      ->due;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      next - std::chrono::steady_clock::now())
                      .count();
      wait_ms = static_cast<int>(std::max<long long>(left + 1, 0));
    }
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, wait_ms);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[1].revents != 0)
      return;
    for (;;) {
      sockaddr_storage from{};
      iovec iov{buf, sizeof(buf)};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
      msghdr mh{};
      mh.msg_name = &from;
      mh.msg_namelen = sizeof(from);
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = control;
      mh.msg_controllen = sizeof(control);
      auto got = ::recvmsg(fd_, &mh, MSG_DONTWAIT);
      if (got < 0)
        break;
      auto wire = std::chrono::system_clock::now();
      for (auto* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts;
          std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
          wire = std::chrono::system_clock::time_point(
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  std::chrono::seconds(ts.tv_sec) +
                  std::chrono::nanoseconds(ts.tv_nsec)));
        }
      handle(buf, static_cast<size_t>(got), &from, mh.msg_namelen, wire);
    }
  }
}

void responder::handle(const uint8_t* data, size_t len, const void* from,
                       unsigned from_len,
                       std::chrono::system_clock::time_point wire) {
  query_record q;
  q.when = std::chrono::steady_clock::now();
  q.wire_time = wire;
  q.raw.assign(reinterpret_cast<const char*>(data), len);
  const auto* sa = static_cast<const sockaddr*>(from);
  q.source_port =
      sa->sa_family == AF_INET6
          ? ntohs(reinterpret_cast<const sockaddr_in6*>(from)->sin6_port)
          : ntohs(reinterpret_cast<const sockaddr_in*>(from)->sin_port);
  size_t question_end = 0;
  bool parsed = false;
  if (len >= 12) {
    q.id = get16(data);
    q.flags = get16(data + 2);
    q.qr = (q.flags & flag_qr) != 0;
    q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0xf);
    q.aa = (q.flags & flag_aa) != 0;
    q.tc = (q.flags & flag_tc) != 0;
    q.rd = (q.flags & flag_rd) != 0;
    q.ra = (q.flags & flag_ra) != 0;
    q.rcode = static_cast<uint8_t>(q.flags & 0xf);
    q.qdcount = get16(data + 4);
    q.ancount = get16(data + 6);
    q.nscount = get16(data + 8);
    q.arcount = get16(data + 10);
    size_t name_end = 0;
    if (q.qdcount >= 1 && read_qname(data, len, 12, q.qname, name_end) &&
        name_end + 4 <= len) {
      q.qtype = get16(data + name_end);
      q.qclass = get16(data + name_end + 2);
      question_end = name_end + 4;
      parsed = true;
    } else {
      q.qname.clear();
    }
  }

  zone_script s;
  size_t nth = 0; // 1-based count of queries for this zone, this one included
  uint16_t wrong_id = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queries_.push_back(q);
    if (parsed) {
      auto key = canonical_zone(q.qname);
      nth = ++per_zone_[key];
      auto i = scripts_.find(key);
      s = i != scripts_.end() ? i->second : default_;
      // A wrong ID that no query seen so far used, so that it cannot
      // match an earlier attempt by chance.
      wrong_id = static_cast<uint16_t>(q.id ^ 0x5a5a);
      for (bool clash = true; clash;) {
        clash = false;
        for (const auto& earlier : queries_)
          if (earlier.id == wrong_id) {
            ++wrong_id;
            clash = true;
            break;
          }
      }
    }
  }
  cv_.notify_all();
  if (!parsed || s.silent || nth <= s.drop_first)
    return;

  const bool notify = q.opcode == opcode_notify;
  enum class flaw { none, question, no_qr, opcode };
  auto build = [&](uint16_t id, uint32_t serial, flaw f = flaw::none) {
    std::string out;
    uint8_t rcode = s.rcode ? *s.rcode : notify ? s.notify_rcode : 0;
    bool with_question = !(s.rcode && s.strip_question);
    uint16_t soas =
        notify || s.rcode ? 0 : static_cast<uint16_t>(s.soa_records);
    uint8_t opcode = f == flaw::opcode ? (notify ? 0 : 4) : q.opcode;
    uint16_t flags = static_cast<uint16_t>(
        (f == flaw::no_qr ? 0 : flag_qr) | (opcode << 11) |
        (s.aa ? flag_aa : 0) | (s.tc ? flag_tc : 0) | (rcode & 0xf));
    put16(out, id);
    put16(out, flags);
    put16(out, with_question ? 1 : 0);
    put16(out, soas);
    put16(out, 0);
    put16(out, 0);
    if (with_question) {
      std::string question = q.raw.substr(12, question_end - 12);
      // Another zone: change the first octet of the first label (to a
      // letter that differs in any case). The root has no label to change:
      // append one.
      if (f == flaw::question) {
        if (question[0] == 0)
          question.insert(0, "\x01x");
        else
          question[1] = (question[1] == 'q' || question[1] == 'Q') ? 'z' : 'q';
      }
      out.append(question);
    }
    for (uint16_t k = 0; k < soas; ++k) {
      // Owner: a pointer to the question's name; MNAME and RNAME compressed
      // against it too.
      put16(out, 0xC00C);
      put16(out, 6); // SOA
      put16(out, 1); // IN
      put32(out, 3600);
      std::string rdata;
      rdata += "\x03ns1";
      put16(rdata, 0xC00C);
      rdata += "\x0ahostmaster";
      put16(rdata, 0xC00C);
      put32(rdata, serial);
      put32(rdata, 7200);
      put32(rdata, 3600);
      put32(rdata, 1209600);
      put32(rdata, 300);
      put16(out, static_cast<uint16_t>(rdata.size()));
      out += rdata;
    }
    if (s.echo_additional && q.arcount > 0) {
      out[10] = static_cast<char>(q.arcount >> 8);
      out[11] = static_cast<char>(q.arcount & 0xff);
      out += q.raw.substr(question_end);
    }
    return out;
  };
  auto send_from = [&](int fd, const std::string& msg) {
    if (s.delay.count() > 0) {
      const auto* p = static_cast<const uint8_t*>(from);
      delayed_.push_back(
          {q.when + s.delay, fd, msg, std::vector<uint8_t>(p, p + from_len)});
      return;
    }
    ::sendto(fd, msg.data(), msg.size(), 0, static_cast<const sockaddr*>(from),
             from_len);
  };

  for (unsigned k = 0; k < s.flood; ++k) {
    auto now = [&](int fd, const std::string& msg) {
      ::sendto(fd, msg.data(), msg.size(), 0,
               static_cast<const sockaddr*>(from), from_len);
    };
    unsigned kinds = other_addr_fd_ >= 0 ? 6 : 5;
    switch (k % kinds) {
    case 0: {
      uint16_t id;
      do {
        rng_ ^= rng_ << 13, rng_ ^= rng_ >> 17, rng_ ^= rng_ << 5;
        id = static_cast<uint16_t>(rng_);
      } while (id == q.id);
      now(fd_, build(id, s.spoof_serial));
      break;
    }
    case 1:
      now(fd_, build(q.id, s.spoof_serial, flaw::question));
      break;
    case 2:
      now(spoof_fd_, build(q.id, s.spoof_serial));
      break;
    case 3:
      now(fd_, build(q.id, s.spoof_serial, flaw::no_qr));
      break;
    case 4:
      now(fd_, build(q.id, s.spoof_serial, flaw::opcode));
      break;
    default:
      now(other_addr_fd_, build(q.id, s.spoof_serial));
      break;
    }
  }
  if (s.flood > 0) {
    std::lock_guard<std::mutex> guard{mtx_};
    forged_ += s.flood;
  }
  if (s.spoof_wrong_id)
    send_from(fd_, build(wrong_id, s.spoof_serial));
  if (s.spoof_wrong_port)
    send_from(spoof_fd_, build(q.id, s.spoof_serial));
  if (s.spoof_wrong_address && other_addr_fd_ >= 0)
    send_from(other_addr_fd_, build(q.id, s.spoof_serial));
  if (s.spoof_wrong_question)
    send_from(fd_, build(q.id, s.spoof_serial, flaw::question));
  if (s.spoof_no_qr)
    send_from(fd_, build(q.id, s.spoof_serial, flaw::no_qr));
  if (s.spoof_wrong_opcode)
    send_from(fd_, build(q.id, s.spoof_serial, flaw::opcode));
  if (s.real_answer) {
    uint32_t serial = s.serials.empty()
                          ? s.serial
                          : s.serials[std::min(nth - 1, s.serials.size() - 1)];
    send_from(fd_, build(q.id, serial));
  }
}

uint64_t responder::forged_sent() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return forged_;
}

} // namespace minidns::it
