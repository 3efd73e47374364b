/// DNS over TCP framing: messages split across reads (prefixes too), several
/// in one read, empty messages, the length limit, what a framer holds back
/// from a server announcing more than it sends, and any split of a stream.

#include "actors/udp/stream_framer.hpp"

#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace minidns;

namespace {

std::string framed(const std::string& msg) {
  std::string out;
  EXPECT_TRUE(append_framed(out, reinterpret_cast<const uint8_t*>(msg.data()),
                            msg.size()));
  return out;
}

void feed(stream_framer& f, const std::string& bytes) {
  f.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::vector<std::string> drain(stream_framer& f) {
  std::vector<std::string> out;
  std::string_view m;
  while (f.next(m))
    out.emplace_back(m);
  return out;
}

} // namespace

TEST(StreamFramer, TheLengthComesFirstInNetworkOrder) {
  auto f = framed(std::string(300, 'x'));
  ASSERT_EQ(f.size(), 302u);
  EXPECT_EQ(static_cast<uint8_t>(f[0]), 1);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 44);
  std::string out;
  std::string big(65536, 'y');
  EXPECT_FALSE(append_framed(out, reinterpret_cast<const uint8_t*>(big.data()),
                             big.size()));
  EXPECT_TRUE(out.empty());
}

TEST(StreamFramer, AMessageSplitAcrossReadsComesOutWhole) {
  stream_framer f;
  auto bytes = framed("hello, dns");
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    feed(f, bytes.substr(i, 1));
    EXPECT_TRUE(drain(f).empty()) << "after " << i + 1 << " bytes";
  }
  feed(f, bytes.substr(bytes.size() - 1));
  EXPECT_EQ(drain(f), std::vector<std::string>{"hello, dns"});
  EXPECT_EQ(f.pending(), 0u);
}

TEST(StreamFramer, SeveralMessagesInOneReadAndAPartialOne) {
  stream_framer f;
  auto bytes = framed("a") + framed("") + framed("ccc") + framed("dddd");
  feed(f, bytes.substr(0, bytes.size() - 2));
  EXPECT_EQ(drain(f), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(f.pending(), 4u);
  f.compact();
  feed(f, bytes.substr(bytes.size() - 2));
  EXPECT_EQ(drain(f), std::vector<std::string>{"dddd"});
}

TEST(StreamFramer, AMaxLengthPrefixWaitsForItsWholeBody) {
  stream_framer f;
  std::string body(65535, 'm');
  body[0] = 'a';
  body.back() = 'z';
  auto bytes = framed(body);
  ASSERT_EQ(bytes.substr(0, 2), "\xff\xff");
  feed(f, bytes.substr(0, bytes.size() - 1));
  EXPECT_TRUE(drain(f).empty());
  f.compact();
  EXPECT_EQ(f.pending(), 65536u); // the most a framer holds back
  feed(f, bytes.substr(bytes.size() - 1));
  auto got = drain(f);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], body);
  EXPECT_EQ(f.pending(), 0u);
}

TEST(StreamFramer, AShortBodyAfterAHugePrefixIsNeverHandedOut) {
  // A server announcing 65,535 bytes and sending 20: nothing comes out,
  // however the bytes are split, and the bytes stay pending.
  stream_framer f;
  std::string bytes = "\xff\xff" + std::string(20, 'x');
  for (char c : bytes) {
    feed(f, std::string(1, c));
    EXPECT_TRUE(drain(f).empty());
    f.compact();
  }
  EXPECT_EQ(f.pending(), 22u);
}

TEST(StreamFramer, RunsOfEmptyMessagesAndEmptyFeeds) {
  stream_framer f;
  feed(f, "");
  EXPECT_TRUE(drain(f).empty());
  EXPECT_EQ(f.pending(), 0u);
  auto bytes = framed("") + framed("") + framed("") + framed("x") + framed("");
  feed(f, bytes);
  EXPECT_EQ(drain(f), (std::vector<std::string>{"", "", "", "x", ""}));
  EXPECT_EQ(f.pending(), 0u);
  f.compact();
  feed(f, "");
  EXPECT_TRUE(drain(f).empty());
}

TEST(StreamFramer, ALengthPrefixSplitAcrossReads) {
  stream_framer f;
  std::string body(258, 'p'); // prefix 0x01 0x02: both bytes matter
  auto bytes = framed(body) + framed("tail");
  feed(f, bytes.substr(0, 1));
  EXPECT_TRUE(drain(f).empty());
  EXPECT_EQ(f.pending(), 1u);
  f.compact();
  feed(f, bytes.substr(1, 1));
  EXPECT_TRUE(drain(f).empty());
  f.compact();
  feed(f, bytes.substr(2, 258 + 1)); // the body and half the next prefix
  EXPECT_EQ(drain(f), std::vector<std::string>{body});
  EXPECT_EQ(f.pending(), 1u);
  f.compact();
  feed(f, bytes.substr(2 + 258 + 1));
  EXPECT_EQ(drain(f), std::vector<std::string>{"tail"});
}

TEST(StreamFramer, WithoutCompactEverythingHandedOutIsReleasedAnyway) {
  // next() starts over once everything was handed out, so a connection
  // whose reads end on message boundaries needs no compact().
  stream_framer f;
  for (int i = 0; i < 1000; ++i) {
    feed(f, framed(std::string(100, 'r')));
    ASSERT_EQ(drain(f).size(), 1u);
    ASSERT_EQ(f.pending(), 0u);
  }
}

TEST(StreamFramer, AnyReadSplitGivesTheSameMessages) {
  // Messages of every interesting size, cut at pseudo-random points; the
  // framer is drained and compacted after every read, as tcp_pool does.
  std::vector<std::string> sent;
  std::string bytes;
  uint32_t x = 12345;
  auto rnd = [&x] {
    x = x * 1103515245u + 12345u;
    return x >> 8;
  };
  for (size_t len :
       {0u, 1u, 2u, 11u, 12u, 255u, 256u, 512u, 4096u, 65535u, 3u, 0u, 70u}) {
    std::string m(len, '\0');
    for (auto& c : m)
      c = static_cast<char>(rnd());
    sent.push_back(m);
    bytes += framed(m);
  }
  for (int round = 0; round < 50; ++round) {
    stream_framer f;
    std::vector<std::string> got;
    size_t fed = 0;
    while (fed < bytes.size()) {
      size_t n = std::min<size_t>(rnd() % (round < 25 ? 40 : 20000),
                                  bytes.size() - fed);
      feed(f, bytes.substr(fed, n));
      fed += n;
      for (auto& m : drain(f))
        got.push_back(std::move(m));
      f.compact();
      ASSERT_LE(f.pending(), 65536u);
    }
    ASSERT_EQ(got, sent) << "round " << round;
    EXPECT_EQ(f.pending(), 0u);
  }
}
