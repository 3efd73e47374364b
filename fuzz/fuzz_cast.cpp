/// Fuzz target: the msgpack cast decoder on untrusted ZeroMQ frames, and
/// the replies it builds from them (which pool managers must be able to
/// read back).

#include "apps/minidns-ctl/client_codec.hpp"
#include "messages/cast.hpp"
#include "messages/msgpack_scan.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

/// No reply carries a str that is not UTF-8 (pool managers that decode
/// strictly would lose it): the whole frame passes the UTF-8 scan.
void check_utf8(const std::string& frame) {
  auto t = minidns::messages::scan_top(
      reinterpret_cast<const uint8_t*>(frame.data()), frame.size(),
      "trailing bytes", /*utf8=*/true);
  check(t.structural_error.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace minidns::messages;
  auto decoded = decode_cast(data, size);
  std::string err;
  if (!decoded.ok) {
    check(!decoded.error.empty());
    check(!decoded.error_reply.empty());
    check_utf8(decoded.error_reply);
    auto r = decode_reply(decoded.error_reply.data(),
                          decoded.error_reply.size(), err);
    check(r.has_value());
    check(r->method == "error" || r->method == "update_status");
    check(!r->error.empty());
  } else {
    auto& c = *decoded.ok;
    if (c.kind == method::cancel) {
      check(!c.request_id.empty());
      auto frame = encode_cancelled(c.request_id, 3);
      check_utf8(frame);
      auto r = decode_reply(frame.data(), frame.size(), err);
      check(r.has_value() && r->count == 3u);
      (void)msgpack_to_json(data, size);
      return 0;
    }
    check(!c.zone_wire.empty() && c.zone_wire.size() <= 255);
    check(c.timeout.count() > 0);
    if (c.pool) {
      const auto& p = *c.pool;
      check(!p.destinations.empty() && p.destinations.size() <= 1000);
      check(p.raw.size() == p.destinations.size());
      check(p.threshold >= 1 && p.threshold <= 100);
      for (const auto& d : p.destinations)
        check(d.port != 0);
      // The pool's reply, with every line, reads back.
      std::vector<destination_status> each;
      for (const auto& raw : p.raw)
        each.push_back({raw, "PENDING", std::nullopt, "pending"});
      auto frame = finish_pool_status(c.reply_prefix, status::error, 7u,
                                      "threshold missed", each);
      check_utf8(frame);
      auto r = decode_reply(frame.data(), frame.size(), err);
      check(r.has_value() && r->destinations.size() == each.size());
    } else {
      check(c.destination.port != 0);
    }
    if (is_poll(c.kind) && !c.pool) {
      auto frame = finish_status(c.reply_prefix, status::success, 7u, "x");
      check_utf8(frame);
      auto r = decode_reply(frame.data(), frame.size(), err);
      check(r.has_value());
      check(r->status == "SUCCESS" && r->actual_serial == 7u);
    }
  }
  (void)msgpack_to_json(data, size);
  return 0;
}
