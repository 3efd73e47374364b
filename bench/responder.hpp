#pragma once
/// A fast DNS responder on loopback UDP for the benchmark: it answers every
/// query by echoing it with QR and AA set and RCODE NOERROR (so a NOTIFY
/// gets the acknowledgement RFC 1996 asks for), or, when silent, reads and
/// timestamps queries without ever answering, or, with a script, answers
/// each query as the script says (an SOA, an RCODE, or nothing). One
/// thread, recvmmsg and sendmmsg in batches.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace minidns::bench {

/// Counters of a responder, readable from any thread.
struct responder_counts {
  uint64_t received = 0;  ///< datagrams read
  uint64_t answered = 0;  ///< answers the kernel took
  uint64_t notifies = 0;  ///< datagrams with opcode NOTIFY (4)
  uint64_t queries = 0;   ///< datagrams with opcode QUERY (0)
  uint64_t malformed = 0; ///< shorter than a DNS header, or QR already set
};

/// Called for every datagram read, with the kernel's receive timestamp
/// (CLOCK_REALTIME, ns) when the socket provides one, else 0. Runs on the
/// responder's thread.
using datagram_hook =
    std::function<void(const uint8_t* data, size_t len, int64_t kernel_ns)>;

/// Decides the answer to one query, on the responder's thread: rewrites the
/// datagram in place (`data`, `len` octets, room for `cap`) into the answer
/// and returns its length, or returns 0 to leave the query unanswered.
/// write_soa_answer() and write_rcode_answer() do the rewriting.
using answer_script =
    std::function<size_t(uint8_t* data, size_t len, size_t cap)>;

/// Rewrites the query in `data` into an authoritative NOERROR answer with
/// one SOA record owned by the query's name (MNAME and RNAME point at it)
/// with `serial`; the question is kept, anything after it dropped. Returns
/// the answer's length, 0 when the query cannot be parsed or `cap` is too
/// small.
size_t write_soa_answer(uint8_t* data, size_t len, size_t cap, uint32_t serial);

/// Rewrites the query in `data` into an authoritative answer with RCODE
/// `rcode` and the question only. Returns its length, 0 when the query
/// cannot be parsed.
size_t write_rcode_answer(uint8_t* data, size_t len, uint8_t rcode);

/// A UDP responder bound to one loopback address.
class responder {
public:
  /// Binds `address`:`port` (port 0: an ephemeral one). `silent`: never
  /// answer. Throws std::runtime_error when the socket cannot be opened.
  responder(const std::string& address, uint16_t port, bool silent);
  ~responder();
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;

  /// The port actually bound.
  uint16_t port() const { return port_; }

  /// Sets a hook to run for every datagram (before run()).
  void on_datagram(datagram_hook hook) { hook_ = std::move(hook); }

  /// Answers every query as `script` says instead of echoing it (before
  /// run(); not with `silent`).
  void script(answer_script s) { script_ = std::move(s); }

  /// An eventfd written after every batch of datagrams read, so that a
  /// waiting thread can wake up; -1 when not wanted (the default).
  void notify_fd(int fd) { notify_fd_ = fd; }

  /// Serves until stop() is called from another thread.
  void run();

  /// Makes run() return within about 50 ms.
  void stop() { stop_.store(true, std::memory_order_relaxed); }

  /// A snapshot of the counters.
  responder_counts counts() const;

  /// Datagrams read so far (cheaper than counts()).
  uint64_t received() const {
    return received_.load(std::memory_order_acquire);
  }

  /// steady_clock time (ns) at which the last batch of answers was handed to
  /// the kernel.
  int64_t last_answer_ns() const {
    return last_answer_ns_.load(std::memory_order_acquire);
  }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
  bool silent_ = false;
  int notify_fd_ = -1;
  datagram_hook hook_;
  answer_script script_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> notifies_{0};
  std::atomic<uint64_t> queries_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<int64_t> last_answer_ns_{0};
};

} // namespace minidns::bench
