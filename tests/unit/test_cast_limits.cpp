// Tests of the msgpack wire contract (messages/cast.hpp, docs/protocol.md):
// hostile frames (random bytes, mutations, huge declared containers, deep
// nesting, the largest frames) are refused cheaply and never crash.

#include "cast_helpers.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

// Counts heap bytes requested while a test asks for it, to check that
// hostile frames are refused cheaply. msgpack-c's zone calls malloc
// directly, so counting operator new would miss it; interposing malloc in
// the test binary catches both. Sanitizers interpose malloc themselves.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define CAST_NO_MALLOC_COUNT 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CAST_NO_MALLOC_COUNT 1
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_counted_bytes{0};
} // namespace

#ifndef CAST_NO_MALLOC_COUNT
// glibc exports its allocator under this name too; forward to it.
extern "C" void* __libc_malloc(size_t size) noexcept; // NOLINT

extern "C" void* malloc(size_t size) noexcept {
  if (g_counting.load(std::memory_order_relaxed))
    g_counted_bytes.fetch_add(size, std::memory_order_relaxed);
  return __libc_malloc(size);
}
#endif

namespace {

using namespace minidns::messages;
using namespace minidns::test;

/// Checks the invariants that must hold for any frame.
void check_any(const std::string& frame) {
  const auto r = decode(frame);
  if (r.ok) {
    if (r.ok->kind == method::poll_for_serial_number) {
      const auto done =
          finish_status(r.ok->reply_prefix, status::error, std::nullopt, "x");
      std::string err;
      EXPECT_TRUE(decode_reply(done.data(), done.size(), err)) << err;
    }
    return;
  }
  ASSERT_FALSE(r.error.empty());
  ASSERT_FALSE(r.error_reply.empty());
  // The scan must catch everything msgpack-c would throw on.
  ASSERT_NE(r.error.rfind("internal error", 0), 0u) << r.error;
  for (const char c : r.error)
    ASSERT_TRUE(c >= 0x20 && c < 0x7f) << "unprintable error: " << r.error;
  std::string err;
  const auto rep =
      decode_reply(r.error_reply.data(), r.error_reply.size(), err);
  ASSERT_TRUE(rep) << err;
  EXPECT_TRUE(rep->method == "error" || rep->method == "update_status");
  EXPECT_EQ(rep->error, r.error);
}

TEST(Cast, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  // Bytes that are interesting to a msgpack parser.
  const std::string hot("\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xc6"
                        "\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd3\xd4\xd8"
                        "\xd9\xda\xdb\xdc\xdd\xde\xdf\xe0\xff\x00\x7f",
                        37);
  for (int i = 0; i < 20000; ++i) {
    std::string frame(rng() % 96, '\0');
    const bool biased = i % 2;
    for (auto& c : frame)
      c = biased && rng() % 2 ? hot[rng() % hot.size()]
                              : static_cast<char>(rng());
    if (i % 4 == 0 && !frame.empty())
      frame[0] = static_cast<char>(0x80 | (rng() % 16)); // a map
    check_any(frame);
    if (HasFatalFailure())
      return;
  }
}

TEST(Cast, TruncationsAndMutationsNeverCrash) {
  const std::string id = mp_map({{"n", mp(1)}});
  const std::string valid =
      poll_fields().set("request_id", id).set("context", mp_f32(1)).encode();
  ASSERT_TRUE(decode(valid).ok);
  for (size_t n = 0; n < valid.size(); ++n) {
    const auto r = decode(valid.substr(0, n));
    EXPECT_FALSE(r.ok) << "prefix of " << n << " bytes";
    EXPECT_FALSE(r.error_reply.empty());
    check_any(valid.substr(0, n));
  }
  std::mt19937 rng(777);
  for (int i = 0; i < 20000; ++i) {
    std::string frame = valid;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e)
      frame[rng() % frame.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0)
      frame.resize(rng() % frame.size());
    check_any(frame);
    if (HasFatalFailure())
      return;
  }
}

/// Bytes malloc'ed while decoding `frame` (0 when sanitizers own malloc).
size_t decode_heap_bytes(const std::string& frame, decode_result& out) {
  g_counted_bytes = 0;
  g_counting = true;
  out = decode(frame);
  g_counting = false;
  return g_counted_bytes;
}

TEST(Cast, HugeDeclaredContainersAreRefusedCheaply) {
  struct hostile {
    std::string context;
    std::string error;
  };
  const std::vector<hostile> cases = {
      {"\xdd\xff\xff\xff\xff", "context: array with 4294967295 entries "
                               "(limit 1024)"},
      {"\xdf\xff\xff\xff\xff", "context: map with 4294967295 entries "
                               "(limit 1024)"},
      {"\xdc\x04\x01", "context: array with 1025 entries (limit 1024)"},
      {"\xdb\xff\xff\xff\xff", "context: truncated msgpack"},
      {"\xc6\xff\xff\xff\xff", "context: truncated msgpack"},
      {"\xc9\xff\xff\xff\xff\x01", "context: truncated msgpack"},
      {"\x91\xdd\x7f\xff\xff\xff", "context: array with 2147483647 entries "
                                   "(limit 1024)"},
  };
  for (const auto& c : cases) {
    const auto frame = poll_fields().set("context", c.context).encode();
    decode_result r;
    const size_t heap = decode_heap_bytes(frame, r);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, c.error);
    EXPECT_LT(heap, 64u * 1024) << c.error;
  }
  expect_error("\xdf\xff\xff\xff\xff",
               "frame: map with 4294967295 entries (limit 1024)");
  std::string many("\xde\x04\x01", 3);
  for (int i = 0; i < 1025; ++i)
    many += mp_str("k" + std::to_string(i)) + mp_nil;
  expect_error(many, "frame: map with 1025 entries (limit 1024)");
  // 1,024 entries are fine.
  std::vector<std::string> items(1024, mp_nil);
  EXPECT_TRUE(
      decode(poll_fields().set("context", mp_array(items)).encode()).ok);
}

TEST(Cast, DeepNestingIsRefused) {
  // The cast map is level 1; 15 more levels fit.
  const std::string deepest_ok = std::string(15, '\x91') + mp_nil;
  const auto ok = decode(poll_fields().set("context", deepest_ok).encode());
  ASSERT_TRUE(ok.ok) << ok.error;
  const auto echoed = unpack_map(
      finish_status(ok.ok->reply_prefix, status::success, 1, "matched"));
  EXPECT_EQ(repack(echoed.at("context")), deepest_ok);

  expect_error(
      poll_fields().set("context", std::string(16, '\x91') + mp_nil).encode(),
      "context: nested deeper than 16 levels");
  expect_error(
      poll_fields().set("domain", std::string(16, '\x81') + "\xa1x").encode(),
      "domain: nested deeper than 16 levels");
  // Far deeper than any stack would take if the scan recursed.
  const std::string abyss =
      poll_fields().set("context", std::string(60000, '\x91')).encode();
  decode_result r;
  const size_t heap = decode_heap_bytes(abyss, r);
  EXPECT_EQ(r.error, "context: nested deeper than 16 levels");
  EXPECT_LT(heap, 64u * 1024);
}

TEST(Cast, LargestFramesStayBoundedInMemory) {
  // Exactly max_frame_size is accepted.
  const std::string base = poll_fields().encode();
  const size_t pad = max_frame_size - base.size() - 4 /*key*/ - 5 /*bin32*/;
  std::string bin("\xc6", 1);
  for (int shift = 24; shift >= 0; shift -= 8)
    bin += static_cast<char>((pad >> shift) & 0xff);
  bin += std::string(pad, 'p');
  const std::string full = poll_fields().set("pad", bin).encode();
  ASSERT_EQ(full.size(), max_frame_size);
  EXPECT_TRUE(decode(full).ok);

  // A frame packed with as many containers as fit: msgpack-c's storage
  // stays proportional to the frame, not to anything declared in it.
  std::vector<std::string> rows;
  std::string filler;
  while (true) {
    std::string row("\xdc\x00\xe6", 3); // array16 of 230
    row += std::string(230, '\x90');    // empty arrays
    if (filler.size() + row.size() > 60000 || rows.size() == 256)
      break;
    filler += row;
    rows.push_back(row);
  }
  const std::string wide = poll_fields()
                               .set("context", mp_array(rows))
                               .set("timeout", mp(0))
                               .encode();
  ASSERT_LE(wide.size(), max_frame_size);
  decode_result r;
  const size_t heap = decode_heap_bytes(wide, r);
  EXPECT_EQ(r.error, "timeout: must be > 0 seconds");
  EXPECT_LT(heap, 8u * 1024 * 1024);
#ifdef CAST_NO_MALLOC_COUNT
  GTEST_SKIP() << "heap not counted under sanitizers";
#else
  // The counter works: ~59000 msgpack objects of 24 bytes were allocated.
  EXPECT_GT(heap, 1000u * 1000);
#endif
}

} // namespace
