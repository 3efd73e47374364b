/// Fuzz target: the TSIG check of a reply (net::tsig_verify) on the
/// untrusted bytes a server sends back to a signed query. The query's MAC,
/// the key and the clock are fixed, so that the seeds (make_seeds.py) hold
/// replies signed right, as well as unsigned, truncated and error ones.
///
/// Checked: never a crash or a read past the input (ASan in the fuzz and
/// sanitizer builds); an accepted reply stops being accepted when a bit of
/// its header changes, and when the clock moves past the fudge.

#include "net/tsig.hpp"

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

/// "fuzz-key." hmac-sha256, secret "fuzz-secret" (make_seeds.py signs
/// with the same).
const minidns::net::tsig_key& fuzz_key() {
  static const minidns::net::tsig_key key{
      "fuzz-key.",
      std::string("\x08"
                  "fuzz-key\x00",
                  10),
      minidns::net::tsig_algorithm::hmac_sha256, "fuzz-secret"};
  return key;
}

constexpr uint64_t signed_at = 1700000000;
const std::string request_mac(32, '\x11');

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace minidns::net;
  auto r = tsig_verify(data, size, fuzz_key(), request_mac, signed_at);
  if (r.status == tsig_status::server_error)
    check(r.error != 0);
  if (r.status != tsig_status::ok)
    return 0;
  check(size >= 12);
  std::vector<uint8_t> copy(data, data + size);
  copy[3] ^= 0x01;
  check(tsig_verify(copy.data(), size, fuzz_key(), request_mac, signed_at)
            .status != tsig_status::ok);
  check(tsig_verify(data, size, fuzz_key(), request_mac, signed_at + 100000)
            .status == tsig_status::bad_time);
  return 0;
}
