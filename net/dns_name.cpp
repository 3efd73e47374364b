#include "net/dns_name.hpp"

#include "net/text.hpp"

#include <cstdint>

namespace minidns::net {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

unsigned digit(char c) {
  return static_cast<unsigned>(c - '0');
}

uint8_t lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + ('a' - 'A')) : c;
}

} // namespace

std::optional<std::string> name_to_wire(std::string_view text,
                                        std::string& error) {
  if (text.empty()) {
    error = "empty name; use '.' for the root zone";
    return std::nullopt;
  }
  std::string wire;
  if (text == ".") {
    wire.push_back('\0');
    return wire;
  }
  wire.reserve(text.size() + 2);

  size_t i = 0;
  while (i < text.size()) {
    // One label: text[label_start, i) once the loop below stops.
    const size_t label_start = i;
    const size_t len_pos = wire.size();
    wire.push_back('\0'); // length, patched below
    size_t label_len = 0;
    while (i < text.size() && text[i] != '.') {
      uint8_t octet;
      if (text[i] == '\\') {
        if (i + 1 >= text.size()) {
          error = "bad escape: trailing backslash in " + quoted(text);
          return std::nullopt;
        }
        if (is_digit(text[i + 1])) {
          if (i + 3 >= text.size() || !is_digit(text[i + 2]) ||
              !is_digit(text[i + 3])) {
            error = "bad escape: \\DDD needs exactly three digits in " +
                    quoted(text);
            return std::nullopt;
          }
          const unsigned value = digit(text[i + 1]) * 100 +
                                 digit(text[i + 2]) * 10 + digit(text[i + 3]);
          if (value > 255) {
            error = "bad escape: \\" + std::string(text.substr(i + 1, 3)) +
                    " is greater than 255 in " + quoted(text);
            return std::nullopt;
          }
          octet = static_cast<uint8_t>(value);
          i += 4;
        } else {
          octet = static_cast<uint8_t>(text[i + 1]);
          i += 2;
        }
      } else {
        octet = static_cast<uint8_t>(text[i]);
        ++i;
      }
      ++label_len;
      if (label_len > max_label) {
        // Report the whole label as written, for the person to find it.
        size_t end = i;
        while (end < text.size() && text[end] != '.') {
          if (text[end] == '\\' && end + 1 < text.size())
            ++end;
          ++end;
        }
        if (end > text.size())
          end = text.size();
        error = "label longer than 63 octets: " +
                quoted(text.substr(label_start, end - label_start));
        return std::nullopt;
      }
      wire.push_back(static_cast<char>(octet));
    }
    if (label_len == 0) {
      error = "empty label in " + quoted(text);
      return std::nullopt;
    }
    wire[len_pos] = static_cast<char>(label_len);
    // The root label still has to fit.
    if (wire.size() + 1 > max_name_wire) {
      error = "name longer than 255 octets: " + quoted(text);
      return std::nullopt;
    }
    if (i < text.size())
      ++i; // the '.' after the label; a trailing one ends the name
  }
  wire.push_back('\0');
  return wire;
}

std::string wire_to_text(std::string_view wire) {
  std::string out;
  size_t pos = 0;
  // Defensive: stops at the end of the buffer or at a byte that is not a
  // plain label length, so that invalid input cannot read out of bounds.
  while (pos < wire.size()) {
    const auto len = static_cast<uint8_t>(wire[pos]);
    if (len == 0 || len > max_label || pos + 1 + len > wire.size())
      break;
    for (size_t k = pos + 1; k <= pos + len; ++k) {
      const auto c = static_cast<uint8_t>(wire[k]);
      if (c == '.' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c <= ' ' || c >= 0x7f) {
        out += '\\';
        out += static_cast<char>('0' + c / 100);
        out += static_cast<char>('0' + c / 10 % 10);
        out += static_cast<char>('0' + c % 10);
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '.';
    pos += 1 + len;
  }
  if (out.empty())
    out = ".";
  return out;
}

bool wire_names_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  // Length octets are below 64 and so never in 'A'..'Z': lowering every
  // octet compares labels case-insensitively and lengths exactly.
  for (size_t k = 0; k < a.size(); ++k) {
    if (lower(static_cast<uint8_t>(a[k])) != lower(static_cast<uint8_t>(b[k])))
      return false;
  }
  return true;
}

} // namespace minidns::net
