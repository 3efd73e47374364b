/// The pool manager's side of the msgpack contract: encode_cast,
/// decode_reply and msgpack_to_json (client_codec.hpp).

#include "apps/minidns-ctl/client_codec.hpp"

#include "messages/json.hpp"
#include "messages/msgpack_scan.hpp"
#include "messages/wire.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace minidns::messages {
namespace {

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

// ---------------------------------------------------------------------------
// JSON.

/// Appends `n` bytes as base64 (standard alphabet, with padding).
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

/// Appends a float as JSON: null when not finite, else its shortest text,
/// always with a fraction or exponent.
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

/// Appends one msgpack value as JSON (see msgpack_to_json).
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
    messages::append_json_string(out, str_of(o));
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
        messages::append_json_string(out, str_of(kv.key));
      } else {
        std::string key;
        append_json(key, kv.key);
        messages::append_json_string(out, key);
      }
      out += ':';
      append_json(out, kv.val);
    }
    out += '}';
    break;
  }
}

} // namespace

std::string encode_cast(method m, std::string_view zone_name,
                        std::optional<uint32_t> serial,
                        std::string_view destination, double timeout,
                        double retry_interval, uint32_t max_retries,
                        std::string_view raw_context,
                        std::string_view raw_request_id, const soa_hint* soa,
                        const cast_extras* extras) {
  std::string err;
  if (!raw_context.empty() && !is_one_value(raw_context, err))
    throw std::invalid_argument("encode_cast: raw_context: " + err);
  if (!raw_request_id.empty() && !is_one_value(raw_request_id, err))
    throw std::invalid_argument("encode_cast: raw_request_id: " + err);
  std::string buf;
  string_stream stream{buf};
  packer pk(stream);
  const bool many = extras != nullptr && !extras->destinations.empty();
  uint32_t keys = raw_request_id.empty() ? 7 : 8;
  if (extras != nullptr)
    keys += (extras->threshold ? 1 : 0) + (extras->expect.empty() ? 0 : 1);
  pk.pack_map(keys);
  pack_str(pk, key_method);
  pack_str(pk, m == method::notify_zone_changed ? name_notify
               : m == method::get_serial_number ? name_get_serial
               : m == method::cancel            ? name_cancel
                                                : name_poll);
  pack_str(pk, key_context);
  if (raw_context.empty())
    pk.pack_nil();
  else
    pack_raw(buf, raw_context);
  pack_str(pk, key_domain);
  pk.pack_map(1 + (serial ? 1 : 0) + (soa ? 1 : 0));
  pack_str(pk, "name");
  pack_str(pk, zone_name);
  if (serial) {
    pack_str(pk, "serial");
    pk.pack_uint32(*serial);
  }
  if (soa) {
    pack_str(pk, "soa");
    pk.pack_map(8);
    pack_str(pk, "mname");
    pack_str(pk, soa->mname);
    pack_str(pk, "rname");
    pack_str(pk, soa->rname);
    const std::pair<const char*, uint32_t> numbers[] = {
        {"serial", soa->serial},   {"refresh", soa->refresh},
        {"retry", soa->retry},     {"expire", soa->expire},
        {"minimum", soa->minimum}, {"ttl", soa->ttl}};
    for (const auto& [key, v] : numbers) {
      pack_str(pk, key);
      pk.pack_uint32(v);
    }
  }
  if (many) {
    pack_str(pk, key_destinations);
    pk.pack_array(static_cast<uint32_t>(extras->destinations.size()));
    for (const auto& d : extras->destinations)
      pack_str(pk, d);
  } else {
    pack_str(pk, key_destination);
    pack_str(pk, destination);
  }
  if (extras != nullptr && extras->threshold) {
    pack_str(pk, key_threshold);
    pk.pack_unsigned_int(*extras->threshold);
  }
  if (extras != nullptr && !extras->expect.empty()) {
    pack_str(pk, key_expect);
    pack_str(pk, extras->expect);
  }
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

std::string encode_pool_poll(std::string_view zone, uint32_t serial,
                             const std::vector<std::string>& destinations,
                             std::optional<unsigned> threshold, double timeout,
                             double retry_interval, uint32_t max_retries,
                             std::string_view raw_request_id,
                             std::string_view expect) {
  cast_extras x;
  x.destinations = destinations;
  x.threshold = threshold;
  x.expect = std::string(expect);
  return encode_cast(method::poll_for_serial_number, zone, serial, {}, timeout,
                     retry_interval, max_retries, {}, raw_request_id, nullptr,
                     &x);
}

std::string encode_cancel(std::string_view raw_request_id) {
  std::string err;
  if (!is_one_value(raw_request_id, err))
    throw std::invalid_argument("encode_cancel: raw_request_id: " + err);
  std::string buf;
  string_stream stream{buf};
  packer pk(stream);
  pk.pack_map(2);
  pack_str(pk, key_method);
  pack_str(pk, name_cancel);
  pack_str(pk, key_request_id);
  pack_raw(buf, raw_request_id);
  return buf;
}

namespace {

/// Reads a pool poll's `destinations` lines; false (and `error`) when one
/// is not a map of the documented keys and types.
bool read_lines(const msgpack::object& v, std::vector<destination_reply>& out,
                std::string& error) {
  if (v.type != msgpack::type::ARRAY) {
    error = "destinations: must be a list";
    return false;
  }
  for (uint32_t i = 0; i < v.via.array.size; ++i) {
    const auto& m = v.via.array.ptr[i];
    auto at = "destinations[" + std::to_string(i) + "]";
    if (m.type != msgpack::type::MAP) {
      error = at + ": must be a map";
      return false;
    }
    destination_reply line;
    for (uint32_t k = 0; k < m.via.map.size; ++k) {
      const auto& kv = m.via.map.ptr[k];
      if (kv.key.type != msgpack::type::STR)
        continue;
      auto key = str_of(kv.key);
      if (key == "actual_serial") {
        if (kv.val.type == msgpack::type::NIL)
          continue;
        if (kv.val.type != msgpack::type::POSITIVE_INTEGER ||
            kv.val.via.u64 > std::numeric_limits<uint32_t>::max()) {
          error = at + ".actual_serial: must be nil or an integer";
          return false;
        }
        line.actual_serial = static_cast<uint32_t>(kv.val.via.u64);
        continue;
      }
      std::string* field = key == key_destination ? &line.destination
                           : key == "status"      ? &line.status
                           : key == "detail"      ? &line.detail
                                                  : nullptr;
      if (field == nullptr)
        continue;
      if (kv.val.type != msgpack::type::STR) {
        error = at + "." + std::string(key) + ": must be a string";
        return false;
      }
      *field = std::string(str_of(kv.val));
    }
    out.push_back(std::move(line));
  }
  return true;
}

} // namespace

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
      } else if (e.key == key_destinations) {
        if (!read_lines(v, r.destinations, error))
          return std::nullopt;
      } else if (e.key == key_count) {
        if (v.type != msgpack::type::POSITIVE_INTEGER) {
          error = "count: must be an unsigned integer";
          return std::nullopt;
        }
        r.count = v.via.u64;
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
    messages::append_json_string(out, err);
    out += '}';
    return out;
  }
  const auto root = unpack_checked(raw);
  append_json(out, root.get());
  return out;
}

} // namespace minidns::messages
