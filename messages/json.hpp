#pragma once
/// JSON string escaping, shared by the msgpack-to-JSON rendering of replies
/// and the JSON log lines.

#include <string>
#include <string_view>

namespace minidns::messages {

/// Appends `s` as a JSON string literal, quotes included: '"', '\\' and
/// control characters escaped, valid UTF-8 kept, each invalid byte turned
/// into U+FFFD.
void append_json_string(std::string& out, std::string_view s);

} // namespace minidns::messages
