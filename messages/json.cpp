#include "messages/json.hpp"

#include <cstdint>

namespace minidns::messages {

namespace {

char hex_digit(unsigned v) {
  return "0123456789abcdef"[v & 0xf];
}

/// Length of the valid UTF-8 sequence at s[i], or 0 when invalid
/// (overlong forms, surrogates and code points above U+10FFFF included).
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const size_t left = s.size() - i;
  const uint8_t c = b(0);
  auto cont = [&](size_t k) { return k < left && (b(k) & 0xc0) == 0x80; };
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2))
      return 0;
    if (c == 0xe0 && b(1) < 0xa0)
      return 0; // overlong
    if (c == 0xed && b(1) >= 0xa0)
      return 0; // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if (c == 0xf0 && b(1) < 0x90)
      return 0; // overlong
    if (c == 0xf4 && b(1) >= 0x90)
      return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

} // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += hex_digit(c >> 4);
        out += hex_digit(c);
      }
      ++i;
    } else if (const size_t len = utf8_length(s, i); len > 0) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out += '"';
}

} // namespace minidns::messages
