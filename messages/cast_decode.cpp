/// Decoding and validating casts: decode_cast (cast.hpp). The frame is
/// scanned first (msgpack_scan.hpp), then its fields are checked in the
/// order docs/protocol.md gives, and an invalid frame gets its one reply.

#include "messages/cast.hpp"
#include "messages/msgpack_scan.hpp"
#include "messages/reply_encode.hpp"
#include "messages/wire.hpp"
#include "net/dns_name.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>

namespace minidns::messages {
namespace {

/// Shortest text that reads back as `v` ("3600", "0.5").
std::string number_text(double v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc{})
    return "?";
  return std::string(buf.data(), end);
}

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

struct field_error {
  std::string message;
  invalid_field field;
};

[[noreturn]] void fail(std::string_view field, std::string_view why) {
  throw field_error{std::string(field) + ": " + std::string(why),
                    field_named(field)};
}

[[noreturn]] void fail_soa(std::string_view field, std::string_view why) {
  throw field_error{"domain.soa" + std::string(field) + ": " + std::string(why),
                    invalid_field::domain_soa};
}

/// domain.soa (a notify's SOA hint) as the TTL and the SOA RDATA in wire
/// format (names uncompressed). Every field is required: an SOA is never
/// made up.
std::string soa_rdata(const msgpack::object& soa) {
  if (soa.type != msgpack::type::MAP)
    fail_soa("", "must be a map");
  auto field = [&](std::string_view key) -> const msgpack::object& {
    const msgpack::object* found = nullptr;
    for (uint32_t i = 0; i < soa.via.map.size; ++i) {
      const auto& kv = soa.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR && str_of(kv.key) == key) {
        if (found)
          fail_soa("." + std::string(key), "duplicate key");
        found = &kv.val;
      }
    }
    if (!found)
      fail_soa("." + std::string(key), "missing");
    return *found;
  };
  auto u32 = [&](std::string_view key) {
    uint64_t v = 0;
    if (auto why =
            read_uint(field(key), std::numeric_limits<uint32_t>::max(), v);
        !why.empty())
      fail_soa("." + std::string(key), why);
    return static_cast<uint32_t>(v);
  };
  auto name = [&](std::string_view key) {
    const auto& o = field(key);
    if (o.type != msgpack::type::STR)
      fail_soa("." + std::string(key), "must be a string");
    std::string err;
    auto wire = net::name_to_wire(str_of(o), err);
    if (!wire)
      fail_soa("." + std::string(key), err.empty() ? "invalid name" : err);
    return std::move(*wire);
  };
  std::string out;
  auto put32 = [&out](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out += static_cast<char>((v >> shift) & 0xff);
  };
  put32(u32("ttl"));
  out += name("mname");
  out += name("rname");
  for (auto key : {"serial", "refresh", "retry", "expire", "minimum"})
    put32(u32(key));
  return out;
}

[[noreturn]] void fail_as(invalid_field field, std::string message) {
  throw field_error{std::move(message), field};
}

/// `destinations`: 1 to max_destinations distinct destinations, each
/// written like `destination`.
std::unique_ptr<pool_spec> read_destinations(const msgpack::object& list,
                                             const net::prefix_list* allowed) {
  const std::string name(key_destinations);
  if (list.type != msgpack::type::ARRAY)
    fail(name, "must be a list of destinations");
  const auto n = list.via.array.size;
  if (n == 0 || n > max_destinations)
    fail(name, "must list 1 to " + std::to_string(max_destinations) +
                   " destinations, got " + std::to_string(n));
  auto pool = std::make_unique<pool_spec>();
  pool->destinations.reserve(n);
  pool->raw.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    const auto& o = list.via.array.ptr[i];
    auto at = name + "[" + std::to_string(i) + "]: ";
    if (o.type != msgpack::type::STR)
      fail_as(invalid_field::destinations, at + "must be a string");
    std::string err;
    auto ep = net::parse_destination(str_of(o), err);
    if (!ep)
      fail_as(invalid_field::destinations,
              at + (err.empty() ? "invalid address" : err));
    if (allowed != nullptr && !allowed->allows(*ep))
      fail_as(invalid_field::destinations,
              at + ep->to_string() + " is not in minidns.allow-destinations");
    pool->destinations.push_back(*ep);
    std::string raw;
    string_stream stream{raw};
    packer pk(stream);
    pack_str(pk, str_of(o));
    pool->raw.push_back(std::move(raw));
  }
  // Duplicates: the same address and port, however written.
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i)
    order[i] = i;
  const auto& d = pool->destinations;
  auto key = [&d](uint32_t i) {
    return std::make_tuple(d[i].v6, d[i].addr, d[i].port);
  };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return key(a) < key(b) || (key(a) == key(b) && a < b);
  });
  for (uint32_t i = 1; i < n; ++i)
    if (d[order[i]] == d[order[i - 1]])
      fail_as(invalid_field::destinations,
              name + "[" + std::to_string(order[i]) +
                  "]: " + d[order[i]].to_string() + " duplicates " + name +
                  "[" + std::to_string(order[i - 1]) + "]");
  return pool;
}

/// Everything decode_cast learns before failing or succeeding.
struct decode_state {
  bool is_poll = false;
  bool wants_status = false; ///< a poll, or a notify with want_status true
  std::optional<std::string_view> context;
  std::optional<std::string_view> domain; // set only when it is a map
};

/// Validates the fields in the documented order. Throws field_error.
cast validate(const top_map& t, const msgpack::object& root, decode_state& st,
              const net::prefix_list* allowed, const net::tsig_keyring* keys) {
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
  st.is_poll =
      method_o && method_o->type == msgpack::type::STR &&
      (str_of(*method_o) == name_poll || str_of(*method_o) == name_get_serial);
  const auto* want_o = object_for(key_want_status);
  st.wants_status = st.is_poll || (want_o != nullptr &&
                                   want_o->type == msgpack::type::BOOLEAN &&
                                   want_o->via.boolean);
  if (const auto* e = t.unique(key_context))
    st.context = e->raw;
  if (const auto* e = t.unique(key_domain);
      e && object_for(key_domain)->type == msgpack::type::MAP)
    st.domain = e->raw;

  if (!t.key_error.empty())
    throw field_error{t.key_error, t.key_error_key.empty()
                                       ? invalid_field::frame
                                       : field_named(t.key_error_key)};

  cast c;
  const auto& m = require(key_method);
  if (m.type != msgpack::type::STR)
    fail(key_method, "must be a string");
  if (str_of(m) == name_notify)
    c.kind = method::notify_zone_changed;
  else if (str_of(m) == name_poll)
    c.kind = method::poll_for_serial_number;
  else if (str_of(m) == name_get_serial)
    c.kind = method::get_serial_number;
  else if (str_of(m) == name_cancel)
    c.kind = method::cancel;
  else
    fail(key_method, "unknown '" + printable(str_of(m)) + "'");

  if (c.kind == method::cancel) {
    // Nothing else counts: the casts it ends are named by request_id.
    if (!t.request_id)
      fail(key_request_id, "missing (cancel ends the casts that carry it)");
    return c;
  }

  require(key_context); // any value, nil included

  // `expect` decides whether domain.serial is needed: read it first, check
  // it in its place below.
  const auto* expect_o = object_for(key_expect);
  const bool absent = expect_o != nullptr &&
                      expect_o->type == msgpack::type::STR &&
                      str_of(*expect_o) == "absent";

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

  if (c.kind == method::notify_zone_changed)
    if (const auto* soa = domain_field("soa"))
      c.soa_hint = soa_rdata(*soa);

  // A poll for a serial needs it; get_serial_number and a poll for absence
  // ignore it.
  if (c.kind == method::poll_for_serial_number && !absent) {
    const auto* serial = domain_field("serial");
    if (!serial)
      fail("domain.serial", "missing");
    uint64_t v = 0;
    if (auto why = read_uint(*serial, std::numeric_limits<uint32_t>::max(), v);
        !why.empty())
      fail("domain.serial", why);
    c.serial = static_cast<uint32_t>(v);
  }

  const auto* many = object_for(key_destinations);
  if (many != nullptr) {
    if (object_for(key_destination) != nullptr)
      fail(key_destinations, "give destination or destinations, not both");
    if (!is_poll(c.kind))
      fail(key_destinations, "only polls take a list of destinations");
    c.pool = read_destinations(*many, allowed);
  } else {
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
  }

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

  // Optional: how long to wait before the first attempt (Designate's
  // mdns API had it).
  if (const auto* when = object_for(key_delay)) {
    if (auto why = read_seconds(*when, s); !why.empty())
      fail(key_delay, why);
    if (!(s >= 0))
      fail(key_delay, "must be >= 0 seconds");
    if (s > max_delay_seconds)
      fail(key_delay,
           "must be at most " + number_text(max_delay_seconds) + " seconds");
    c.delay = to_micros(s);
  }

  // Optional: a status at the end of a notify too.
  if (want_o != nullptr && want_o->type != msgpack::type::BOOLEAN)
    fail(key_want_status, "must be true or false");
  c.wants_status = st.wants_status;

  // Optional: the name of a TSIG key (RFC 8945); the secret stays here.
  if (const auto* k = object_for(key_tsig_key)) {
    if (k->type != msgpack::type::STR)
      fail(key_tsig_key, "must be a string (a key name)");
    c.tsig = keys != nullptr ? keys->find(str_of(*k)) : 0;
    if (c.tsig == 0)
      fail(key_tsig_key, "unknown key '" + printable(str_of(*k)) + "'" +
                             (keys == nullptr || keys->keys.empty()
                                  ? " (minidns.tsig-keys-file names no keys)"
                                  : ""));
  }

  // Optional: "udp" or "tcp" (RFC 7766).
  if (const auto* tr = object_for(key_transport)) {
    if (tr->type != msgpack::type::STR)
      fail(key_transport, "must be a string");
    auto v = str_of(*tr);
    if (v == "udp")
      c.transport = net::transport::udp;
    else if (v == "tcp")
      c.transport = net::transport::tcp;
    else
      fail(key_transport, "expected \"udp\" or \"tcp\"");
  }

  // Optional: how many of the destinations must reach the goal.
  if (const auto* th = object_for(key_threshold)) {
    if (!is_poll(c.kind))
      fail(key_threshold, "only polls take a threshold");
    uint64_t v = 0;
    if (auto why = read_uint(*th, 100, v); !why.empty())
      fail(key_threshold,
           why == "must be an integer" ? why : "out of range 1..100");
    if (v == 0)
      fail(key_threshold, "out of range 1..100");
    if (c.pool)
      c.pool->threshold = static_cast<uint8_t>(v);
  }

  // Optional: what a poll waits for.
  if (expect_o != nullptr) {
    if (c.kind != method::poll_for_serial_number)
      fail(key_expect, "only poll_for_serial_number takes expect");
    if (expect_o->type != msgpack::type::STR)
      fail(key_expect, "must be a string");
    if (absent)
      c.goal = net::poll_goal::absent;
    else if (str_of(*expect_o) != "serial")
      fail(key_expect, "unknown '" + printable(str_of(*expect_o)) +
                           "' (expected \"serial\" or \"absent\")");
  }
  if (c.kind == method::get_serial_number)
    c.goal = net::poll_goal::any_serial;
  return c;
}

/// The one reply to an invalid frame.
std::string invalid_reply(const top_map& t, const decode_state& st,
                          const std::string& reason) {
  if (st.wants_status && st.context && st.domain) {
    std::optional<std::string_view> dest;
    if (const auto* e = t.unique(key_destination))
      dest = e->raw;
    return invalid_poll_reply(*st.context, *st.domain, dest, t.request_id,
                              reason);
  }
  return encode_error(reason, t.request_id.value_or(std::string_view{}));
}

decode_result decode_impl(const uint8_t* p, size_t n,
                          const net::prefix_list* allowed,
                          const net::tsig_keyring* keys) {
  decode_result r;
  if (n > max_frame_size) {
    r.error = "frame too large (" + std::to_string(n) + " bytes, limit " +
              std::to_string(max_frame_size) + ")";
    r.error_reply = encode_error(r.error);
    r.field = invalid_field::frame;
    return r;
  }
  const top_map t =
      scan_top(p, n, "trailing bytes after the cast map", /*utf8=*/true);
  decode_state st;
  if (!t.structural_error.empty()) {
    r.error = ascii_safe(t.structural_error);
    r.error_reply = invalid_reply(t, st, r.error);
    r.field = t.structural_key.empty() ? invalid_field::frame
                                       : field_named(t.structural_key);
    return r;
  }
  const auto root = unpack_scratch({reinterpret_cast<const char*>(p), n});
  try {
    cast c = validate(t, root, st, allowed, keys);
    c.request_id = std::string(t.request_id.value_or(std::string_view{}));
    if (c.wants_status)
      c.reply_prefix =
          c.pool ? pool_status_prefix(*st.context, *st.domain, t.request_id)
                 : status_prefix(*st.context, *st.domain,
                                 t.unique(key_destination)->raw, t.request_id);
    r.ok = std::move(c);
  } catch (const field_error& e) {
    r.error = ascii_safe(e.message);
    r.error_reply = invalid_reply(t, st, r.error);
    r.field = e.field;
  }
  return r;
}

} // namespace

decode_result decode_cast(const void* data, size_t size,
                          const net::prefix_list* allowed,
                          const net::tsig_keyring* keys) noexcept {
  try {
    return decode_impl(static_cast<const uint8_t*>(data), size, allowed, keys);
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

} // namespace minidns::messages
