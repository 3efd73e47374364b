#pragma once
/// Building update_status replies from the raw values a cast sent, for the
/// cast decoder. The public encoders (finish_status, encode_error) are
/// declared in cast.hpp; this header is not a public interface.

#include <optional>
#include <string>
#include <string_view>

namespace minidns::messages {

/// The start of a valid poll's update_status reply (cast::reply_prefix): the
/// map header for all of its keys, then "method", "context", "domain",
/// "destination" and, when given, "request_id", echoed byte for byte.
/// finish_status appends the rest.
std::string status_prefix(std::string_view context, std::string_view domain,
                          std::string_view destination,
                          std::optional<std::string_view> request_id);

/// The whole reply to an invalid poll whose context and domain could be
/// read: update_status ERROR, actual_serial nil, detail "invalid cast" and
/// "error" set to `reason`. `destination` is nil when absent.
std::string invalid_poll_reply(std::string_view context,
                               std::string_view domain,
                               std::optional<std::string_view> destination,
                               std::optional<std::string_view> request_id,
                               std::string_view reason);

} // namespace minidns::messages
