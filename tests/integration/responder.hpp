#pragma once
/// A scripted DNS server on loopback UDP for the integration tests: it
/// answers (or ignores, or spoofs) minidns's NOTIFY and SOA queries as a
/// test tells it to, and records every query it receives so that tests can
/// count attempts and check what went on the wire.
///
/// The responder builds and parses DNS messages itself, independently of
/// net/dns_message.cpp, so that a bug there cannot hide behind a matching
/// bug here.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace minidns::it {

/// What the responder does with the queries for one zone (or all zones).
struct zone_script {
  /// The SOA serial to answer polls with.
  uint32_t serial = 1;
  /// When not empty, the serial of the n-th answered query (counting from
  /// 0, dropped queries included) is `serials[min(n, size - 1)]`; overrides
  /// `serial`.
  std::vector<uint32_t> serials;
  /// RCODE of the answer to a NOTIFY.
  uint8_t notify_rcode = 0;
  /// When set, every query (SOA or NOTIFY) is answered with this RCODE and
  /// an empty answer section.
  std::optional<uint8_t> rcode;
  /// With `rcode`: leave the question section out of the answer (QDCOUNT
  /// 0), as NSD does for some errors.
  bool strip_question = false;
  /// Never answer.
  bool silent = false;
  /// Ignore the first this many queries for the zone, then answer.
  unsigned drop_first = 0;
  /// Set AA in answers.
  bool aa = true;
  /// Set TC in answers.
  bool tc = false;
  /// Before the real answer, send a copy with a different ID.
  bool spoof_wrong_id = false;
  /// Before the real answer, send a copy with the right ID from another
  /// source port (a second socket).
  bool spoof_wrong_port = false;
  /// Before the real answer, send a copy with the right ID and port from
  /// another address (127.0.0.2; IPv4 only).
  bool spoof_wrong_address = false;
  /// Before the real answer, send a copy whose question names another zone.
  bool spoof_wrong_question = false;
  /// Before the real answer, send a copy with QR clear (not a response).
  bool spoof_no_qr = false;
  /// Before the real answer, send a copy with another opcode.
  bool spoof_wrong_opcode = false;
  /// The serial that spoofed SOA answers carry, so that a test can tell
  /// whether minidns took one.
  uint32_t spoof_serial = 999;
  /// Send the real answer (false: only the spoofed ones, if any).
  bool real_answer = true;
  /// How many SOA records owned by the zone the answer to a poll carries
  /// (0: none, 2: two with the same serial).
  unsigned soa_records = 1;
  /// Append the query's records after its question (a signed query's TSIG
  /// record) to every answer, counted in ARCOUNT: a reply that carries a
  /// TSIG record whose MAC is no signature of it.
  bool echo_additional = false;
  /// Send every answer (spoofed ones too) this long after the query came.
  std::chrono::milliseconds delay{0};
  /// At once, whatever `delay` says, send this many forged replies, taking
  /// turns: a random ID, the right ID with another question, the right ID
  /// from another port, QR clear, another opcode, and from 127.0.0.2 when
  /// bound. Each carries `spoof_serial`. Counted by forged_sent().
  unsigned flood = 0;
};

/// One query as the responder received it.
struct query_record {
  std::chrono::steady_clock::time_point when; ///< time the thread read it
  /// Time the kernel received it (SO_TIMESTAMPNS): unlike `when`, not
  /// delayed when the responder's thread is slow to run.
  std::chrono::system_clock::time_point wire_time;
  uint16_t id = 0;
  uint16_t flags = 0; ///< the header's second 16-bit word
  uint8_t opcode = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false;
  uint8_t rcode = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  /// The question's name in presentation format, case kept, with a
  /// trailing dot ("Example.COM."); empty when there is no question.
  std::string qname;
  uint16_t qtype = 0, qclass = 0;
  /// The sender's UDP port.
  uint16_t source_port = 0;
  /// The whole datagram.
  std::string raw;
};

/// The DNS server. Its thread starts in the constructor and stops in the
/// destructor.
class responder {
public:
  /// Binds 127.0.0.1 (or ::1 with `ipv6`) on an ephemeral port. Throws
  /// std::runtime_error when the address cannot be bound.
  explicit responder(bool ipv6 = false);
  ~responder();
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;

  /// Whether ::1 can be bound on this machine.
  static bool ipv6_available();

  /// The cast destination that reaches this responder: "127.0.0.1:PORT"
  /// or "[::1]:PORT".
  std::string destination() const;
  uint16_t port() const { return port_; }
  /// Whether spoof_wrong_address can be carried out (127.0.0.2 bound).
  bool has_other_address() const { return other_addr_fd_ >= 0; }

  /// Sets the script for queries about `zone` (case-insensitive, trailing
  /// dot optional).
  void script(const std::string& zone, zone_script s);
  /// Sets the script for zones without their own.
  void default_script(zone_script s);

  /// Every query received so far.
  std::vector<query_record> queries() const;
  /// The queries received so far about `zone` (case-insensitive).
  std::vector<query_record> queries_for(const std::string& zone) const;
  size_t count() const;
  size_t count_for(const std::string& zone) const;
  /// Forged replies sent so far (zone_script::flood).
  uint64_t forged_sent() const;

  /// Waits until at least `n` queries in all have been received. False on
  /// timeout.
  bool wait_for_count(size_t n, std::chrono::milliseconds timeout) const;
  /// Waits until at least `n` queries about `zone` have been received.
  bool wait_for_count(const std::string& zone, size_t n,
                      std::chrono::milliseconds timeout) const;

private:
  /// An answer waiting for its time (zone_script::delay).
  struct delayed {
    std::chrono::steady_clock::time_point due;
    int fd;
    std::string msg;
    std::vector<uint8_t> to; ///< the sockaddr to send to
  };

  void run();
  void send_due();
  void handle(const uint8_t* data, size_t len, const void* from,
              unsigned from_len, std::chrono::system_clock::time_point wire);

  bool v6_ = false;
  int fd_ = -1;       ///< the server socket
  int spoof_fd_ = -1; ///< a second socket, for replies from a wrong port
  /// 127.0.0.2 on the server's port, for replies from a wrong address (-1
  /// for IPv6 or when it cannot be bound)
  int other_addr_fd_ = -1;
  int stop_fd_ = -1; ///< eventfd that ends the thread
  uint16_t port_ = 0;
  std::thread thread_;

  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::map<std::string, zone_script> scripts_; ///< by lowercase zone
  zone_script default_;
  std::vector<query_record> queries_;
  std::map<std::string, size_t> per_zone_; ///< query counts by lowercase zone

  std::vector<delayed> delayed_; ///< owned by the thread
  uint64_t forged_ = 0;          ///< guarded by mtx_
  uint32_t rng_ = 0x9E3779B9;    ///< for forged IDs; owned by the thread
};

/// Lowercase presentation form with a trailing dot ("Example.com" ->
/// "example.com.").
std::string canonical_zone(const std::string& zone);

} // namespace minidns::it
