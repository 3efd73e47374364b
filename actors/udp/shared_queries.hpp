#pragma once
/// Shared SOA queries: polls for the same zone, destination, TSIG key and
/// transport that run at the same time ask one query between them. The
/// first attempt to ask leads (its query goes out); identical attempts that
/// come while it is in flight ride on it and get its answer, each with its
/// own attempt number, and each request still ends by its own rules. At
/// most one query per key is in flight at a time. Pure: tokens in, riders
/// out; the UDP thread sends, times and tells.
///
/// A leader's query stops taking riders when its attempt is answered,
/// fails or times out. Riders keep their own timeouts: when a leader's
/// request ends without an answer (cancelled), its riders time out and
/// ask again by themselves.

#include "net/query_key.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace minidns {

/// What makes two SOA queries the same (zone, destination, key,
/// transport).
using share_key = net::query_key;

class shared_queries {
public:
  /// One attempt of a request.
  struct attempt_ref {
    uint64_t token = 0;
    uint32_t attempt = 0;
  };

  /// Attempt `attempt` of request `token` asks `key`. When an identical
  /// query is in flight, the attempt rides on it: returns its leader. Else
  /// returns nullopt and the attempt leads: its query goes out.
  std::optional<attempt_ref> join(const share_key& key, uint64_t token,
                                  uint32_t attempt);

  /// The query of `token`'s attempt `attempt` was answered: returns the
  /// attempts riding on it (to hand the answer to) and closes it. Empty
  /// when that attempt leads nothing (or no longer).
  std::vector<attempt_ref> answered(uint64_t token, uint32_t attempt);

  /// The query of `token`'s attempt `attempt` failed or timed out: returns
  /// its riders and closes it.
  std::vector<attempt_ref> closed(uint64_t token, uint32_t attempt) {
    return answered(token, attempt);
  }

  /// Request `token` ended: the query it leads, if any, takes no more
  /// riders (they are left to their own timeouts).
  void forget(uint64_t token);

  /// Queries in flight that take riders.
  size_t open() const { return by_key_.size(); }

private:
  struct entry {
    uint64_t leader = 0;
    uint32_t attempt = 0;
    std::vector<attempt_ref> riders;
  };
  std::unordered_map<share_key, entry, net::query_key_hash> by_key_;
  /// Leader token -> its open query's key (in by_key_: nodes are stable).
  std::unordered_map<uint64_t, const share_key*> by_leader_;
};

} // namespace minidns
