#pragma once
/// The pool manager's side of the bench: casts encoded once with minidns's
/// own codec and patched per send, one ZeroMQ DEALER, and per-request
/// timestamps with a check of every reply.

#include "apps/minidns-ctl/client_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <zmq.h>

namespace minidns::bench {

/// A cast frame encoded once with minidns's own codec, whose request_id
/// (a msgpack uint32, always the last value) is patched for every send.
struct cast_template {
  std::string frame;    ///< the encoded cast
  size_t id_offset = 0; ///< where the request_id's 4 octets start

  /// Writes `id` as the frame's request_id.
  void set_id(uint32_t id) {
    frame[id_offset] = static_cast<char>(id >> 24);
    frame[id_offset + 1] = static_cast<char>(id >> 16);
    frame[id_offset + 2] = static_cast<char>(id >> 8);
    frame[id_offset + 3] = static_cast<char>(id);
  }
};

/// Encodes one cast with request_id 0 (patched later with set_id()).
cast_template make_template(messages::method m, const std::string& zone,
                            std::optional<uint32_t> serial,
                            const std::string& dest, double timeout,
                            double retry_interval, uint32_t max_retries);

/// One cast per benchmark zone, z0000.bench. .. : a poll for the zone's
/// serial (zone_serial()) or a notify, to `dest`, retry interval 0.
std::vector<cast_template> zone_casts(messages::method m,
                                      const std::string& dest, unsigned zones,
                                      double timeout, uint32_t max_retries);

/// One DEALER connected to minidns.
class dealer {
public:
  /// Connects to `endpoint` with send high-water mark `sndhwm` and no
  /// receive limit (never drop a reply on our side); dies on failure.
  dealer(const std::string& endpoint, int sndhwm);
  ~dealer();
  dealer(const dealer&) = delete;
  dealer& operator=(const dealer&) = delete;

  /// The ZeroMQ socket, to poll and read.
  void* socket() const { return sock_; }

  /// Sends without blocking; false when ZeroMQ's queue is full.
  bool try_send(const std::string& frame);

private:
  void* ctx_ = nullptr;
  void* sock_ = nullptr;
};

/// What happened to the replies of one run.
struct tally {
  uint64_t ok = 0;          ///< replies that passed every check
  uint64_t bad = 0;         ///< replies that failed a check
  uint64_t duplicates = 0;  ///< second reply for one request_id
  uint64_t undecodable = 0; ///< not a reply frame, or unknown request_id
  std::map<std::string, uint64_t> kinds; ///< bad replies by status/detail
};

/// Per-request timestamps and reply checks for N requests (request_id 0 ..
/// N-1).
class tracker {
public:
  /// Room for `n` requests.
  explicit tracker(size_t n) : sent_(n, 0), done_(n, 0) {}

  /// Stamps request `id` as sent at `t`.
  void sent(uint32_t id, int64_t t) { sent_[id] = t; }
  /// When request `id` was sent; 0 when not.
  int64_t sent_at(uint32_t id) const { return sent_[id]; }
  /// When request `id`'s first reply came; 0 when none did.
  int64_t done_at(uint32_t id) const { return done_[id]; }

  /// Reads every reply queued on the DEALER without blocking, checks it
  /// with `check` (returns an empty string when the reply is right, else
  /// what is wrong) and stamps it with `clock()`. Returns the number of
  /// replies read.
  template <class Check, class Clock>
  size_t drain(void* sock, Check&& check, Clock&& clock) {
    size_t got = 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) >= 0) {
      int64_t t = clock();
      ++got;
      ++received_;
      std::string err;
      auto r =
          messages::decode_reply(zmq_msg_data(&msg), zmq_msg_size(&msg), err);
      uint32_t id = 0;
      if (!r || !request_id_of(*r, id)) {
        ++counts.undecodable;
        ++counts.kinds[r ? "reply without our request_id: " + r->method + " " +
                               r->error
                         : "undecodable: " + err];
        continue;
      }
      if (id >= sent_.size() || sent_[id] == 0) {
        ++counts.undecodable;
        ++counts.kinds["reply to a request_id never sent"];
        continue;
      }
      if (done_[id] != 0) {
        ++counts.duplicates;
        continue;
      }
      done_[id] = t;
      ++completed_;
      auto problem = check(id, *r);
      if (problem.empty()) {
        ++counts.ok;
      } else {
        ++counts.bad;
        ++counts.kinds[problem];
      }
    }
    zmq_msg_close(&msg);
    return got;
  }

  /// Requests with a first reply.
  uint64_t completed() const { return completed_; }
  /// Frames read, of any kind.
  uint64_t received() const { return received_; }

  /// Latencies (reply minus send) of the completed requests, ns.
  std::vector<int64_t> latencies() const;

  tally counts; ///< the checks' outcome so far

private:
  /// The request_id a reply echoes, when it is one of ours (a msgpack
  /// uint32).
  static bool request_id_of(const messages::reply& r, uint32_t& id);

  std::vector<int64_t> sent_, done_;
  uint64_t completed_ = 0, received_ = 0;
};

/// Checks an update_status for a poll of zone `zone` that should succeed
/// (SUCCESS, the zone's serial, detail "matched"); empty when it does.
std::string check_success(const messages::reply& r, unsigned zone);

/// Sends casts[sent % casts.size()] with request_id `sent`, stamping each
/// with now(), while sent < n and room() allows; returns true when it
/// stopped because ZeroMQ's queue was full.
template <class Room, class Clock>
bool send_casts(dealer& dl, std::vector<cast_template>& casts, tracker& tr,
                uint64_t& sent, uint64_t n, Room&& room, Clock&& now) {
  while (sent < n && room()) {
    auto& c = casts[sent % casts.size()];
    c.set_id(static_cast<uint32_t>(sent));
    if (!dl.try_send(c.frame))
      return true;
    tr.sent(static_cast<uint32_t>(sent), now());
    ++sent;
  }
  return false;
}

} // namespace minidns::bench
