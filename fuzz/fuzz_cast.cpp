/// Fuzz target: the msgpack cast decoder on untrusted ZeroMQ frames, and
/// the replies it builds from them (which pool managers must be able to
/// read back).

#include "apps/minidns-ctl/client_codec.hpp"
#include "messages/cast.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace minidns::messages;
  auto decoded = decode_cast(data, size);
  std::string err;
  if (!decoded.ok) {
    check(!decoded.error.empty());
    check(!decoded.error_reply.empty());
    auto r = decode_reply(decoded.error_reply.data(),
                          decoded.error_reply.size(), err);
    check(r.has_value());
    check(r->method == "error" || r->method == "update_status");
    check(!r->error.empty());
  } else {
    auto& c = *decoded.ok;
    check(!c.zone_wire.empty() && c.zone_wire.size() <= 255);
    check(c.timeout.count() > 0);
    check(c.destination.port != 0);
    if (c.kind == method::poll_for_serial_number) {
      auto frame = finish_status(c.reply_prefix, status::success, 7u, "x");
      auto r = decode_reply(frame.data(), frame.size(), err);
      check(r.has_value());
      check(r->status == "SUCCESS" && r->actual_serial == 7u);
    }
  }
  (void)msgpack_to_json(data, size);
  return 0;
}
