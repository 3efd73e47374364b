#pragma once
/// The msgpack wire contract with pool managers (docs/protocol.md), the
/// daemon's side: decoding casts (cast_decode.cpp, after the bounded pre-scan
/// of msgpack_scan.hpp) and encoding replies (reply_encode.cpp). No CAF and
/// no sockets here; the ZeroMQ bridge calls these on raw frames. The pool
/// manager's side (encode_cast, decode_reply, msgpack_to_json) is
/// apps/minidns-ctl/client_codec.hpp.

#include "messages/invalid_field.hpp"
#include "net/endpoint.hpp"
#include "net/prefix.hpp"
#include "net/tsig.hpp"
#include "net/verdict.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minidns::messages {

/// What a frame asks for.
enum class method : uint8_t {
  notify_zone_changed,
  poll_for_serial_number,
  get_serial_number, ///< a poll with no expected serial (poll_goal::any_serial)
  cancel,            ///< ends the running casts with a request_id
};

/// Whether casts of kind `m` query the SOA and end with a status (the
/// polls, get_serial_number included).
constexpr bool is_poll(method m) noexcept {
  return m == method::poll_for_serial_number || m == method::get_serial_number;
}

/// Upper bounds on the numeric fields; larger values are refused as out of
/// range (documented in docs/protocol.md).
inline constexpr double max_timeout_seconds = 3600;
inline constexpr double max_retry_interval_seconds = 3600;
inline constexpr int64_t max_max_retries = 10000;
inline constexpr double max_delay_seconds = 3600;
/// Frames larger than this are refused with an error reply.
inline constexpr size_t max_frame_size = size_t{64} * 1024;
/// Most entries (array elements or map pairs) in any one msgpack container
/// of a frame; larger containers are refused.
inline constexpr size_t max_container_entries = 1024;
/// Most destinations in one poll's `destinations`.
inline constexpr size_t max_destinations = 1000;
/// Deepest nesting of containers in a frame, counting the cast map itself.
inline constexpr size_t max_nesting_depth = 16;

/// A poll across several destinations (`destinations`): each runs as a
/// request of its own, and one status tells how many reached the goal.
struct pool_spec {
  std::vector<net::endpoint> destinations; ///< parsed, no duplicates
  /// Each destination as the cast wrote it (raw msgpack), for the reply.
  std::vector<std::string> raw;
  /// `threshold_percentage`, 1..100.
  uint8_t threshold = 100;
};

/// What a cast says, but for its pool (cast::pool): copyable, so that the
/// requests of a pool poll take every field (cast::for_destination).
struct cast_fields {
  method kind = method::notify_zone_changed; ///< what it asks for
  /// Polls: what ends them (`expect`, or get_serial_number).
  net::poll_goal goal = net::poll_goal::serial;
  std::string zone_wire;     ///< domain.name, uncompressed wire format
  uint32_t serial = 0;       ///< domain.serial (polls only)
  net::endpoint destination; ///< parsed destination, port 53 by default
  std::chrono::microseconds timeout{0};        ///< > 0
  std::chrono::microseconds retry_interval{0}; ///< >= 0
  uint32_t max_retries = 0; ///< resends after the first attempt
  /// Optional `delay`: the first attempt leaves this long after the cast
  /// was taken (0: at once).
  std::chrono::microseconds delay{0};
  /// Optional `transport`: "udp" (the default; TCP after TC=1) or "tcp"
  /// (every query over TCP). nullopt when absent: the config's default
  /// per destination applies.
  std::optional<net::transport> transport;
  /// Notifies: `want_status` true asks for one update_status at the end,
  /// as a poll gets. Always true for polls.
  bool wants_status = false;
  /// Notifies: `domain.soa` for the NOTIFY's answer section (RFC 1996
  /// section 3.7), as the TTL (4 bytes) and the SOA RDATA in wire format;
  /// empty when the cast carries none.
  std::string soa_hint;
  /// `tsig_key`: index + 1 of the key in the keyring (net::tsig_keyring);
  /// 0: unsigned (unless the config names a key for the destination).
  uint16_t tsig = 0;
  /// When `wants_status`: the start of the update_status reply, already
  /// encoded: a
  /// msgpack map header for all reply keys, then "method", "context",
  /// "domain", "destination" (as received) and, when given, "request_id".
  /// finish_status appends the rest.
  std::string reply_prefix;
  /// The raw msgpack bytes of "request_id", empty when absent (for error
  /// replies to notifies, e.g. while draining, and for cancel).
  std::string request_id;
};

/// A validated cast, ready to become a request.
struct cast : cast_fields {
  /// Polls with `destinations`: the list and threshold (`destination` is
  /// then unset); null for a cast with one destination.
  std::unique_ptr<pool_spec> pool;

  /// The request of one destination `to` of this pool poll: the same
  /// question and budget; its end goes to the pool's tally, so it has no
  /// reply, request id or pool of its own.
  cast for_destination(const net::endpoint& to) const {
    cast one;
    static_cast<cast_fields&>(one) = *this;
    one.destination = to;
    one.wants_status = false;
    one.reply_prefix.clear();
    one.request_id.clear();
    return one;
  }
};

/// The result of decoding one frame.
struct decode_result {
  std::optional<cast> ok; ///< set when the frame is a valid cast
  /// When `ok` is empty: the reason, naming the field
  /// (e.g. "destination: port out of range 1..65535").
  std::string error;
  /// When `ok` is empty: the encoded reply to send back (an update_status
  /// ERROR for a poll whose context and domain could be read, otherwise a
  /// {"method":"error"} map). Never empty when `ok` is empty.
  std::string error_reply;
  /// When `ok` is empty: the field at fault (the metric label).
  invalid_field field = invalid_field::other;
};

/// Decodes one frame of untrusted bytes. Never throws; safe on any input
/// (fuzzed). Unknown top-level keys are ignored; duplicate keys are errors.
/// With `allowed`, a destination outside the list is refused like any
/// other bad field ("destination: ... is not in minidns.allow-destinations").
/// `keys`: the TSIG keys a cast may name in `tsig_key` (none when null).
decode_result decode_cast(const void* data, size_t size,
                          const net::prefix_list* allowed = nullptr,
                          const net::tsig_keyring* keys = nullptr) noexcept;

/// The start of a pool poll's update_status (cast::reply_prefix when
/// `pool` is set): the map header, "method", "context", "domain" and, when
/// given, "request_id". finish_pool_status appends the rest.
std::string pool_status_prefix(std::string_view context,
                               std::string_view domain,
                               std::optional<std::string_view> request_id);

/// Final status of a poll.
enum class status : uint8_t { success, error };

/// Completes a poll reply: appends "status", "actual_serial" (nil when
/// `serial` is empty) and "detail" to `reply_prefix`. Returns one frame.
std::string finish_status(std::string reply_prefix, status st,
                          std::optional<uint32_t> serial,
                          std::string_view detail);

/// finish_status with one key more, "error": `reason` (a refusal such as
/// busy, which a pool manager's code and people both read).
std::string finish_status_with_error(std::string reply_prefix, status st,
                                     std::string_view detail,
                                     std::string_view reason);

/// One destination's line in a pool poll's status.
struct destination_status {
  std::string_view raw_destination; ///< as the cast wrote it (msgpack)
  std::string_view status;          ///< "SUCCESS", "ERROR" or "PENDING"
  std::optional<uint32_t> serial;   ///< the last serial it answered with
  std::string_view detail;
};

/// Completes a pool poll's reply (pool_status_prefix): "status",
/// "actual_serial", "detail" and "destinations", one map per destination.
std::string finish_pool_status(std::string reply_prefix, status st,
                               std::optional<uint32_t> serial,
                               std::string_view detail,
                               const std::vector<destination_status>& each);

/// Encodes {"method":"cancelled","request_id":raw,"count":count}.
std::string encode_cancelled(std::string_view raw_request_id, uint64_t count);

/// Encodes {"method":"error","error":reason} (plus "request_id" when the
/// raw msgpack bytes of one are given). For failures outside a decoded
/// frame, such as "draining" or "frame too large".
std::string encode_error(std::string_view reason,
                         std::string_view raw_request_id = {});

} // namespace minidns::messages
