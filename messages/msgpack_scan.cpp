/// The bounded pre-scan of untrusted msgpack (msgpack_scan.hpp).

#include "messages/msgpack_scan.hpp"

#include "messages/cast.hpp"
#include "messages/wire.hpp"

#include <array>
#include <cstdint>

namespace minidns::messages {
namespace {

char hex_digit(unsigned v) {
  return "0123456789abcdef"[v & 0xf];
}

void append_hex_byte(std::string& out, uint8_t b) {
  out += "\\x";
  out += hex_digit(b >> 4);
  out += hex_digit(b);
}

// ---------------------------------------------------------------------------
// Structural scan.

/// One msgpack header: the bytes consumed (header and scalar payload) and,
/// for containers, the number of entries.
struct item {
  bool container = false;
  bool map = false;
  uint64_t entries = 0; ///< elements, or key/value pairs for maps
};

} // namespace

bool valid_utf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    uint32_t min;
    if ((b & 0xe0) == 0xc0) {
      len = 2, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      len = 3, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return false; // a continuation byte, or 0xf8..0xff
    }
    if (len > n - i)
      return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
    // not UTF-8 (RFC 3629).
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return false;
    i += len;
  }
  return true;
}

namespace {

uint64_t read_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v = (v << 8) | p[i];
  return v;
}

/// Reads the value header at `pos` and skips any scalar payload. Returns
/// false and sets `err` when the bytes end early or are invalid, or (with
/// `utf8`) when a str is not valid UTF-8.
bool read_item(const uint8_t* p, size_t n, size_t& pos, item& it,
               std::string& err, bool utf8) {
  if (pos >= n) {
    err = "truncated msgpack";
    return false;
  }
  const uint8_t b = p[pos++];
  it = item{};
  size_t len_bytes = 0;   // size of a length field that follows
  size_t count_bytes = 0; // size of a container count that follows
  uint64_t payload = 0;   // fixed payload after the header
  uint64_t extra = 0;     // ext type byte, counted after the length field
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
    // fixint, nil, bool: header only
  } else if (b <= 0x8f) {
    it.container = it.map = true;
    it.entries = b & 0x0f;
  } else if (b <= 0x9f) {
    it.container = true;
    it.entries = b & 0x0f;
  } else if (b <= 0xbf) {
    payload = b & 0x1f;
  } else {
    // One line per format, like the spec's table.
    // clang-format off
    switch (b) {
    case 0xc4: case 0xd9: len_bytes = 1; break;  // bin8, str8
    case 0xc5: case 0xda: len_bytes = 2; break;  // bin16, str16
    case 0xc6: case 0xdb: len_bytes = 4; break;  // bin32, str32
    case 0xc7: len_bytes = 1; extra = 1; break;  // ext8
    case 0xc8: len_bytes = 2; extra = 1; break;  // ext16
    case 0xc9: len_bytes = 4; extra = 1; break;  // ext32
    case 0xca: payload = 4; break;               // float32
    case 0xcb: payload = 8; break;               // float64
    case 0xcc: case 0xd0: payload = 1; break;    // uint8, int8
    case 0xcd: case 0xd1: payload = 2; break;    // uint16, int16
    case 0xce: case 0xd2: payload = 4; break;    // uint32, int32
    case 0xcf: case 0xd3: payload = 8; break;    // uint64, int64
    case 0xd4: payload = 2; break;               // fixext1: type + data
    case 0xd5: payload = 3; break;               // fixext2
    case 0xd6: payload = 5; break;               // fixext4
    case 0xd7: payload = 9; break;               // fixext8
    case 0xd8: payload = 17; break;              // fixext16
    case 0xdc: it.container = true; count_bytes = 2; break;          // array16
    case 0xdd: it.container = true; count_bytes = 4; break;          // array32
    case 0xde: it.container = it.map = true; count_bytes = 2; break; // map16
    case 0xdf: it.container = it.map = true; count_bytes = 4; break; // map32
    // clang-format on
    default: // 0xc1, never used by msgpack
      err = "invalid msgpack byte 0x";
      err += hex_digit(b >> 4);
      err += hex_digit(b);
      return false;
    }
  }
  const size_t field = len_bytes + count_bytes;
  if (field > n - pos) {
    err = "truncated msgpack";
    return false;
  }
  if (count_bytes)
    it.entries = read_be(p + pos, count_bytes);
  if (len_bytes)
    payload = read_be(p + pos, len_bytes) + extra;
  pos += field;
  if (payload > n - pos) {
    err = "truncated msgpack";
    return false;
  }
  const bool str = (b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb);
  if (utf8 && str && !valid_utf8(p + pos, static_cast<size_t>(payload))) {
    err = "invalid UTF-8 in a string";
    return false;
  }
  pos += static_cast<size_t>(payload);
  return true;
}

std::string too_many_entries(const item& it) {
  return std::string(it.map ? "map" : "array") + " with " +
         std::to_string(it.entries) + " entries (limit " +
         std::to_string(max_container_entries) + ")";
}

std::string too_deep() {
  return "nested deeper than " + std::to_string(max_nesting_depth) + " levels";
}

/// Skips one complete value at `pos` that sits inside `depth` containers.
/// Iterative with a fixed stack: hostile nesting costs neither heap nor
/// call stack.
bool skip_value(const uint8_t* p, size_t n, size_t& pos, size_t depth,
                std::string& err, bool utf8) {
  std::array<uint64_t, max_nesting_depth> pending{}; // values left per level
  size_t open = 0;
  do {
    item it;
    if (!read_item(p, n, pos, it, err, utf8))
      return false;
    if (open > 0)
      --pending[open - 1];
    if (it.container) {
      if (it.entries > max_container_entries) {
        err = too_many_entries(it);
        return false;
      }
      if (depth + open + 1 > max_nesting_depth) {
        err = too_deep();
        return false;
      }
      if (it.entries > 0) {
        pending[open++] = it.map ? it.entries * 2 : it.entries;
        continue;
      }
    }
    while (open > 0 && pending[open - 1] == 0)
      --open;
  } while (open > 0);
  return true;
}

bool is_str_header(uint8_t b) {
  return (b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb);
}

/// msgpack-c limits, a second line of defence behind scan_top.
msgpack::unpack_limit limits_for(size_t n) {
  return msgpack::unpack_limit(max_container_entries, max_container_entries, n,
                               n, n, max_nesting_depth);
}

/// Strings and bins point into the frame instead of being copied; the frame
/// outlives every object we read.
bool reference_frame(msgpack::type::object_type, size_t, void*) {
  return true;
}

} // namespace

std::string printable(std::string_view s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b == '\\' || b == '\'') {
      out += '\\';
      out += static_cast<char>(b);
    } else if (b >= 0x20 && b < 0x7f) {
      out += static_cast<char>(b);
    } else {
      append_hex_byte(out, b);
    }
  }
  if (s.size() > max)
    out += "...";
  return out;
}

std::string ascii_safe(std::string_view s) {
  constexpr size_t max = 512;
  std::string out;
  for (size_t i = 0; i < s.size() && out.size() < max; ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b >= 0x20 && b < 0x7f)
      out += static_cast<char>(b);
    else
      append_hex_byte(out, b);
  }
  if (out.size() >= max)
    out += "...";
  return out;
}

bool is_one_value(std::string_view raw, std::string& err) {
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  size_t pos = 0;
  if (!skip_value(p, raw.size(), pos, 0, err, false))
    return false;
  if (pos != raw.size()) {
    err = "trailing bytes after the value";
    return false;
  }
  return true;
}

top_map scan_top(const uint8_t* p, size_t n, const char* trailing_error,
                 bool utf8) {
  top_map t;
  if (n == 0) {
    t.structural_error = "frame is empty";
    return t;
  }
  const uint8_t b0 = p[0];
  if (!((b0 >= 0x80 && b0 <= 0x8f) || b0 == 0xde || b0 == 0xdf)) {
    t.structural_error = "frame is not a msgpack map";
    return t;
  }
  size_t pos = 0;
  item top;
  std::string err;
  if (!read_item(p, n, pos, top, err, utf8)) {
    t.structural_error = "frame: " + err;
    return t;
  }
  if (top.entries > max_container_entries) {
    t.structural_error = "frame: " + too_many_entries(top);
    return t;
  }
  t.entries.reserve(top.entries);
  bool request_id_seen = false;
  for (uint64_t i = 0; i < top.entries; ++i) {
    entry e;
    const size_t key_start = pos;
    if (pos < n && is_str_header(p[pos])) {
      item key;
      if (!read_item(p, n, pos, key, err, utf8)) {
        t.structural_error = "frame: key " + std::to_string(i + 1) + ": " + err;
        return t;
      }
      // A str's payload is the tail of what read_item skipped.
      size_t header = 1;
      if (p[key_start] >= 0xd9)
        header += size_t{1} << (p[key_start] - 0xd9);
      e.key_is_str = true;
      e.key = std::string_view(reinterpret_cast<const char*>(p) + key_start +
                                   header,
                               pos - key_start - header);
    } else {
      if (!skip_value(p, n, pos, 1, err, utf8)) {
        t.structural_error = "frame: " + err;
        return t;
      }
      if (t.key_error.empty())
        t.key_error =
            "frame: key " + std::to_string(i + 1) + " is not a string";
    }
    const size_t value_start = pos;
    if (!skip_value(p, n, pos, 1, err, utf8)) {
      t.structural_error =
          (e.key_is_str ? printable(e.key) : std::string("frame")) + ": " + err;
      if (e.key_is_str)
        t.structural_key = e.key;
      return t;
    }
    e.raw = std::string_view(reinterpret_cast<const char*>(p) + value_start,
                             pos - value_start);
    if (e.key_is_str) {
      for (auto& prev : t.entries) {
        if (prev.key_is_str && prev.key == e.key) {
          prev.duplicate = e.duplicate = true;
          if (t.key_error.empty()) {
            t.key_error = printable(e.key) + ": duplicate key";
            t.key_error_key = e.key;
          }
        }
      }
      if (e.key == key_request_id) {
        // An ambiguous request_id is not echoed.
        t.request_id = request_id_seen ? std::nullopt
                                       : std::optional<std::string_view>(e.raw);
        request_id_seen = true;
      }
    }
    t.entries.push_back(e);
  }
  if (pos != n)
    t.structural_error = trailing_error;
  return t;
}

msgpack::object_handle unpack_checked(std::string_view raw) {
  size_t off = 0;
  return msgpack::unpack(raw.data(), raw.size(), off, reference_frame, nullptr,
                         limits_for(raw.size()));
}

msgpack::object unpack_scratch(std::string_view raw) {
  thread_local msgpack::zone zone;
  zone.clear();
  size_t off = 0;
  bool referenced = false;
  return msgpack::unpack(zone, raw.data(), raw.size(), off, referenced,
                         reference_frame, nullptr, limits_for(raw.size()));
}

} // namespace minidns::messages
