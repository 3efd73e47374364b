#pragma once
/// The vocabulary both sides of the msgpack contract share (docs/protocol.md):
/// key and method names, and packing into a std::string with msgpack-c. Used
/// by the daemon's decoder and reply encoder and by the client codec
/// (apps/minidns-ctl/client_codec.hpp); not a public interface.

#include <cstdint>
#include <msgpack.hpp>
#include <string>
#include <string_view>

namespace minidns::messages {

/// Top-level keys of casts and replies.
inline constexpr std::string_view key_method = "method";
inline constexpr std::string_view key_context = "context";
inline constexpr std::string_view key_domain = "domain";
inline constexpr std::string_view key_destination = "destination";
inline constexpr std::string_view key_timeout = "timeout";
inline constexpr std::string_view key_retry_interval = "retry_interval";
inline constexpr std::string_view key_max_retries = "max_retries";
inline constexpr std::string_view key_delay = "delay";
inline constexpr std::string_view key_transport = "transport";
inline constexpr std::string_view key_want_status = "want_status";
inline constexpr std::string_view key_tsig_key = "tsig_key";
inline constexpr std::string_view key_request_id = "request_id";
inline constexpr std::string_view key_destinations = "destinations";
inline constexpr std::string_view key_threshold = "threshold_percentage";
inline constexpr std::string_view key_expect = "expect";
inline constexpr std::string_view key_count = "count";

/// The values of "method" in casts.
inline constexpr std::string_view name_notify = "notify_zone_changed";
inline constexpr std::string_view name_poll = "poll_for_serial_number";
inline constexpr std::string_view name_get_serial = "get_serial_number";
inline constexpr std::string_view name_cancel = "cancel";
/// The method of a cancel's reply.
inline constexpr std::string_view name_cancelled = "cancelled";

/// A msgpack stream that appends to a string: a frame is packed in place,
/// with no intermediate buffer to copy from.
struct string_stream {
  std::string& out; ///< where packed bytes go
  /// Appends `n` bytes (msgpack-c's stream interface).
  void write(const char* p, size_t n) { out.append(p, n); }
};

/// msgpack-c's packer writing into a string_stream.
using packer = msgpack::packer<string_stream>;

/// Packs `s` as a msgpack str.
inline void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

/// Appends msgpack bytes as they are (values echoed byte for byte).
inline void pack_raw(std::string& buf, std::string_view raw) {
  buf.append(raw.data(), raw.size());
}

} // namespace minidns::messages
