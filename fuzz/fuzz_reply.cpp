/// Fuzz target: the DNS reply checker on untrusted datagrams.
/// Input: byte 0 picks the query kind and which question the query asked;
/// the rest is the datagram. The expected ID is the datagram's own, so the
/// fuzzer reaches the question and answer parsing instead of stopping at
/// "wrong id".

#include "net/dns_message.hpp"
#include "net/verdict.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  static constexpr std::string_view names[] = {
      std::string_view("\7example\3com\0", 13),
      std::string_view("\0", 1),
      std::string_view("\1a\0", 3),
  };
  const uint8_t selector = data[0];
  const uint8_t* msg = data + 1;
  const size_t len = size - 1;
  using namespace minidns::net;
  expected_reply q{(selector & 1) ? query_kind::notify : query_kind::soa,
                   peek_id(msg, len), names[(selector >> 1) % 3]};
  auto info = check_reply(msg, len, q);
  if (info.match != reply_match::accepted) {
    check(info.soa == soa_state::not_checked);
    return 0;
  }
  check(len >= 12);
  check(info.rcode < 16);
  if (q.kind == query_kind::notify) {
    (void)classify_notify(info.rcode);
  } else {
    auto outcome = classify_poll(info, 12345);
    check(static_cast<size_t>(outcome.detail) < detail_count &&
          outcome.detail != detail::other);
    if (outcome.verdict != poll_verdict::unusable)
      check(info.soa == soa_state::found && outcome.has_serial);
  }
  // Any truncation of an accepted reply must still be safe to check.
  (void)check_reply(msg, len / 2, q);
  return 0;
}
