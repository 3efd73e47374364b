#pragma once
/// Direct SOA queries from the bench client to the DNS server, bypassing
/// minidns: the check mode's sanity check and the latency mode's
/// measurement of the server's own round trip.

#include <cstdint>
#include <string>

namespace minidns::bench {

/// A connected UDP socket for direct SOA queries to the server, one query
/// outstanding at a time.
class direct_prober {
public:
  /// Connects to `dest` ("a.b.c.d:port"); dies when it cannot.
  explicit direct_prober(const std::string& dest);
  ~direct_prober();
  direct_prober(const direct_prober&) = delete;
  direct_prober& operator=(const direct_prober&) = delete;

  /// The socket, to poll for replies.
  int fd() const { return fd_; }

  /// Sends a SOA query for zone `i` (zone_name(i)).
  void send(unsigned i);

  /// Reads every datagram queued on the socket (stale replies to earlier
  /// queries included); returns the round trip in ns when one is the answer
  /// to the outstanding query with the zone's serial, -1 otherwise (with
  /// the reason in last_problem()).
  int64_t receive();

  /// Why the last reply was not taken ("no reply" before any).
  const std::string& last_problem() const { return problem_; }

  /// Whether a query awaits its answer.
  bool outstanding() const { return outstanding_; }
  /// When the last query went out (now_ns()).
  int64_t sent_ns() const { return sent_ns_; }
  /// Gives up on the outstanding query, counting it lost.
  void abandon() {
    outstanding_ = false;
    ++lost_;
  }
  /// Replies that failed a check (wrong RCODE, SOA or serial).
  uint64_t bad() const { return bad_; }
  /// Queries abandoned without an answer.
  uint64_t lost() const { return lost_; }

private:
  int fd_ = -1;
  unsigned zone_ = 0;
  std::string wire_;
  uint16_t id_ = 1;
  int64_t sent_ns_ = 0;
  bool outstanding_ = false;
  uint64_t bad_ = 0, lost_ = 0;
  std::string problem_ = "no reply";
};

} // namespace minidns::bench
