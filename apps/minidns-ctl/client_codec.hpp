#pragma once
/// The pool manager's side of the msgpack contract (docs/protocol.md):
/// building casts, reading replies and rendering msgpack as JSON. Used by
/// minidns-ctl, the tests, the bench and the fuzz targets; the daemon needs
/// only the server side (messages/cast.hpp).

#include "messages/cast.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minidns::messages {

/// Encodes a cast frame (for minidns-ctl and tests). Values are not
/// validated, so malformed casts can be built on purpose. `timeout` and
/// `retry_interval` are written as float64. `raw_context` and
/// `raw_request_id` are msgpack bytes copied verbatim (context is nil when
/// empty; request_id is left out when empty); throws std::invalid_argument
/// unless each non-empty one is exactly one well-formed msgpack value.
/// A zone's SOA for a notify's `domain.soa` (the NOTIFY's answer section).
struct soa_hint {
  std::string mname, rname;
  uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0, ttl = 0;
};

/// What a poll may carry besides the fields of every cast.
struct cast_extras {
  /// `destinations`, instead of `destination`, when not empty.
  std::vector<std::string> destinations;
  std::optional<unsigned> threshold; ///< `threshold_percentage`
  std::string expect;                ///< `expect`; left out when empty
};

/// ... With `soa`, `domain` carries it as `soa`. `extras` adds the keys of
/// pool polls.
std::string encode_cast(method m, std::string_view zone_name,
                        std::optional<uint32_t> serial,
                        std::string_view destination, double timeout,
                        double retry_interval, uint32_t max_retries,
                        std::string_view raw_context = {},
                        std::string_view raw_request_id = {},
                        const soa_hint* soa = nullptr,
                        const cast_extras* extras = nullptr);

/// A poll of `zone` (for `serial`) across `destinations`, with
/// `threshold_percentage` and `expect` when given: encode_cast with
/// cast_extras, for tools and tests.
std::string encode_pool_poll(std::string_view zone, uint32_t serial,
                             const std::vector<std::string>& destinations,
                             std::optional<unsigned> threshold, double timeout,
                             double retry_interval, uint32_t max_retries,
                             std::string_view raw_request_id = {},
                             std::string_view expect = {});

/// Encodes {"method":"cancel","request_id":raw}.
std::string encode_cancel(std::string_view raw_request_id);

/// One destination's line in a pool poll's update_status.
struct destination_reply {
  std::string destination;
  std::string status; ///< "SUCCESS", "ERROR" or "PENDING"
  std::optional<uint32_t> actual_serial;
  std::string detail;
};

/// A reply frame from minidns, as read by minidns-ctl and tests. Strings are
/// empty and `actual_serial` unset when the key is absent or nil; `raw_*`
/// hold the msgpack bytes of the echoed values, empty when absent.
struct reply {
  std::string method; ///< "update_status" or "error"
  std::string status; ///< "SUCCESS" or "ERROR" (update_status only)
  std::optional<uint32_t> actual_serial; ///< the serial minidns saw last
  std::string detail, error;             ///< the reasons, for people
  std::string raw_request_id, raw_context, raw_domain, raw_destination;
  /// A pool poll's lines, one per destination (`destinations`).
  std::vector<destination_reply> destinations;
  std::optional<uint64_t> count; ///< a cancel's reply: casts it ended
};

/// Decodes a reply frame. Never throws. Returns nullopt and sets `error`
/// when the frame is not a well-formed msgpack map with a string "method",
/// or a known key has the wrong type.
std::optional<reply> decode_reply(const void* data, size_t size,
                                  std::string& error) noexcept;

/// Renders exactly one msgpack value as one line of JSON (no newline). Map
/// keys that are not strings become the JSON text of the key as a string
/// (1 -> "1"); bin becomes a base64 string; ext becomes
/// {"ext_type":T,"base64":"..."}; non-finite floats become null; invalid
/// UTF-8 in strings becomes U+FFFD. Input that is not exactly one
/// well-formed value within the frame limits yields
/// {"invalid_msgpack":"<reason>"}.
std::string msgpack_to_json(const void* data, size_t size);

} // namespace minidns::messages
