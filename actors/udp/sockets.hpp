#pragma once
/// The UDP sockets themselves, the syscalls of the UDP thread: opening one
/// the way minidns needs it, reading replies in batches, reading what an
/// ICMP error in a socket's error queue says, and waiting on epoll.

#include "net/endpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

struct msghdr;
struct mmsghdr;
struct epoll_event;

namespace minidns {

/// Opens a non-blocking UDP socket bound to `source` (an IPv4 or IPv6
/// literal) on a random port, with ICMP errors queued (IP_RECVERR) and
/// `buffer` bytes of send and receive buffer. Throws std::runtime_error
/// naming minidns.source-v4/-v6 when the address is bad or cannot be
/// bound; returns -errno when no socket can be made at all.
int open_udp_socket(bool v6, const std::string& source, int buffer);

/// An ICMP (or local) error about a query we sent.
struct icmp_error {
  net::endpoint peer; ///< where the query went
  uint16_t id = 0;    ///< the quoted query's ID
  int err = 0;        ///< what went wrong (errno)
};

/// Reads one message from a socket's error queue (recvmsg with
/// MSG_ERRQUEUE into `mh`, `len` bytes of quoted datagram). nullopt when
/// it is not an error about one of our queries: no error, no address, too
/// short, or the quoted datagram is a response (QR set).
std::optional<icmp_error> parse_icmp_error(msghdr& mh, const uint8_t* data,
                                           size_t len);

/// What one read of a socket's error queue found.
enum class error_queue { empty, foreign, ours };

/// Reads one message of `fd`'s error queue without waiting. `ours`: `out`
/// is an error about one of our queries; `foreign`: a message that is
/// not; `empty`: nothing (left) to read.
error_queue read_error_queue(int fd, icmp_error& out);

/// Reads datagrams with recvmmsg, a batch at a time, into buffers it owns.
class datagram_reader {
public:
  /// Datagrams per recvmmsg call.
  static constexpr size_t batch = 64;

  datagram_reader();
  ~datagram_reader();

  /// Reads one batch from `fd` without waiting; the number read. The
  /// datagrams stay readable until the next call.
  size_t read(int fd);

  /// Datagram `i` of the last batch.
  const uint8_t* data(size_t i) const;
  size_t size(size_t i) const;
  /// Where datagram `i` came from; nullopt for an address family other
  /// than IPv4 or IPv6.
  std::optional<net::endpoint> from(size_t i) const;

private:
  struct state;
  std::unique_ptr<state> st_;
};

/// One datagram to send: its bytes and its destination (a sockaddr).
struct datagram_out {
  const void* data;
  size_t len;
  const void* to;
  uint32_t to_len;
};

/// sendmmsg(2), or what a test puts in its place to make sends fail.
using sendmmsg_fn = std::function<int(int fd, mmsghdr* msgs, unsigned n)>;

/// Sends datagrams [0, n) on `fd` in order, in batches, without waiting;
/// `at(i)` gives datagram i. Calls `left(i)` for each one that left and
/// `refused(i, errno)` for each the kernel refused twice in a row (an
/// error once may be a pending ICMP error about an earlier datagram that
/// this call merely reported). Stops at a full send buffer (EAGAIN) and
/// returns the index of the first datagram not sent; n when all went.
/// `retried(i, errno)`, when set, hears of each first refusal that is
/// tried again: a retry that goes through would otherwise hide a firewall
/// or a queue that refuses now and then.
size_t send_datagrams(int fd, size_t n, const sendmmsg_fn& send,
                      const std::function<datagram_out(size_t)>& at,
                      const std::function<void(size_t)>& left,
                      const std::function<void(size_t, int)>& refused,
                      const std::function<void(size_t, int)>& retried = {});

/// epoll_wait until `left_ns` nanoseconds have passed (-1: for ever; 0: do
/// not wait), to the nanosecond with epoll_pwait2 (Linux 5.11), else
/// rounded up to the millisecond.
int wait_events(int epoll_fd, epoll_event* events, int max, int64_t left_ns);

} // namespace minidns
