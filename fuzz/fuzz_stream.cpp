/// Fuzz target: DNS over TCP framing (actors/udp/stream_framer.hpp) on the
/// untrusted bytes a TCP server sends. The framer is driven the way
/// tcp_pool drives it: feed a read's bytes, take every whole message, then
/// compact().
///
/// Input: byte 0 is n, the count of chunk-size bytes that follow; the rest
/// is the byte stream, fed in chunks whose sizes come from those n bytes in
/// turn (again from the first after the last). A size byte s gives s bytes
/// (0: an empty feed) below 0xf0, and ((s & 0x0f) + 1) * 4096 bytes from
/// 0xf0, so that one read can hold a whole 65,535-byte message. Without
/// size bytes the stream is fed in one piece.
///
/// Checked against a plain re-parse of the stream: every message handed out
/// is the one its prefix announced (length and bytes), pending() never
/// exceeds the bytes fed, the framer never holds back a whole message nor
/// more than one partial one, and bytes handed out + 2 per message +
/// pending() == bytes fed.

#include "actors/udp/stream_framer.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

/// The length announced by the two bytes at `p`.
size_t prefix_at(const uint8_t* p) {
  return size_t{p[0]} << 8 | p[1];
}

size_t chunk_size(uint8_t s) {
  if (s < 0xf0)
    return s;
  return (size_t{s & 0x0fu} + 1) * 4096;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  size_t n_sizes = data[0];
  if (n_sizes > size - 1)
    n_sizes = size - 1;
  const uint8_t* sizes = data + 1;
  const uint8_t* stream = data + 1 + n_sizes;
  const size_t stream_len = size - 1 - n_sizes;

  minidns::stream_framer framer;
  size_t fed = 0;       // bytes of `stream` fed so far
  size_t consumed = 0;  // bytes of `stream` handed out, prefixes included
  size_t handed = 0;    // message bytes handed out, prefixes excluded
  size_t messages = 0;  // messages handed out
  std::string reframed; // the messages handed out, framed again
  size_t turn = 0;      // which size byte is next
  size_t empty_run = 0; // empty feeds in a row

  while (fed < stream_len) {
    size_t want =
        n_sizes == 0 ? stream_len : chunk_size(sizes[turn++ % n_sizes]);
    // Empty feeds are legal; a whole round of them must not stall the loop.
    if (want == 0 && ++empty_run > n_sizes)
      want = 1;
    if (want > 0)
      empty_run = 0;
    if (want > stream_len - fed)
      want = stream_len - fed;
    framer.feed(stream + fed, want);
    fed += want;
    check(framer.pending() <= fed);

    // What tcp_pool does after each read: every whole message, then compact.
    std::string_view msg;
    while (framer.next(msg)) {
      // The next message of the stream is whole: its prefix is at
      // `consumed` and everything it announced has been fed.
      check(fed - consumed >= 2);
      size_t len = prefix_at(stream + consumed);
      check(msg.size() == len);
      check(fed - consumed - 2 >= len);
      check(std::memcmp(msg.data(), stream + consumed + 2, len) == 0);
      check(minidns::append_framed(
          reframed, reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
      consumed += 2 + len;
      handed += len;
      ++messages;
      check(framer.pending() == fed - consumed);
    }
    framer.compact();

    check(framer.pending() <= fed);
    check(handed + 2 * messages + framer.pending() == fed);
    check(framer.pending() == fed - consumed);
    // Nothing whole is held back: what is left is a partial prefix or a
    // partial message, so at most 2 + 65,535 - 1 bytes.
    size_t left = framer.pending();
    check(left < 2 || left < 2 + prefix_at(stream + consumed));
    check(left <= 65536);
    // compact() keeps the partial message: asking again gives nothing.
    check(!framer.next(msg));
    check(framer.pending() == left);
  }

  // Framing the messages again gives back exactly the bytes consumed.
  check(reframed.size() == consumed);
  check(std::memcmp(reframed.data(), stream, consumed) == 0);
  return 0;
}
