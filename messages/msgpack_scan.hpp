#pragma once
/// The bounded pre-scan of untrusted msgpack. Before msgpack-c sees a frame,
/// scan_top walks it once, allocating nothing per declared entry: it checks
/// that the frame is complete and within the container limits of cast.hpp,
/// and records the byte range of every top-level value, so echoed values are
/// copied byte for byte and a limit violation can name the key it sits
/// under. msgpack-c's unpack_limit stays as a second line of defence (with
/// it, msgpack-c allocates O(frame size) at most).
///
/// Shared by the cast decoder and the client codec; not a public interface.

#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minidns::messages {

// ---------------------------------------------------------------------------
// Text for error messages: they must stay printable ASCII (they travel as
// msgpack str and end up in logs and JSON).

/// Quotes untrusted bytes for an error message: printable ASCII as is,
/// everything else as \xNN, cut after `max` input bytes.
std::string printable(std::string_view s, size_t max = 64);

/// Makes a finished error message safe to send whatever its parts held
/// (messages from net/ may quote input bytes).
std::string ascii_safe(std::string_view s);

// ---------------------------------------------------------------------------
// Scanning.

/// Whether `raw` is exactly one well-formed value within the limits; if not,
/// `err` says why.
bool is_one_value(std::string_view raw, std::string& err);

/// One top-level map entry, as slices of the frame.
struct entry {
  bool key_is_str = false; ///< only string keys have `key` set
  std::string_view key;    ///< the key's bytes, without the str header
  std::string_view raw;    ///< the value's msgpack bytes
  bool duplicate = false;  ///< another entry has the same string key
};

/// The top-level map of a frame after the structural scan.
struct top_map {
  std::vector<entry> entries; ///< in frame order
  /// Fatal: the frame is not well-formed or exceeds limits. Nothing but
  /// request_id can be trusted.
  std::string structural_error;
  /// The key whose value broke the frame (structural_error), empty when
  /// the fault is the frame's own.
  std::string_view structural_key;
  /// The first key problem (non-string or duplicate key), by position.
  std::string key_error;
  /// The key of key_error (a duplicate), empty for a non-string key.
  std::string_view key_error_key;
  /// Raw request_id when readable: a complete value under a unique key.
  std::optional<std::string_view> request_id;

  /// The entry for `key`, when present exactly once.
  const entry* unique(std::string_view key) const {
    for (const auto& e : entries)
      if (e.key_is_str && e.key == key)
        return e.duplicate ? nullptr : &e;
    return nullptr;
  }
};

/// Scans a frame whose top level must be a map with string keys.
/// `trailing_error` is the structural error for bytes after the map. With
/// `utf8`, every str in the frame (keys and values, at any depth) must be
/// valid UTF-8, or the scan stops with a structural error under the key it
/// sits in: a reply never echoes a string a pool manager cannot decode.
top_map scan_top(const uint8_t* p, size_t n, const char* trailing_error,
                 bool utf8 = false);

/// Whether `p[0..n)` is valid UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing past U+10FFFF).
bool valid_utf8(const uint8_t* p, size_t n);

// ---------------------------------------------------------------------------
// Unpacking what the scan accepted.

/// Unpacks one value that scan_top (or is_one_value) already checked.
/// Strings and bins point into `raw`, which must outlive the handle.
msgpack::object_handle unpack_checked(std::string_view raw);

/// Unpacks one value that scan_top already checked into this thread's
/// scratch zone, which the next call reuses: decoding a cast allocates no
/// zone. The object is valid until the thread's next call; strings point
/// into `raw`.
msgpack::object unpack_scratch(std::string_view raw);

/// The bytes of a msgpack str object.
inline std::string_view str_of(const msgpack::object& o) {
  return std::string_view(o.via.str.ptr, o.via.str.size);
}

} // namespace minidns::messages
