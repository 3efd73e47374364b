#include "messages/cast.hpp"

#include "net/dns_name.hpp"
#include "net/json.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <msgpack.hpp>
#include <stdexcept>
#include <vector>

namespace minidns::messages {
namespace {

/// A msgpack stream that appends to a string: a frame is packed in place,
/// with no intermediate buffer to copy from.
struct string_stream {
  std::string& out;
  void write(const char* p, size_t n) { out.append(p, n); }
};

using packer = msgpack::packer<string_stream>;

constexpr std::string_view key_method = "method";
constexpr std::string_view key_context = "context";
constexpr std::string_view key_domain = "domain";
constexpr std::string_view key_destination = "destination";
constexpr std::string_view key_timeout = "timeout";
constexpr std::string_view key_retry_interval = "retry_interval";
constexpr std::string_view key_max_retries = "max_retries";
constexpr std::string_view key_request_id = "request_id";

constexpr std::string_view name_notify = "notify_zone_changed";
constexpr std::string_view name_poll = "poll_for_serial_number";

// ---------------------------------------------------------------------------
// Text helpers: error strings must stay printable ASCII (they travel as
// msgpack str and end up in logs and JSON).

char hex_digit(unsigned v) {
  return "0123456789abcdef"[v & 0xf];
}

void append_hex_byte(std::string& out, uint8_t b) {
  out += "\\x";
  out += hex_digit(b >> 4);
  out += hex_digit(b);
}

/// Quotes untrusted bytes for an error message: printable ASCII as is,
/// everything else as \xNN, cut after `max` input bytes.
std::string printable(std::string_view s, size_t max = 64) {
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

/// Makes a finished error message safe to send whatever its parts held
/// (messages from net/ may quote input bytes).
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

/// Shortest text that reads back as `v` ("3600", "0.5").
std::string number_text(double v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc{})
    return "?";
  return std::string(buf.data(), end);
}

// ---------------------------------------------------------------------------
// Structural scan. Before msgpack-c sees a frame, this walks it once,
// allocating nothing per declared entry: it checks that the frame is complete
// and within the container limits, and records the byte range of every
// top-level value, so echoed values are copied byte for byte and a limit
// violation can name the key it sits under. msgpack-c's unpack_limit stays as a
// second line of defence (with it, msgpack-c allocates O(frame size) at most).

/// One msgpack header: the bytes consumed (header and scalar payload) and,
/// for containers, the number of entries.
struct item {
  bool container = false;
  bool map = false;
  uint64_t entries = 0; ///< elements, or key/value pairs for maps
};

uint64_t read_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v = (v << 8) | p[i];
  return v;
}

/// Reads the value header at `pos` and skips any scalar payload. Returns
/// false and sets `err` when the bytes end early or are invalid.
bool read_item(const uint8_t* p, size_t n, size_t& pos, item& it,
               std::string& err) {
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
                std::string& err) {
  std::array<uint64_t, max_nesting_depth> pending{}; // values left per level
  size_t open = 0;
  do {
    item it;
    if (!read_item(p, n, pos, it, err))
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

/// Whether `raw` is exactly one well-formed value within the limits.
bool is_one_value(std::string_view raw, std::string& err) {
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  size_t pos = 0;
  if (!skip_value(p, raw.size(), pos, 0, err))
    return false;
  if (pos != raw.size()) {
    err = "trailing bytes after the value";
    return false;
  }
  return true;
}

/// One top-level map entry, as slices of the frame.
struct entry {
  bool key_is_str = false;
  std::string_view key;
  std::string_view raw; ///< the value's msgpack bytes
  bool duplicate = false;
};

/// The top-level map of a frame after the structural scan.
struct top_map {
  std::vector<entry> entries;
  /// Fatal: the frame is not well-formed or exceeds limits. Nothing but
  /// request_id can be trusted.
  std::string structural_error;
  /// The first key problem (non-string or duplicate key), by position.
  std::string key_error;
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

bool is_str_header(uint8_t b) {
  return (b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb);
}

/// Scans a frame whose top level must be a map with string keys.
top_map scan_top(const uint8_t* p, size_t n, const char* trailing_error) {
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
  if (!read_item(p, n, pos, top, err)) {
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
      if (!read_item(p, n, pos, key, err)) {
        t.structural_error = "frame: " + err;
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
      if (!skip_value(p, n, pos, 1, err)) {
        t.structural_error = "frame: " + err;
        return t;
      }
      if (t.key_error.empty())
        t.key_error =
            "frame: key " + std::to_string(i + 1) + " is not a string";
    }
    const size_t value_start = pos;
    if (!skip_value(p, n, pos, 1, err)) {
      t.structural_error =
          (e.key_is_str ? printable(e.key) : std::string("frame")) + ": " + err;
      return t;
    }
    e.raw = std::string_view(reinterpret_cast<const char*>(p) + value_start,
                             pos - value_start);
    if (e.key_is_str) {
      for (auto& prev : t.entries) {
        if (prev.key_is_str && prev.key == e.key) {
          prev.duplicate = e.duplicate = true;
          if (t.key_error.empty())
            t.key_error = printable(e.key) + ": duplicate key";
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

/// Unpacks one value that scan_top already checked.
msgpack::object_handle unpack_checked(std::string_view raw) {
  size_t off = 0;
  return msgpack::unpack(raw.data(), raw.size(), off, reference_frame, nullptr,
                         limits_for(raw.size()));
}

/// Unpacks one value that scan_top already checked into this thread's
/// scratch zone, which the next call reuses: decoding a cast allocates no
/// zone. The object is valid until the thread's next call.
msgpack::object unpack_scratch(std::string_view raw) {
  thread_local msgpack::zone zone;
  zone.clear();
  size_t off = 0;
  bool referenced = false;
  return msgpack::unpack(zone, raw.data(), raw.size(), off, referenced,
                         reference_frame, nullptr, limits_for(raw.size()));
}

// ---------------------------------------------------------------------------
// Encoding.

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_raw(std::string& buf, std::string_view raw) {
  buf.append(raw.data(), raw.size());
}

/// Always a float64: packer::pack_double writes integral values as ints.
void pack_float64(std::string& buf, double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  std::array<char, 9> out{};
  out[0] = static_cast<char>(0xcb);
  for (size_t i = 0; i < 8; ++i)
    out[1 + i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
  buf.append(out.data(), out.size());
}

/// Bytes msgpack takes for a str of `n` bytes.
size_t str_size(size_t n) {
  return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

/// Bytes build_prefix packs for these values.
size_t prefix_size(uint32_t keys, std::string_view context,
                   std::string_view domain,
                   std::optional<std::string_view> destination,
                   std::optional<std::string_view> request_id) {
  return (keys < 16 ? 1 : 3) + str_size(key_method.size()) +
         str_size(std::string_view("update_status").size()) +
         str_size(key_context.size()) + context.size() +
         str_size(key_domain.size()) + domain.size() +
         str_size(key_destination.size()) +
         (destination ? destination->size() : 1) +
         (request_id ? str_size(key_request_id.size()) + request_id->size()
                     : 0);
}

/// The update_status map header and echoed values. `destination` is packed
/// as nil when absent.
std::string build_prefix(uint32_t keys, std::string_view context,
                         std::string_view domain,
                         std::optional<std::string_view> destination,
                         std::optional<std::string_view> request_id) {
  std::string buf;
  // Exactly what it packs: a request keeps its prefix while it waits.
  buf.reserve(prefix_size(keys, context, domain, destination, request_id));
  string_stream stream{buf};
  packer pk(stream);
  pk.pack_map(keys);
  pack_str(pk, key_method);
  pack_str(pk, "update_status");
  pack_str(pk, key_context);
  pack_raw(buf, context);
  pack_str(pk, key_domain);
  pack_raw(buf, domain);
  pack_str(pk, key_destination);
  if (destination)
    pack_raw(buf, *destination);
  else
    pk.pack_nil();
  if (request_id) {
    pack_str(pk, key_request_id);
    pack_raw(buf, *request_id);
  }
  return buf;
}

/// Keys of an update_status reply besides the optional request_id.
constexpr uint32_t status_keys = 7;

// ---------------------------------------------------------------------------
// Field readers. Each returns an empty string when fine, else the reason
// without the field name.

std::string read_seconds(const msgpack::object& o, double& out) {
  switch (o.type) {
  case msgpack::type::POSITIVE_INTEGER:
    out = static_cast<double>(o.via.u64);
    return {};
  case msgpack::type::NEGATIVE_INTEGER:
    out = static_cast<double>(o.via.i64);
    return {};
  case msgpack::type::FLOAT32:
  case msgpack::type::FLOAT64:
    out = o.via.f64;
    if (!std::isfinite(out))
      return "must be a finite number of seconds";
    return {};
  default:
    return "must be a number of seconds";
  }
}

/// Seconds to microseconds, rounded to nearest. `s` is within
/// [0, 3600] here, so this cannot overflow.
std::chrono::microseconds to_micros(double s) {
  return std::chrono::microseconds(std::llround(s * 1e6));
}

/// Reads an unsigned integer within [0, max]. Floats (even 3.0) and bools
/// are not integers.
std::string read_uint(const msgpack::object& o, uint64_t max, uint64_t& out) {
  switch (o.type) {
  case msgpack::type::POSITIVE_INTEGER:
    if (o.via.u64 > max)
      return "out of range 0.." + std::to_string(max);
    out = o.via.u64;
    return {};
  case msgpack::type::NEGATIVE_INTEGER:
    return "out of range 0.." + std::to_string(max);
  default:
    return "must be an integer";
  }
}

std::string_view str_of(const msgpack::object& o) {
  return std::string_view(o.via.str.ptr, o.via.str.size);
}

struct field_error {
  std::string message;
};

[[noreturn]] void fail(std::string_view field, std::string_view why) {
  throw field_error{std::string(field) + ": " + std::string(why)};
}

/// Everything decode_cast learns before failing or succeeding.
struct decode_state {
  bool is_poll = false;
  std::optional<std::string_view> context;
  std::optional<std::string_view> domain; // set only when it is a map
};

/// Validates the fields in the documented order. Throws field_error.
cast validate(const top_map& t, const msgpack::object& root, decode_state& st,
              const net::prefix_list* allowed) {
  // Objects of the unique entries, by key.
  auto object_for = [&](std::string_view key) -> const msgpack::object* {
    for (size_t i = 0; i < t.entries.size(); ++i) {
      const auto& e = t.entries[i];
      if (e.key_is_str && e.key == key && !e.duplicate)
        return &root.via.map.ptr[i].val;
    }
    return nullptr;
  };
  // Duplicates were reported as key errors before any field is read.
  auto require = [&](std::string_view key) -> const msgpack::object& {
    const auto* o = object_for(key);
    if (!o)
      fail(key, "missing");
    return *o;
  };

  // Decide how the error reply looks before anything can fail.
  const auto* method_o = object_for(key_method);
  st.is_poll = method_o && method_o->type == msgpack::type::STR &&
               str_of(*method_o) == name_poll;
  if (const auto* e = t.unique(key_context))
    st.context = e->raw;
  if (const auto* e = t.unique(key_domain);
      e && object_for(key_domain)->type == msgpack::type::MAP)
    st.domain = e->raw;

  if (!t.key_error.empty())
    throw field_error{t.key_error};

  cast c;
  const auto& m = require(key_method);
  if (m.type != msgpack::type::STR)
    fail(key_method, "must be a string");
  if (str_of(m) == name_notify)
    c.kind = method::notify_zone_changed;
  else if (str_of(m) == name_poll)
    c.kind = method::poll_for_serial_number;
  else
    fail(key_method, "unknown '" + printable(str_of(m)) + "'");

  require(key_context); // any value, nil included

  const auto& d = require(key_domain);
  if (d.type != msgpack::type::MAP)
    fail(key_domain, "must be a map");
  // Only string keys of domain are ours; the rest is echoed untouched.
  auto domain_field = [&](std::string_view key) -> const msgpack::object* {
    const msgpack::object* found = nullptr;
    for (uint32_t i = 0; i < d.via.map.size; ++i) {
      const auto& kv = d.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR && str_of(kv.key) == key) {
        if (found)
          fail("domain." + std::string(key), "duplicate key");
        found = &kv.val;
      }
    }
    return found;
  };
  const auto* name = domain_field("name");
  if (!name)
    fail("domain.name", "missing");
  if (name->type != msgpack::type::STR)
    fail("domain.name", "must be a string");
  std::string err;
  auto wire = net::name_to_wire(str_of(*name), err);
  if (!wire)
    fail("domain.name", err.empty() ? "invalid name" : err);
  c.zone_wire = std::move(*wire);

  if (c.kind == method::poll_for_serial_number) {
    const auto* serial = domain_field("serial");
    if (!serial)
      fail("domain.serial", "missing");
    uint64_t v = 0;
    if (auto why = read_uint(*serial, std::numeric_limits<uint32_t>::max(), v);
        !why.empty())
      fail("domain.serial", why);
    c.serial = static_cast<uint32_t>(v);
  }

  const auto& dest = require(key_destination);
  if (dest.type != msgpack::type::STR)
    fail(key_destination, "must be a string");
  err.clear();
  auto ep = net::parse_destination(str_of(dest), err);
  if (!ep)
    fail(key_destination, err.empty() ? "invalid address" : err);
  if (allowed != nullptr && !allowed->allows(*ep))
    fail(key_destination,
         ep->to_string() + " is not in minidns.allow-destinations");
  c.destination = *ep;

  double s = 0;
  if (auto why = read_seconds(require(key_timeout), s); !why.empty())
    fail(key_timeout, why);
  if (!(s > 0))
    fail(key_timeout, "must be > 0 seconds");
  if (s > max_timeout_seconds)
    fail(key_timeout,
         "must be at most " + number_text(max_timeout_seconds) + " seconds");
  // A positive timeout never becomes zero: below 0.5 us it rounds up.
  c.timeout = std::max(to_micros(s), std::chrono::microseconds(1));

  if (auto why = read_seconds(require(key_retry_interval), s); !why.empty())
    fail(key_retry_interval, why);
  if (!(s >= 0))
    fail(key_retry_interval, "must be >= 0 seconds");
  if (s > max_retry_interval_seconds)
    fail(key_retry_interval, "must be at most " +
                                 number_text(max_retry_interval_seconds) +
                                 " seconds");
  c.retry_interval = to_micros(s);

  uint64_t retries = 0;
  if (auto why = read_uint(require(key_max_retries),
                           static_cast<uint64_t>(max_max_retries), retries);
      !why.empty())
    fail(key_max_retries, why);
  c.max_retries = static_cast<uint32_t>(retries);
  return c;
}

/// The one reply to an invalid frame.
std::string invalid_reply(const top_map& t, const decode_state& st,
                          const std::string& reason) {
  if (st.is_poll && st.context && st.domain) {
    std::optional<std::string_view> dest;
    if (const auto* e = t.unique(key_destination))
      dest = e->raw;
    const uint32_t keys = status_keys + 1 + (t.request_id ? 1 : 0);
    auto out = finish_status(
        build_prefix(keys, *st.context, *st.domain, dest, t.request_id),
        status::error, std::nullopt, "invalid cast");
    string_stream stream{out};
    packer pk(stream);
    pack_str(pk, "error");
    pack_str(pk, reason);
    return out;
  }
  return encode_error(reason, t.request_id.value_or(std::string_view{}));
}

decode_result decode_impl(const uint8_t* p, size_t n,
                          const net::prefix_list* allowed) {
  decode_result r;
  if (n > max_frame_size) {
    r.error = "frame too large (" + std::to_string(n) + " bytes, limit " +
              std::to_string(max_frame_size) + ")";
    r.error_reply = encode_error(r.error);
    return r;
  }
  const top_map t = scan_top(p, n, "trailing bytes after the cast map");
  decode_state st;
  if (!t.structural_error.empty()) {
    r.error = ascii_safe(t.structural_error);
    r.error_reply = invalid_reply(t, st, r.error);
    return r;
  }
  const auto root = unpack_scratch({reinterpret_cast<const char*>(p), n});
  try {
    cast c = validate(t, root, st, allowed);
    c.request_id = std::string(t.request_id.value_or(std::string_view{}));
    if (c.kind == method::poll_for_serial_number) {
      const uint32_t keys = status_keys + (t.request_id ? 1 : 0);
      c.reply_prefix =
          build_prefix(keys, *st.context, *st.domain,
                       t.unique(key_destination)->raw, t.request_id);
    }
    r.ok = std::move(c);
  } catch (const field_error& e) {
    r.error = ascii_safe(e.message);
    r.error_reply = invalid_reply(t, st, r.error);
  }
  return r;
}

// ---------------------------------------------------------------------------
// JSON.

void append_base64(std::string& out, const uint8_t* p, size_t n) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    const uint32_t v =
        (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | uint32_t{p[i + 2]};
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == n) {
    const uint32_t v = uint32_t{p[i]} << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == n) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
}

void append_json_float(std::string& out, double v, bool single) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  std::array<char, 64> buf{};
  // float32 prints its own shortest form (0.1f as 0.1, not 0.100000001...).
  auto res = single ? std::to_chars(buf.data(), buf.data() + buf.size(),
                                    static_cast<float>(v))
                    : std::to_chars(buf.data(), buf.data() + buf.size(), v);
  std::string_view text(buf.data(), static_cast<size_t>(res.ptr - buf.data()));
  out += text;
  // Keep floats recognisable as floats.
  if (text.find_first_of(".e") == std::string_view::npos)
    out += ".0";
}

void append_json(std::string& out, const msgpack::object& o) {
  switch (o.type) {
  case msgpack::type::NIL:
    out += "null";
    break;
  case msgpack::type::BOOLEAN:
    out += o.via.boolean ? "true" : "false";
    break;
  case msgpack::type::POSITIVE_INTEGER:
    out += std::to_string(o.via.u64);
    break;
  case msgpack::type::NEGATIVE_INTEGER:
    out += std::to_string(o.via.i64);
    break;
  case msgpack::type::FLOAT32:
  case msgpack::type::FLOAT64:
    append_json_float(out, o.via.f64, o.type == msgpack::type::FLOAT32);
    break;
  case msgpack::type::STR:
    net::append_json_string(out, str_of(o));
    break;
  case msgpack::type::BIN:
    out += '"';
    append_base64(out, reinterpret_cast<const uint8_t*>(o.via.bin.ptr),
                  o.via.bin.size);
    out += '"';
    break;
  case msgpack::type::EXT:
    out += "{\"ext_type\":" + std::to_string(int{o.via.ext.type()}) +
           ",\"base64\":\"";
    append_base64(out, reinterpret_cast<const uint8_t*>(o.via.ext.data()),
                  o.via.ext.size);
    out += "\"}";
    break;
  case msgpack::type::ARRAY:
    out += '[';
    for (uint32_t i = 0; i < o.via.array.size; ++i) {
      if (i)
        out += ',';
      append_json(out, o.via.array.ptr[i]);
    }
    out += ']';
    break;
  case msgpack::type::MAP:
    out += '{';
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      if (i)
        out += ',';
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR) {
        net::append_json_string(out, str_of(kv.key));
      } else {
        std::string key;
        append_json(key, kv.key);
        net::append_json_string(out, key);
      }
      out += ':';
      append_json(out, kv.val);
    }
    out += '}';
    break;
  }
}

} // namespace

// ---------------------------------------------------------------------------

decode_result decode_cast(const void* data, size_t size,
                          const net::prefix_list* allowed) noexcept {
  try {
    return decode_impl(static_cast<const uint8_t*>(data), size, allowed);
  } catch (const std::exception& e) {
    // Only allocation failures or a msgpack-c surprise get here.
    try {
      decode_result r;
      r.error = "internal error: " + ascii_safe(e.what());
      r.error_reply = encode_error(r.error);
      return r;
    } catch (...) {
      return decode_result{};
    }
  } catch (...) {
    return decode_result{};
  }
}

std::string finish_status(std::string reply_prefix, status st,
                          std::optional<uint32_t> serial,
                          std::string_view detail) {
  // The tail below is at most 47 bytes plus the detail: one allocation.
  reply_prefix.reserve(reply_prefix.size() + detail.size() + 48);
  string_stream stream{reply_prefix};
  packer pk(stream);
  pack_str(pk, "status");
  pack_str(pk, st == status::success ? "SUCCESS" : "ERROR");
  pack_str(pk, "actual_serial");
  if (serial)
    pk.pack_uint32(*serial);
  else
    pk.pack_nil();
  pack_str(pk, "detail");
  pack_str(pk, detail);
  return reply_prefix;
}

std::string encode_error(std::string_view reason,
                         std::string_view raw_request_id) {
  std::string buf;
  buf.reserve(reason.size() + raw_request_id.size() + 32);
  string_stream stream{buf};
  packer pk(stream);
  pk.pack_map(raw_request_id.empty() ? 2 : 3);
  pack_str(pk, key_method);
  pack_str(pk, "error");
  pack_str(pk, "error");
  pack_str(pk, reason);
  if (!raw_request_id.empty()) {
    pack_str(pk, key_request_id);
    pack_raw(buf, raw_request_id);
  }
  return buf;
}

std::string encode_cast(method m, std::string_view zone_name,
                        std::optional<uint32_t> serial,
                        std::string_view destination, double timeout,
                        double retry_interval, uint32_t max_retries,
                        std::string_view raw_context,
                        std::string_view raw_request_id) {
  std::string err;
  if (!raw_context.empty() && !is_one_value(raw_context, err))
    throw std::invalid_argument("encode_cast: raw_context: " + err);
  if (!raw_request_id.empty() && !is_one_value(raw_request_id, err))
    throw std::invalid_argument("encode_cast: raw_request_id: " + err);
  std::string buf;
  string_stream stream{buf};
  packer pk(stream);
  pk.pack_map(raw_request_id.empty() ? 7 : 8);
  pack_str(pk, key_method);
  pack_str(pk, m == method::notify_zone_changed ? name_notify : name_poll);
  pack_str(pk, key_context);
  if (raw_context.empty())
    pk.pack_nil();
  else
    pack_raw(buf, raw_context);
  pack_str(pk, key_domain);
  pk.pack_map(serial ? 2 : 1);
  pack_str(pk, "name");
  pack_str(pk, zone_name);
  if (serial) {
    pack_str(pk, "serial");
    pk.pack_uint32(*serial);
  }
  pack_str(pk, key_destination);
  pack_str(pk, destination);
  pack_str(pk, key_timeout);
  pack_float64(buf, timeout);
  pack_str(pk, key_retry_interval);
  pack_float64(buf, retry_interval);
  pack_str(pk, key_max_retries);
  pk.pack_uint32(max_retries);
  if (!raw_request_id.empty()) {
    pack_str(pk, key_request_id);
    pack_raw(buf, raw_request_id);
  }
  return buf;
}

std::optional<reply> decode_reply(const void* data, size_t size,
                                  std::string& error) noexcept {
  try {
    const auto* p = static_cast<const uint8_t*>(data);
    const top_map t = scan_top(p, size, "trailing bytes after the reply map");
    if (!t.structural_error.empty() || !t.key_error.empty()) {
      error = ascii_safe(!t.structural_error.empty() ? t.structural_error
                                                     : t.key_error);
      return std::nullopt;
    }
    const auto root = unpack_checked({static_cast<const char*>(data), size});
    const auto& map = root.get().via.map;
    reply r;
    bool has_method = false;
    for (size_t i = 0; i < t.entries.size(); ++i) {
      const auto& e = t.entries[i];
      const auto& v = map.ptr[i].val;
      auto string_field = [&](std::string& out) {
        if (v.type == msgpack::type::NIL)
          return true;
        if (v.type != msgpack::type::STR) {
          error = printable(e.key) + ": must be a string";
          return false;
        }
        out = std::string(str_of(v));
        return true;
      };
      if (e.key == key_method) {
        if (v.type != msgpack::type::STR) {
          error = "method: must be a string";
          return std::nullopt;
        }
        r.method = std::string(str_of(v));
        has_method = true;
      } else if (e.key == "status") {
        if (!string_field(r.status))
          return std::nullopt;
      } else if (e.key == "detail") {
        if (!string_field(r.detail))
          return std::nullopt;
      } else if (e.key == "error") {
        if (!string_field(r.error))
          return std::nullopt;
      } else if (e.key == "actual_serial") {
        if (v.type == msgpack::type::NIL)
          continue;
        if (v.type != msgpack::type::POSITIVE_INTEGER ||
            v.via.u64 > std::numeric_limits<uint32_t>::max()) {
          error = "actual_serial: must be nil or an integer 0..4294967295";
          return std::nullopt;
        }
        r.actual_serial = static_cast<uint32_t>(v.via.u64);
      } else if (e.key == key_request_id) {
        r.raw_request_id = std::string(e.raw);
      } else if (e.key == key_context) {
        r.raw_context = std::string(e.raw);
      } else if (e.key == key_domain) {
        r.raw_domain = std::string(e.raw);
      } else if (e.key == key_destination) {
        r.raw_destination = std::string(e.raw);
      }
    }
    if (!has_method) {
      error = "method: missing";
      return std::nullopt;
    }
    return r;
  } catch (const std::exception& e) {
    try {
      error = std::string("internal error: ") + e.what();
    } catch (...) {
    }
    return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
}

std::string msgpack_to_json(const void* data, size_t size) {
  const std::string_view raw(static_cast<const char*>(data), size);
  std::string err;
  std::string out;
  if (!is_one_value(raw, err)) {
    out = "{\"invalid_msgpack\":";
    net::append_json_string(out, err);
    out += '}';
    return out;
  }
  const auto root = unpack_checked(raw);
  append_json(out, root.get());
  return out;
}

} // namespace minidns::messages
