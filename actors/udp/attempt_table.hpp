#pragma once
/// The UDP side's record of attempts in flight: which (socket, destination,
/// ID) belongs to which request, the random choice of a fresh ID, and
/// forgetting a request's attempts when it ends. Pure: no sockets, no
/// threads, no clock (times are passed in). The UDP thread owns one.

#include "net/dns_message.hpp"
#include "net/endpoint.hpp"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace minidns {

/// Identifies one attempt on the wire: the socket it left from, the
/// destination it went to and its ID. A reply must match all three.
struct wire_key {
  net::endpoint peer;
  uint32_t socket = 0;
  uint16_t id = 0;
  friend bool operator==(const wire_key& a, const wire_key& b) noexcept {
    return a.socket == b.socket && a.id == b.id && a.peer == b.peer;
  }
};

/// Hash of a wire_key (every field: IDs are random, addresses are not).
struct wire_key_hash {
  size_t operator()(const wire_key& k) const noexcept {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, k.peer.addr.data(), 8);
    std::memcpy(&b, k.peer.addr.data() + 8, 8);
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    h ^= (uint64_t{k.socket} << 32 | uint64_t{k.peer.port} << 16 | k.id) *
         0xC2B2AE3D27D4EB4Full;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

/// Attempts by wire key, grouped by request. `Owner` is whoever hears of
/// the attempts' replies (a CAF actor handle in the daemon, anything in
/// tests). An attempt stays until its request is forgotten, so that late
/// replies to earlier attempts still count.
template <class Owner>
class attempt_table {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// What the table keeps once per request.
  struct request {
    Owner owner;
    std::string qname;    ///< the zone, wire format: held once per request
    std::string soa_hint; ///< NOTIFY: the answer section's SOA, or empty
    net::query_kind kind = net::query_kind::soa;
    net::transport transport = net::transport::udp;
    uint16_t tsig = 0;  ///< the key queries are signed with (0: none)
    net::endpoint peer; ///< every attempt goes to the same place
    /// The attempt out now, as flow control counts it (0: none).
    uint32_t outstanding = 0;
    bool has_last = false;    ///< whether `last_*` name an attempt
    uint32_t last_socket = 0; ///< the newest attempt, head of the chain
    uint16_t last_id = 0;
  };

  /// What the table keeps per attempt; attempts of one request are chained
  /// newest first (no vector per request).
  struct attempt {
    uint64_t token = 0;
    uint32_t number = 0; ///< 1-based attempt number
    time_point sent_at;  ///< for the round trip
    uint32_t prev_socket = 0;
    uint16_t prev_id = 0;
    bool has_prev = false;
    bool dead = false; ///< failed to leave: matches nothing, ID kept
  };

  /// A live attempt and its request.
  struct match {
    request* req = nullptr;
    attempt* att = nullptr;
    explicit operator bool() const { return att != nullptr; }
  };

  /// Tries to find a fresh ID this often before giving up (ID exhaustion:
  /// the destination already has that many attempts on every socket).
  static constexpr int max_tries = 32;

  /// Starts keeping request `token`, or returns it when already kept: the
  /// first call's owner stays, and so do its name, kind and destination
  /// unless it came without a name (a timer set before any query).
  request& open(uint64_t token, Owner owner, net::query_kind kind,
                std::string qname, const net::endpoint& peer,
                net::transport transport = net::transport::udp,
                std::string soa_hint = {}, uint16_t tsig = 0) {
    auto [i, added] = requests_.try_emplace(token);
    auto& r = i->second;
    if (added)
      r.owner = std::move(owner);
    if (added || (r.qname.empty() && !qname.empty())) {
      r.qname = std::move(qname);
      r.soa_hint = std::move(soa_hint);
      r.tsig = tsig;
      r.kind = kind;
      r.transport = transport;
      r.peer = peer;
    }
    return r;
  }

  /// The request `token`, or null.
  request* find_request(uint64_t token) {
    auto i = requests_.find(token);
    return i == requests_.end() ? nullptr : &i->second;
  }

  /// Picks one of `sockets` and a random ID that no attempt to `peer` on
  /// that socket uses. `rng` gives 16-bit numbers (`next16()`). nullopt
  /// after max_tries collisions, or when there is no socket.
  template <class Rng>
  std::optional<wire_key> choose(const net::endpoint& peer,
                                 const std::vector<uint32_t>& sockets,
                                 Rng& rng) const {
    if (sockets.empty())
      return std::nullopt;
    wire_key key;
    key.peer = peer;
    for (int tries = 0; tries < max_tries; ++tries) {
      key.socket = sockets[rng.next16() % sockets.size()];
      key.id = rng.next16();
      if (attempts_.find(key) == attempts_.end())
        return key;
    }
    return std::nullopt;
  }

  /// Records attempt `number` of request `token` (opened before) under
  /// `key` (from choose()).
  void add(const wire_key& key, uint64_t token, uint32_t number,
           time_point sent_at) {
    add(key, requests_.at(token), token, number, sent_at);
  }

  /// add() for the caller that holds `req`, request `token` from open():
  /// one lookup less per query.
  void add(const wire_key& key, request& req, uint64_t token, uint32_t number,
           time_point sent_at) {
    attempt a;
    a.token = token;
    a.number = number;
    a.sent_at = sent_at;
    a.has_prev = req.has_last;
    a.prev_socket = req.last_socket;
    a.prev_id = req.last_id;
    attempts_.emplace(key, a);
    req.has_last = true;
    req.last_socket = key.socket;
    req.last_id = key.id;
  }

  /// The live attempt under `key` and its request; empty when there is
  /// none (never was, forgotten, or dead).
  match find(const wire_key& key) {
    auto i = attempts_.find(key);
    if (i == attempts_.end() || i->second.dead)
      return {};
    auto r = requests_.find(i->second.token);
    if (r == requests_.end())
      return {};
    return {&r->second, &i->second};
  }

  /// The attempt under `key` never left (a send error): it matches no
  /// reply from now on. Its ID stays taken until its request is forgotten.
  void kill(const wire_key& key) {
    if (auto i = attempts_.find(key); i != attempts_.end())
      i->second.dead = true;
  }

  /// Forgets request `token` and all its attempts: their IDs are free
  /// again and their replies unmatched. Returns how many attempts it had.
  size_t forget(uint64_t token) {
    auto r = requests_.find(token);
    if (r == requests_.end())
      return 0;
    size_t n = 0;
    wire_key key;
    key.peer = r->second.peer;
    bool more = r->second.has_last;
    key.socket = r->second.last_socket;
    key.id = r->second.last_id;
    while (more) {
      auto i = attempts_.find(key);
      if (i == attempts_.end())
        break; // cannot happen: chains only hold recorded attempts
      more = i->second.has_prev;
      key.socket = i->second.prev_socket;
      key.id = i->second.prev_id;
      attempts_.erase(i);
      ++n;
    }
    requests_.erase(r);
    return n;
  }

  /// Requests kept.
  size_t requests() const { return requests_.size(); }

  /// Attempts kept, dead ones included.
  size_t attempts() const { return attempts_.size(); }

  /// Forgets everything (the UDP thread ends).
  void clear() {
    attempts_.clear();
    requests_.clear();
  }

private:
  std::unordered_map<wire_key, attempt, wire_key_hash> attempts_;
  std::unordered_map<uint64_t, request> requests_;
};

} // namespace minidns
