#pragma once
/// Domain names: presentation format to uncompressed wire format, and back.

#include <optional>
#include <string>
#include <string_view>

namespace minidns::net {

/// Longest name in wire format (RFC 1035 2.3.4).
inline constexpr size_t max_name_wire = 255;
/// Longest label (RFC 1035 2.3.4).
inline constexpr size_t max_label = 63;

/// Converts a zone name in presentation format ("example.com." or
/// "example.com"; "." is the root) to uncompressed wire format. Supports the
/// RFC 1035 escapes "\X" and "\DDD". Rejects empty names, empty labels
/// ("a..b", ".a"), labels over 63 octets, names over 255 octets in wire
/// format and bad escapes. Case is preserved. On failure returns nullopt and
/// sets `error` (without the field name; the caller prefixes it).
std::optional<std::string> name_to_wire(std::string_view text,
                                        std::string& error);

/// Presentation format of a valid uncompressed wire name, with trailing dot;
/// bytes outside printable ASCII, '.', '\\' and ' ' escaped as \DDD / \X.
std::string wire_to_text(std::string_view wire);

/// Compares two uncompressed wire names ASCII-case-insensitively
/// (RFC 4343).
bool wire_names_equal(std::string_view a, std::string_view b) noexcept;

} // namespace minidns::net
