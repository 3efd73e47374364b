#include "bench/responder.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace minidns::bench {

namespace {

/// Datagrams per recvmmsg/sendmmsg call.
constexpr size_t batch = 64;
/// Room for any query minidns or dnsperf sends.
constexpr size_t max_datagram = 1500;

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The offset just past the question of a query (header, QNAME, QTYPE,
/// QCLASS; no compression in a query's name), 0 when there is none.
size_t question_end(const uint8_t* d, size_t len) {
  if (len < 12 || d[4] != 0 || d[5] != 1)
    return 0;
  size_t at = 12;
  while (at < len && d[at] != 0) {
    if ((d[at] & 0xc0) != 0)
      return 0;
    at += 1 + d[at];
  }
  at += 1 + 4;
  return at <= len ? at : 0;
}

void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v);
}

/// Sets the flags of the query header in `d` to an answer's: QR and AA
/// set, opcode and RD kept, RA, Z, AD, CD clear, RCODE `rcode`.
void answer_flags(uint8_t* d, uint8_t rcode) {
  d[2] = static_cast<uint8_t>(0x80 | (d[2] & 0x79) | 0x04);
  d[3] = rcode & 0x0f;
}

/// Turns the header of the query in `d` into an answer's (answer_flags),
/// with one question, `answers` answers, nothing else.
void answer_header(uint8_t* d, uint8_t rcode, uint16_t answers) {
  answer_flags(d, rcode);
  put16(d + 6, answers);
  put16(d + 8, 0);
  put16(d + 10, 0);
}

} // namespace

size_t write_soa_answer(uint8_t* data, size_t len, size_t cap,
                        uint32_t serial) {
  size_t at = question_end(data, len);
  // Owner (a pointer to the question's name), type, class, TTL, RDLENGTH;
  // RDATA: MNAME and RNAME (pointers too) and five 32-bit numbers.
  constexpr size_t record = 2 + 2 + 2 + 4 + 2 + 2 + 2 + 20;
  if (at == 0 || at + record > cap)
    return 0;
  answer_header(data, 0, 1);
  uint8_t* p = data + at;
  put16(p, 0xc00c);
  put16(p + 2, 6); // SOA
  put16(p + 4, 1); // IN
  put32(p + 6, 300);
  put16(p + 10, 24);
  put16(p + 12, 0xc00c);
  put16(p + 14, 0xc00c);
  put32(p + 16, serial);
  put32(p + 20, 86400);
  put32(p + 24, 86400);
  put32(p + 28, 2419200);
  put32(p + 32, 300);
  return at + record;
}

size_t write_rcode_answer(uint8_t* data, size_t len, uint8_t rcode) {
  size_t at = question_end(data, len);
  if (at == 0)
    return 0;
  answer_header(data, rcode, 0);
  return at;
}

responder::responder(const std::string& address, uint16_t port, bool silent)
    : silent_(silent) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw std::runtime_error(std::string("responder: socket: ") +
                             std::strerror(errno));
  // As large as net.core.rmem_max allows: bursts of a window of queries.
  // Root may go past net.core.rmem_max (SO_RCVBUFFORCE); others get what
  // the cap allows.
  int buffer = 32 << 20;
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer)) !=
      0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  if (::setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof(buffer)) !=
      0)
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  int on = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  // Wake up now and then to see whether stop() was called.
  timeval tv{0, 50 * 1000};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &sin.sin_addr) != 1) {
    ::close(fd_);
    throw std::runtime_error("responder: not an IPv4 address: " + address);
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
    int err = errno;
    ::close(fd_);
    throw std::runtime_error("responder: bind: " +
                             std::string(std::strerror(err)));
  }
  socklen_t len = sizeof(sin);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
  port_ = ntohs(sin.sin_port);
}

responder::~responder() {
  if (fd_ >= 0)
    ::close(fd_);
}

responder_counts responder::counts() const {
  responder_counts c;
  c.received = received_.load();
  c.answered = answered_.load();
  c.notifies = notifies_.load();
  c.queries = queries_.load();
  c.malformed = malformed_.load();
  return c;
}

void responder::run() {
  static thread_local uint8_t storage[batch][max_datagram];
  mmsghdr in[batch];
  iovec iov[batch];
  sockaddr_in from[batch];
  alignas(cmsghdr) char control[batch][CMSG_SPACE(sizeof(timespec))];
  mmsghdr out[batch];
  iovec out_iov[batch];
  while (!stop_.load(std::memory_order_relaxed)) {
    for (size_t i = 0; i < batch; ++i) {
      iov[i] = {storage[i], max_datagram};
      in[i] = {};
      in[i].msg_hdr.msg_name = &from[i];
      in[i].msg_hdr.msg_namelen = sizeof(from[i]);
      in[i].msg_hdr.msg_iov = &iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
      in[i].msg_hdr.msg_control = control[i];
      in[i].msg_hdr.msg_controllen = sizeof(control[i]);
    }
    // Blocks for the first datagram (up to SO_RCVTIMEO), then takes what
    // is queued.
    int n = ::recvmmsg(fd_, in, batch, MSG_WAITFORONE, nullptr);
    if (n <= 0)
      continue;
    size_t answers = 0;
    uint64_t notifies = 0, queries = 0, malformed = 0;
    for (int i = 0; i < n; ++i) {
      uint8_t* d = storage[i];
      size_t len = in[i].msg_len;
      if (hook_) {
        int64_t ts = 0;
        for (auto* c = CMSG_FIRSTHDR(&in[i].msg_hdr); c != nullptr;
             c = CMSG_NXTHDR(&in[i].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec t;
            std::memcpy(&t, CMSG_DATA(c), sizeof(t));
            ts = int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
          }
        }
        hook_(d, len, ts);
      }
      if (len < 12 || (d[2] & 0x80) != 0) {
        ++malformed;
        continue;
      }
      unsigned opcode = (d[2] >> 3) & 0x0f;
      if (opcode == 4)
        ++notifies;
      else if (opcode == 0)
        ++queries;
      if (silent_)
        continue;
      if (script_) {
        len = script_(d, len, max_datagram);
        if (len == 0)
          continue;
      } else {
        answer_flags(d, 0); // the query echoed as a NOERROR answer
      }
      out_iov[answers] = {d, len};
      out[answers] = {};
      out[answers].msg_hdr.msg_name = &from[i];
      out[answers].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
      out[answers].msg_hdr.msg_iov = &out_iov[answers];
      out[answers].msg_hdr.msg_iovlen = 1;
      ++answers;
    }
    size_t done = 0;
    while (done < answers) {
      int r =
          ::sendmmsg(fd_, out + done, static_cast<unsigned>(answers - done), 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0) {
        ++done; // skip the datagram the kernel refused
        continue;
      }
      done += static_cast<size_t>(r);
      answered_.fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
    }
    notifies_.fetch_add(notifies, std::memory_order_relaxed);
    queries_.fetch_add(queries, std::memory_order_relaxed);
    malformed_.fetch_add(malformed, std::memory_order_relaxed);
    if (answers > 0)
      last_answer_ns_.store(steady_ns(), std::memory_order_release);
    received_.fetch_add(static_cast<uint64_t>(n), std::memory_order_release);
    if (notify_fd_ >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] auto w = ::write(notify_fd_, &one, sizeof(one));
    }
  }
}

} // namespace minidns::bench
