#pragma once
/// A scripted DNS server on loopback TCP for the integration tests of DNS
/// over TCP (RFC 7766): it reads length-framed queries on any number of
/// connections and answers, stays silent, or closes the connection, as the
/// test says. It can share a port number with a UDP `responder`, so that
/// truncated UDP answers lead to it. Like `responder`, it builds its
/// answers itself rather than with minidns's code.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace minidns::it {

class tcp_responder {
public:
  /// What the server does with each query.
  enum class mode {
    answer,        ///< answer every query (SOA: `serial`; NOTIFY: NOERROR)
    silent,        ///< read queries, never answer, never close
    close_first,   ///< close the first connection after its first query,
                   ///< unanswered; answer on the others
    garbage_first, ///< before each answer, send a message with the same
                   ///< ID that is not an answer (QR clear)
  };

  /// Listens on 127.0.0.1:`port` (0: an ephemeral port). Throws
  /// std::runtime_error when it cannot.
  explicit tcp_responder(uint16_t port = 0, mode m = mode::answer,
                         uint32_t serial = 1);
  ~tcp_responder();
  tcp_responder(const tcp_responder&) = delete;
  tcp_responder& operator=(const tcp_responder&) = delete;

  uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT".
  std::string destination() const;

  size_t queries() const { return queries_.load(); }         ///< read so far
  size_t connections() const { return connections_.load(); } ///< accepted
  size_t open_connections() const { return open_.load(); }   ///< open now

private:
  void run();

  mode mode_;
  uint32_t serial_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<size_t> queries_{0};
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> open_{0};
  std::thread thread_;
};

} // namespace minidns::it
